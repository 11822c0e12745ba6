// Types of attnlab's JavaScript API (wasm/attn.js). Contract: API.md.

/** Row-major float32 matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** A Matrix, or anything with rows, cols and numeric data, or an array of rows. */
export type MatrixLike =
  | Matrix
  | { rows: number; cols: number; data: ArrayLike<number> }
  | ArrayLike<number>[];

/** 0 = blocked, non-zero = allowed; composite masks set one bit per component (MASK_BITS). */
export interface Mask {
  rows: number;
  cols: number;
  data: Uint8Array;
  kind?: MaskKind;
}

export type MaskLike = Mask | { rows: number; cols: number; data: ArrayLike<number> } | ArrayLike<number | boolean>[];

export type MaskKind = 'full' | 'causal' | 'local';

export type ErrorCode =
  | 'ERR_NULL' | 'ERR_SHAPE' | 'ERR_NONFINITE' | 'ERR_RANGE' | 'ERR_KIND'
  | 'ERR_WORKSPACE' | 'ERR_MEMORY' | 'ERR_TYPE';

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
  readonly block: 32;
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
  /** 'sum' divides each feature row by its sum (default 'none'). */
  normalize?: 'none' | 'sum';
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

export const VERSION: string;
export const FEATURES: readonly Feature[];
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

export interface LocalMaskOptions {
  /** Keys per side; default floor(sqrt(n)). */
  window?: number;
  /** Only keys j with 0 <= i - j <= window. Default false. */
  causal?: boolean;
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
  readonly FEATURES: readonly Feature[];
  /** The core's status codes, index = numeric status ('OK' first). */
  readonly STATUS_CODES: readonly string[];

  /** rows x cols N(0, 1) samples; identical for the same seed in every engine. */
  randn(rows: number, cols: number, options?: { seed?: number }): Matrix;
  /** Performer projection Omega, m x d. */
  randomFeatures(m: number, d: number, options?: { seed?: number; orthogonal?: boolean }): Matrix;
  /** phi of each row of x. */
  featureMap(x: MatrixLike, options?: FeatureOptions & { role?: 'query' | 'key' }): Matrix;
  /** The n x m matrix kernel attention applies implicitly. */
  kernelWeights(q: MatrixLike, k: MatrixLike, options?: LinearOptions): Matrix;
  /** kernelWeights * v in O(n) (running sums when causal). */
  linearAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: LinearOptions): Matrix;
  /** kernelWeights against softmaxWeights (scale 1/sqrt(d)) for the same q, k. */
  kernelError(q: MatrixLike, k: MatrixLike, options?: LinearOptions): KernelError;
  /** kernelError summaries vs the number of random features, averaged over projections. */
  kernelErrorSweep(q: MatrixLike, k: MatrixLike, options?: {
    features?: number[];
    variants?: { feature: Feature; orthogonal: boolean }[];
    trials?: number;
    seed?: number;
    causal?: boolean;
  }): KernelErrorSweepRow[];
  mask(kind: 'full' | 'causal', n: number): Mask;
  mask(kind: 'local', n: number, options?: LocalMaskOptions): Mask;
  mask(kind: MaskKind, n: number, options?: LocalMaskOptions): Mask;
  /** n x m weights; each row sums to 1, or is all 0 when nothing is allowed. */
  softmaxWeights(q: MatrixLike, k: MatrixLike, options?: SoftmaxOptions): Matrix;
  /** softmaxWeights(q, k) * v, streaming: O(n) extra memory. */
  softmaxAttention(q: MatrixLike, k: MatrixLike, v: MatrixLike, options?: SoftmaxOptions): Matrix;
}

export interface CreateOptions {
  /** 'simd' (default) or 'scalar' (the reference kernels, for comparison). */
  kernels?: 'simd' | 'scalar';
}

/** A new instance with its own wasm memory. */
export function createAttn(options?: CreateOptions): Promise<Attn>;
