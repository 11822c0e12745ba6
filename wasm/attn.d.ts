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

export const VERSION: string;
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
  /** The core's status codes, index = numeric status ('OK' first). */
  readonly STATUS_CODES: readonly string[];

  /** rows x cols N(0, 1) samples; identical for the same seed in every engine. */
  randn(rows: number, cols: number, options?: { seed?: number }): Matrix;
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
