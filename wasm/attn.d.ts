// Types of attnlab's JavaScript API (wasm/attn.js and wasm/api/). Every options
// object is strict: a key not listed here throws AttnError 'ERR_OPTION'.

/** Row-major float32 matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Row-major data of a given 2-D shape (`{ shape: [rows, cols], data }`). */
export interface ShapedData<T = number> {
  shape: readonly [number, number] | readonly number[];
  data: ArrayLike<T>;
}

/** ONNX Runtime's Tensor layout: `dims` and row-major `data`. */
export interface DimsData<T = number> {
  dims: readonly [number, number] | readonly (number | bigint)[];
  data: ArrayLike<T>;
}

/** A tensor with a 2-D shape and a synchronous download, such as tf.Tensor. */
export interface SyncTensor {
  shape: readonly number[];
  dataSync(): ArrayLike<number>;
}

/** A strided view, as ndarray has: element (i, j) is data[offset + i stride[0] + j stride[1]]. */
export interface StridedView<T = number> {
  shape: readonly [number, number] | readonly number[];
  stride: readonly [number, number] | readonly number[];
  offset?: number;
  data: ArrayLike<T>;
}

/**
 * A Matrix, anything with rows, cols and numeric data, a 2-D `{ shape, data }`,
 * `{ dims, data }` (onnxruntime), a tensor with `shape` and `dataSync()`
 * (tf.Tensor), a strided view (ndarray), or an array of rows. Anything not
 * 2-D is refused (ERR_SHAPE).
 */
export type MatrixLike =
  | Matrix
  | { rows: number; cols: number; data: ArrayLike<number> }
  | ShapedData
  | DimsData
  | SyncTensor
  | StridedView
  | ArrayLike<number>[];

/** 0 = blocked, non-zero = allowed; composite masks set one bit per component (MASK_BITS). */
export interface Mask {
  rows: number;
  cols: number;
  data: Uint8Array;
  kind?: string;
  /** lsh: rounds x n buckets; kmeans: n clusters. */
  assignments?: Int32Array;
}

/** Compressed sparse rows: row i's keys are indices[indptr[i] .. indptr[i+1]-1]. */
export interface CSRMask {
  rows: number;
  cols: number;
  kind?: string;
  format: 'csr';
  nnz: number;
  indptr: Int32Array;
  indices: Int32Array;
  /** Component bits of each listed cell. */
  bits?: Uint8Array;
  assignments?: Int32Array;
}

export type MaskLike =
  | Mask
  | { rows: number; cols: number; data: ArrayLike<number | boolean> }
  | ShapedData<number | boolean>
  | DimsData<number | boolean>
  | SyncTensor
  | StridedView<number | boolean>
  | ArrayLike<number | boolean>[];

export type MaskKind =
  | 'full' | 'causal' | 'local' | 'strided' | 'dilated' | 'fixed' | 'sparse-transformer'
  | 'global' | 'random' | 'longformer' | 'bigbird' | 'lsh' | 'kmeans';

/** Options of mask(); each kind reads its own (defaults in README). */
export interface MaskOptions {
  format?: 'dense' | 'csr';
  causal?: boolean;
  window?: number;
  dilation?: number;
  stride?: number;
  block?: number;
  summary?: number;
  tokens?: ArrayLike<number>;
  perRow?: number;
  windowBlocks?: number;
  globalBlocks?: number;
  randomBlocks?: number;
  seed?: number;
  /** lsh / kmeans: the n x d points. */
  x?: MatrixLike;
  buckets?: number;
  hashes?: number;
  clusters?: number;
  iterations?: number;
}

export interface MaskInfo {
  nnz: number;
  density: number;
  perRow: { min: number; max: number; mean: number };
}

export interface MaskLayers {
  /** Layers until no token reaches anything new (0: still growing at maxLayers). */
  layers: number;
  /** (i, j) pairs connected within L layers, L = 1 .. maxLayers. */
  reached: Float64Array;
  coverage: Float64Array;
  /** Every token reaches every other. */
  complete: boolean;
}

export type ErrorCode =
  | 'ERR_NULL' | 'ERR_SHAPE' | 'ERR_NONFINITE' | 'ERR_RANGE' | 'ERR_KIND'
  | 'ERR_WORKSPACE' | 'ERR_MEMORY' | 'ERR_TYPE' | 'ERR_OVERFLOW' | 'ERR_OPTION'
  /** JS only: a call on a disposed instance, or a worker that failed. */
  | 'ERR_DISPOSED' | 'ERR_WORKER';

/**
 * Every error of the API. ERR_OPTION: an option key the function does not
 * declare (the message names it and the nearest valid key).
 */
export class AttnError extends Error {
  name: 'AttnError';
  code: ErrorCode;
  constructor(code: ErrorCode, message: string);
}

export interface MaskBits {
  readonly local: 1;
  readonly strided: 2;
  readonly global: 4;
  readonly random: 8;
  readonly cluster: 16;
}

export type Feature =
  | 'identity' | 'elu+1' | 'relu' | 'taylor' | 'efficient'
  | 'favor+' | 'favor-trig' | 'favor-hyp' | 'dpfp';

/** Options of a feature map phi (featureMap, kernelWeights, linearAttention). */
export interface FeatureOptions {
  /** Default 'elu+1'. */
  feature?: Feature;
  /** Random features m of the Performer maps (default 64). */
  features?: number;
  /** Seed of the Performer projection (default 0). */
  seed?: number;
  /** Orthogonal random features (default true). */
  orthogonal?: boolean;
  /** An explicit Omega, m x d; overrides seed. */
  projection?: MatrixLike | null;
  /** DPFP order (default 1, at most 2d - 1). */
  nu?: number;
  /** 'sum' divides each feature row by its sum, 'l2' by its norm (default 'none'). */
  normalize?: 'none' | 'sum' | 'l2';
  /** Added by 'relu' (default 1e-3). */
  kernelEpsilon?: number;
  /** Performer stabilisers (default true); false gives the plain unbiased estimators. */
  stabilize?: boolean;
}

export interface LinearOptions extends FeatureOptions {
  causal?: boolean;
  /** Added to the denominator (default 1e-6). */
  eps?: number;
}

/** Gradients of a scalar loss with respect to the inputs of an attention call. */
export interface AttentionGradients {
  /** dL/dq, n x d. */
  dq: Matrix;
  /** dL/dk, m x d. */
  dk: Matrix;
  /** dL/dv, m x dv. */
  dv: Matrix;
}

export interface KernelError {
  /** kernel - softmax, n x m. */
  error: Matrix;
  kernel: Matrix;
  softmax: Matrix;
  maxAbs: number;
  meanAbs: number;
  mse: number;
  /** |kernel - softmax|_F / |softmax|_F. */
  relFrobenius: number;
  /** KL(softmax row || kernel row), kernel weights floored at 1e-30. */
  klPerRow: Float64Array;
  meanKL: number;
}

export interface KernelErrorSweepRow {
  feature: Feature;
  orthogonal: boolean;
  features: number;
  meanAbs: number;
  maxAbs: number;
  mse: number;
  relFrobenius: number;
  meanKL: number;
}

export type Rule = 'sum' | 'delta' | 'gated-delta';

export interface FastWeightsOptions extends FeatureOptions {
  keys: MatrixLike;
  values: MatrixLike;
  /** Default: the keys. */
  queries?: MatrixLike | null;
  /** Default 'sum'. */
  rule?: Rule;
  /** Write strength in [0, 1], a number or one per step (default 1). */
  beta?: number | ArrayLike<number>;
  /** gated-delta: decay in [0, 1] applied before each write (default 1). */
  alpha?: number | ArrayLike<number>;
  /** 'all' returns every state W_t. */
  record?: 'none' | 'all';
  /** Return errors[t][s] = 1/2 |v_s - W_t phi(k_s)|^2 for s <= t. */
  errors?: boolean;
}

export interface FastWeightsResult {
  outputs: Matrix;
  /** W_T, dv x dim. */
  final: Matrix;
  dim: number;
  /** T x dv x dim, with record: 'all'. */
  states?: Float32Array;
  /** T x T, with errors: true. */
  errors?: Matrix;
}

/** Gradients of a scalar loss with respect to the inputs of fastWeights. */
export interface FastWeightsGradients {
  /** T x d (with the queries' gradient added when the queries are the keys). */
  dkeys: Matrix;
  /** T x dv. */
  dvalues: Matrix;
  /** T x d; null when no queries were given (they are the keys). */
  dqueries: Matrix | null;
  /** A number for a scalar beta (the sum over the steps), else one per step; 0 for the sum rule. */
  dbeta: number | Float32Array;
  /** As dbeta, for alpha; 0 except for the gated delta rule. */
  dalpha: number | Float32Array;
}

/** Progress and cancellation of the long calls (capacity, kernelErrorSweep, benchmark). */
export interface ProgressOptions<P = object> {
  /** Called after each step with { done, total } and what the step produced. */
  onProgress?: (progress: { done: number; total: number } & P) => void;
  /** Checked before each step (in a worker: at once); aborting throws / rejects with signal.reason. */
  signal?: AbortSignal;
}

export interface CapacityOptions extends FeatureOptions, ProgressOptions<{ size: number; error: number }> {
  dKey?: number;
  sizes?: number[];
  rule?: Rule;
  beta?: number;
  trials?: number;
  seed?: number;
}

export const VERSION: string;
export const RULES: readonly Rule[];
export const FEATURES: readonly Feature[];
export const NORMALIZE: readonly ('none' | 'sum' | 'l2')[];
export const INPUT_KINDS: readonly InputKind[];
export const MASK_BITS: MaskBits;
export const MASK_KINDS: readonly MaskKind[];

export interface SoftmaxOptions {
  /** Multiplies q.k; default 1/sqrt(d). Any finite number. */
  scale?: number;
  /** Key j visible to query i only when j <= i. Default false. */
  causal?: boolean;
  /** n x m; combined with causal. */
  mask?: MaskLike | null;
}

/** softmaxAttention's options: the weights' options, and lse. */
export interface SoftmaxAttentionOptions extends SoftmaxOptions {
  /** Also return the row log-sum-exp of the logits as `lse` [n] (0 for a row with no allowed key). Default false. */
  lse?: boolean;
}

/** The gradients of an attention output: dL/dq, dL/dk, dL/dv for an upstream gradient dy = dL/dY. */
export interface AttentionGradients {
  /** [n, d] */
  dq: Matrix;
  /** [m, d] */
  dk: Matrix;
  /** [m, dv] */
  dv: Matrix;
}

/** softmaxAttentionBackward's options: the forward's, plus its output and lse to skip their recomputation. */
export interface SoftmaxBackwardOptions extends SoftmaxOptions {
  /** The forward's output [n, dv]; with lse, or neither. */
  out?: MatrixLike | null;
  /** The forward's row log-sum-exp (softmaxAttention(..., { lse: true }).lse); with out, or neither. */
  lse?: Float32Array | Float64Array | number[] | null;
}

/** The generators of A.inputs (src/attn.h, "structured inputs"). */
export type InputKind = 'random' | 'local' | 'clustered' | 'global' | 'previous-token' | 'mixture';

export interface InputsOptions {
  /** Any integer in [0, 2^53); default 0. The same seed gives the same bits in every engine, and the same v whatever the kind. */
  seed?: number;
  /** Columns of v; default d. */
  dv?: number;
  /** Multiplies q and k (so the logits by scale^2); > 0, default 1. random: q, k ~ N(0, scale^2). */
  scale?: number;
  /** local, mixture: most of row i's softmax mass within |i - j| <= width; default 4, clamped to n. */
  width?: number;
  /** clustered: number of clusters, 1 .. n; default min(4, n). */
  clusters?: number;
  /** global, mixture: number of attention sinks (tokens 0 .. tokens-1), 1 .. n; default min(2, n). */
  tokens?: number;
}

/** What A.inputs made: q [n, d], k [n, d], v [n, dv] and where the generator put the structure. */
export interface Inputs {
  q: Matrix;
  k: Matrix;
  v: Matrix;
  kind: InputKind;
  meta: {
    seed: number;
    scale: number;
    /** local, mixture. */
    width?: number;
    /** previous-token: row i attends to key i - offset (1). */
    offset?: number;
    /** global, mixture: the sink positions, [0, 1] by default. */
    tokens?: number[];
    /** clustered: the number of clusters. */
    clusters?: number;
    /** clustered: the cluster of each token (positions shuffled). */
    cluster?: Int32Array;
  };
}

export interface Attn {
  readonly version: string;
  /** True when the SIMD kernels run. */
  readonly simd: boolean;
  readonly kernels: 'simd' | 'scalar';
  /** Hash of the sources the wasm module was built from. */
  readonly sourceHash: string;
  readonly MASK_BITS: MaskBits;
  readonly MASK_KINDS: readonly MaskKind[];
  readonly INPUT_KINDS: readonly InputKind[];
  readonly FEATURES: readonly Feature[];
  readonly RULES: readonly Rule[];
  /** The core's status codes, index = numeric status ('OK' first). */
  readonly STATUS_CODES: readonly string[];

  /** rows x cols N(0, 1) samples; identical for the same seed in every engine. */
  randn(rows: number, cols: number, options?: { seed?: number }): Matrix;
  /** Performer projection Omega, m x d. */
  randomFeatures(m: number, d: number, options?: { seed?: number; orthogonal?: boolean }): Matrix;
  /**
   * Q, K, V whose softmax attention (scale 1/sqrt(d)) has the structure real heads have: local (a band of
   * half-width `width`), clustered (blocks once sorted by meta.cluster), global (sink columns), previous-token
   * (key i - 1), mixture (sinks plus a band; the default kind), or random N(0, scale^2).
   */
  inputs(kind: InputKind | undefined, n: number, d: number, options?: InputsOptions): Inputs;
  /** phi of each row of x. */
  featureMap(x: MatrixLike, options?: FeatureOptions & { role?: 'query' | 'key' }): Matrix;
  /** The n x m matrix kernel attention applies implicitly. */
  kernelWeights(q: MatrixLike, k: MatrixLike, options?: LinearOptions): Matrix;
  /** kernelWeights * v in O(n) (running sums when causal). */
  linearAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: LinearOptions): Matrix;
  /**
   * The backward of linearAttention: given dy = dL/dY (n x dv) for Y = linearAttention(q, k, v, options), the
   * gradients dL/dq, dL/dk, dL/dv, in O(n) memory (causal: prefix and suffix sums in blocks). The Performer
   * projection and stabilisers are constants (no gradient flows into them); a row whose denominator is 0
   * (output 0) gives no gradient. Same options as linearAttention.
   */
  linearAttentionBackward(q: MatrixLike, k: MatrixLike, v: MatrixLike, dy: MatrixLike, options?: LinearOptions): AttentionGradients;
  /** kernelWeights against softmaxWeights (scale 1/sqrt(d)) for the same q, k. */
  kernelError(q: MatrixLike, k: MatrixLike, options?: LinearOptions): KernelError;
  /** kernelError summaries vs the number of random features, averaged over projections. */
  kernelErrorSweep(q: MatrixLike, k: MatrixLike, options?: ProgressOptions<KernelErrorSweepRow> & {
    features?: number[];
    variants?: { feature: Feature; orthogonal: boolean }[];
    trials?: number;
    seed?: number;
    causal?: boolean;
  }): KernelErrorSweepRow[];
  mask(kind: MaskKind, n: number, options?: MaskOptions & { format?: 'dense' }): Mask;
  mask(kind: MaskKind, n: number, options: MaskOptions & { format: 'csr' }): CSRMask;
  /** Reformer LSH buckets, hashes x n. */
  lshBuckets(x: MatrixLike, options?: { buckets?: number; hashes?: number; seed?: number }): Int32Array;
  /** Spherical k-means clusters, n. */
  kmeans(x: MatrixLike, options?: { clusters?: number; iterations?: number; seed?: number }): Int32Array;
  maskInfo(mask: MaskLike | CSRMask, options?: { counts?: false }): MaskInfo;
  maskInfo(mask: MaskLike | CSRMask, options: { counts: true }): MaskInfo & { counts: number[] };
  maskCompose(a: MaskLike, b: MaskLike, op?: 'union' | 'intersection'): Mask;
  maskLayers(mask: MaskLike, options?: { maxLayers?: number }): MaskLayers;
  /** A fast weight memory written step by step (feature default 'dpfp', normalize 'sum'). */
  fastWeights(options: FastWeightsOptions): FastWeightsResult;
  /**
   * The backward of fastWeights: given dOutputs = dL/d outputs (T x dv) for the memory written and read with
   * the same options (record and errors aside), the gradients of every input. The states are recomputed from
   * checkpoints every ceil(sqrt(T)) steps (O(sqrt(T) dv dim) memory), never all stored.
   */
  fastWeightsBackward(options: Omit<FastWeightsOptions, 'record' | 'errors'>, dOutputs: MatrixLike): FastWeightsGradients;
  /** Retrieval error vs stored pairs (feature default 'dpfp', normalize 'l2'). */
  capacity(options?: CapacityOptions): { size: number; error: number }[];
  /** approx - exact with max/mean |error|, MSE, relative Frobenius, KL per row. */
  compareWeights(approx: MatrixLike, exact: MatrixLike): Omit<KernelError, 'kernel' | 'softmax'>;
  /** Times the core alone (inputs already in wasm memory): streaming softmax attention
   * (q, k, v [n, d]) or a matmul [n, k] × [k, m]; ms per call and the flops of one call. */
  benchmark(op: 'softmax', options: ProgressOptions<{ ms: number }> & { n: number; d: number; runs?: number }): { ms: number[]; flops: number };
  /** Its gradients (softmaxAttentionBackward given the forward's output and lse): 10 n² d flops. */
  benchmark(op: 'softmax-backward', options: ProgressOptions<{ ms: number }> & { n: number; d: number; runs?: number }): { ms: number[]; flops: number };
  benchmark(op: 'matmul', options: ProgressOptions<{ ms: number }> & { n: number; k: number; m: number; runs?: number }): { ms: number[]; flops: number };
  /** The register-block kernel alone on data in cache, `reps` (200) times per run. */
  benchmark(op: 'kernel', options?: ProgressOptions<{ ms: number }> & { reps?: number; runs?: number }): { ms: number[]; flops: number };
  /** alpha · a b for a [n, k] and b [k, m] by the core's gemm kernel. */
  matmul(a: MatrixLike, b: MatrixLike, options?: { alpha?: number }): Matrix;
  /** Log-space Sinkhorn normalisation of square logits: nearly doubly stochastic. */
  sinkhorn(logits: MatrixLike, options?: { iterations?: number; tau?: number; causal?: boolean }): Matrix;
  /** Linformer: keys/values projected to `rank` rows; effective = weights F (n x m). */
  linformer(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: {
    rank?: number; seed?: number; E?: MatrixLike; F?: MatrixLike; shareKV?: boolean; scale?: number;
  }): { weights: Matrix; output: Matrix; effective: Matrix; E: Matrix; F: Matrix };
  /** Memory-compressed attention: keys/values pooled over slots of `factor`. */
  compressedAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: {
    factor?: number; kernel?: ArrayLike<number>; kernelK?: ArrayLike<number>; kernelV?: ArrayLike<number>;
    causal?: boolean; scale?: number;
  }): { weights: Matrix; output: Matrix; effective: Matrix; keys: Matrix; values: Matrix };
  /** Synthesizer: random, factorized or dense logits, optionally mixed with dot products. */
  synthesizer(x: MatrixLike, v: MatrixLike, options?: {
    mode?: 'random' | 'factorized' | 'dense'; seed?: number; logits?: MatrixLike; factors?: number;
    mix?: number; q?: MatrixLike; k?: MatrixLike; scale?: number; causal?: boolean;
  }): { weights: Matrix; output: Matrix; logits: Matrix };
  /** Sinkhorn attention over sorted blocks; SortCut with `sortcut` > 0. */
  sinkhornAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: {
    block?: number; iterations?: number; tau?: number; seed?: number; causal?: boolean; sortcut?: number; scale?: number;
  }): { S: Matrix; permutation: number[]; weights: Matrix; output: Matrix; effective: Matrix; blockMask: Mask };
  /** Funnel pooling: queries mean-pooled by `stride`. */
  funnelAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: { stride?: number; scale?: number }):
    { queries: Matrix; weights: Matrix; output: Matrix };
  /** softmax over the allowed keys only, O(nnz d). */
  sparseAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, mask: MaskLike | CSRMask, options?: { scale?: number }): Matrix;
  /** n x m weights; each row sums to 1, or is all 0 when nothing is allowed. */
  softmaxWeights(q: MatrixLike, k: MatrixLike, options?: SoftmaxOptions): Matrix;
  /** softmaxWeights(q, k) * v, streaming: O(n) extra memory. */
  softmaxAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: SoftmaxAttentionOptions): Matrix & { lse?: Float32Array };
  /**
   * The gradients of softmaxAttention for dy = dL/dY [n, dv], streaming (FlashAttention-2's backward): O(n)
   * memory, no n x m matrix. Finite, or AttnError ERR_OVERFLOW.
   */
  softmaxAttentionBackward(q: MatrixLike, k: MatrixLike, v: MatrixLike, dy: MatrixLike, options?: SoftmaxBackwardOptions): AttentionGradients;
  /** The gradients of sparseAttention for dy = dL/dY [n, dv], in O(nnz (d + dv)). */
  sparseAttentionBackward(q: MatrixLike, k: MatrixLike, v: MatrixLike, mask: MaskLike | CSRMask, dy: MatrixLike,
    options?: { scale?: number }): AttentionGradients;
  /** Drops the instance's wasm memory; later calls throw AttnError 'ERR_DISPOSED'. */
  dispose(): void;
}

/** Attn's methods as promises, run in a worker. */
export type AttnWorker = {
  readonly [K in keyof Attn]: Attn[K] extends (...args: infer A) => infer R
    ? (K extends 'dispose' ? () => void : (...args: A) => Promise<R>)
    : Attn[K];
};

export interface CreateOptions {
  /** 'simd' (default) or 'scalar' (the reference kernels, for comparison). */
  kernels?: 'simd' | 'scalar';
}

/** A new instance with its own wasm memory. */
export function createAttn(options?: CreateOptions): Promise<Attn>;

/**
 * A new instance in a worker (worker_threads in Node, a module Web Worker in
 * browsers): the same methods, returning promises, run one at a time. Inputs
 * are copied, results transferred. Aborting a call's signal ends the worker
 * at once (a fresh one serves later calls); dispose() ends it for good.
 */
export function createAttnWorker(options?: CreateOptions): Promise<AttnWorker>;
