// attnlab's JavaScript API (contract: API.md). This is the only code that
// touches the Emscripten module: each call validates its arguments, copies
// them into wasm memory, calls the C core, copies the results out and frees
// everything in `finally`. Errors are AttnError with a stable `.code`.
import createAttnCore from './attn-core.mjs';

export const VERSION = '0.1.0';

/** Bits that composite masks set per component. */
export const MASK_BITS = Object.freeze({ local: 1, strided: 2, global: 4, random: 8, cluster: 16, block: 32 });

/** Feature maps phi of kernel (linear) attention, in the core's numbering. */
export const FEATURES = Object.freeze(['identity', 'elu+1', 'relu', 'taylor', 'efficient', 'favor+', 'favor-trig',
  'favor-hyp', 'dpfp']);
const PERFORMER = new Set(['favor+', 'favor-trig', 'favor-hyp']);

/** Mask kinds this version builds. */
export const MASK_KINDS = Object.freeze(['full', 'causal', 'local']);

/** The largest single array handed to the core, in bytes (wasm32 memory is 4 GiB). */
const MAX_ARRAY_BYTES = 2 ** 31 - 1;

export class AttnError extends Error {
  /**
   * @param {string} code stable code such as 'ERR_SHAPE'
   * @param {string} message names the function and the argument
   */
  constructor(code, message) {
    super(message);
    this.name = 'AttnError';
    this.code = code;
  }
}

const fail = (code, where, what) => {
  throw new AttnError(code, `${where}: ${what}`);
};

// ---------------------------------------------------------------- validation

const isInt = (x) => Number.isInteger(x);

function checkDim(where, name, x) {
  if (typeof x !== 'number') fail('ERR_TYPE', where, `${name} must be a number, got ${typeof x}`);
  if (!isInt(x) || x < 1) fail('ERR_SHAPE', where, `${name} must be a positive integer, got ${x}`);
}

function checkBytes(where, name, count, bytesPer) {
  if (count * bytesPer > MAX_ARRAY_BYTES) {
    fail('ERR_MEMORY', where, `${name} needs ${count * bytesPer} bytes, more than fits in wasm memory`);
  }
}

/**
 * How a Matrix and a Mask are read: the typed array, the conversion of one
 * entry of a nested array (undefined rejects it) and of one entry of `data`.
 */
const MATRIX = {
  label: 'Matrix',
  Out: Float32Array,
  cell: (x) => (typeof x === 'number' ? x : undefined),
  convert: Number,  // non-numbers become NaN, which the finiteness check reports
};
/** Mask cells: 0/false blocked; 1..255 kept (component bits); any other truthy value allowed (1). */
const maskCell = (x) => {
  if (typeof x !== 'number' && typeof x !== 'boolean') return undefined;
  if (!x) return 0;
  return Number.isInteger(x) && x > 0 && x < 256 ? x : 1;
};
const MASK = { label: 'Mask', Out: Uint8Array, cell: maskCell, convert: (x) => maskCell(x) ?? (x ? 1 : 0) };

/** { rows, cols, data } of type spec.Out from a { rows, cols, data } object or an array of rows. */
function toShaped(where, name, x, spec) {
  const { label, Out, cell, convert } = spec;
  if (x && typeof x === 'object' && !Array.isArray(x) && 'data' in x) {
    checkDim(where, `${name}.rows`, x.rows);
    checkDim(where, `${name}.cols`, x.cols);
    const { rows, cols, data } = x;
    if (!data || typeof data.length !== 'number') fail('ERR_TYPE', where, `${name}.data must be an array`);
    if (data.length !== rows * cols) {
      fail('ERR_SHAPE', where, `${name}.data has ${data.length} entries, rows*cols is ${rows * cols}`);
    }
    checkBytes(where, name, rows * cols, Out.BYTES_PER_ELEMENT);
    return { rows, cols, data: data instanceof Out ? data : Out.from(data, convert) };
  }
  if (!Array.isArray(x) || x.length === 0 || (!Array.isArray(x[0]) && !ArrayBuffer.isView(x[0]))) {
    fail('ERR_TYPE', where, `${name} must be a ${label} { rows, cols, data } or a non-empty array of rows`);
  }
  const [rows, cols] = [x.length, x[0].length];
  if (cols === 0) fail('ERR_SHAPE', where, `${name} has empty rows`);
  checkBytes(where, name, rows * cols, Out.BYTES_PER_ELEMENT);
  const data = new Out(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = x[i];
    if (!row || row.length !== cols) {
      fail('ERR_SHAPE', where, `${name} row ${i} has ${row ? row.length : 'no'} entries, row 0 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) {
      const value = cell(row[j]);
      if (value === undefined) fail('ERR_TYPE', where, `${name}[${i}][${j}] is ${typeof row[j]}, not a number`);
      data[i * cols + j] = value;
    }
  }
  return { rows, cols, data };
}

/** A Matrix { rows, cols, data: Float32Array } with finite entries. */
function toMatrix(where, name, x) {
  const m = toShaped(where, name, x, MATRIX);
  const { data } = m;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      fail('ERR_NONFINITE', where, `${name} has ${data[i]} at row ${Math.floor(i / m.cols)}, column ${i % m.cols}` +
        (Number.isNaN(data[i]) ? '' : ' (or a value beyond float32 range)'));
    }
  }
  return m;
}

/** A Mask { rows, cols, data: Uint8Array } of the given shape. */
function toMask(where, name, x, rows, cols) {
  const m = toShaped(where, name, x, MASK);
  if (m.rows !== rows || m.cols !== cols) {
    fail('ERR_SHAPE', where, `${name} is ${m.rows}x${m.cols}, expected ${rows}x${cols}`);
  }
  return m;
}

/** q, k and (unless undefined) v as Matrices whose shapes agree: q [n, d], k [m, d], v [m, dv]. */
function toQKV(where, q, k, v) {
  const Q = toMatrix(where, 'q', q);
  const K = toMatrix(where, 'k', k);
  if (K.cols !== Q.cols) fail('ERR_SHAPE', where, `k has ${K.cols} columns, q has ${Q.cols}`);
  let V = null;
  if (v !== undefined) {
    V = toMatrix(where, 'v', v);
    if (V.rows !== K.rows) fail('ERR_SHAPE', where, `v has ${V.rows} rows, k has ${K.rows}`);
  }
  return { Q, K, V };
}

function optObject(where, opts) {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object') fail('ERR_TYPE', where, `options must be an object, got ${typeof opts}`);
  return opts;
}

function optBool(where, name, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail('ERR_TYPE', where, `${name} must be true or false, got ${value}`);
  return value;
}

function optNumber(where, name, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') fail('ERR_TYPE', where, `${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value)) fail('ERR_RANGE', where, `${name} must be finite, got ${value}`);
  return value;
}

function optInt(where, name, value, fallback, min, max = Number.MAX_SAFE_INTEGER) {
  const x = optNumber(where, name, value, fallback);
  if (!isInt(x) || x < min || x > max) {
    fail('ERR_RANGE', where, `${name} must be an integer in [${min}, ${max}], got ${x}`);
  }
  return x;
}

// --------------------------------------------------------------------- core

/** Creates one attnlab instance: its own wasm memory, kernels and state. */
export async function createAttn(options = {}) {
  const where = 'createAttn';
  const opts = optObject(where, options);
  const kernels = opts.kernels ?? 'simd';
  if (kernels !== 'simd' && kernels !== 'scalar') {
    fail('ERR_KIND', where, `kernels must be 'simd' or 'scalar', got ${kernels}`);
  }
  const core = await createAttnCore();
  return new Attn(core, kernels);
}

class Attn {
  #core;

  constructor(core, kernels) {
    this.#core = core;
    const KERNELS = { scalar: 0, simd: 1 };
    const wantSimd = kernels === 'simd' && core._attn_simd_available() === 1;
    this.#check('createAttn', core._attn_use_kernels(wantSimd ? KERNELS.simd : KERNELS.scalar));
    /** Library version. */
    this.version = core.UTF8ToString(core._attn_version());
    /** True when the SIMD kernels are running. */
    this.simd = core._attn_kernels_in_use() === KERNELS.simd;
    /** 'simd' or 'scalar'. */
    this.kernels = this.simd ? 'simd' : 'scalar';
    /** Hash of the sources the wasm module was built from. */
    this.sourceHash = core.UTF8ToString(core._attn_source_hash());
    this.MASK_BITS = MASK_BITS;
    this.MASK_KINDS = MASK_KINDS;
    this.FEATURES = FEATURES;
    /** Every status code of the core, index = numeric status. */
    this.STATUS_CODES = Object.freeze(
      Array.from({ length: core._attn_status_count() }, (_, s) => core.UTF8ToString(core._attn_status_code(s))),
    );
  }

  /** Throws AttnError for a non-zero status from the core. */
  #check(where, status) {
    if (status === 0) return;
    const core = this.#core;
    throw new AttnError(core.UTF8ToString(core._attn_status_code(status)),
      `${where}: ${core.UTF8ToString(core._attn_status_str(status))}`);
  }

  /**
   * Runs fn with an allocator over wasm memory; everything allocated is freed
   * afterwards, whatever happens. Heap views are re-read after every
   * allocation and every call, because memory growth detaches them.
   */
  #withHeap(where, fn) {
    const core = this.#core;
    const pointers = [];
    const heap = {
      alloc: (bytes) => {
        const p = core._malloc(Math.max(bytes, 1)) >>> 0;
        if (p === 0) fail('ERR_MEMORY', where, `out of wasm memory allocating ${bytes} bytes`);
        pointers.push(p);
        return p;
      },
      f32: (values) => {
        const p = heap.alloc(values.length * 4);
        core.HEAPF32.set(values, p >>> 2);
        return p;
      },
      u8: (values) => {
        const p = heap.alloc(values.length);
        core.HEAPU8.set(values, p);
        return p;
      },
      readF32: (p, count) => core.HEAPF32.slice(p >>> 2, (p >>> 2) + count),
      readU8: (p, count) => core.HEAPU8.slice(p, p + count),
      /** Calls a *_workspace query and allocates that many floats. */
      workspace: (query, ...dims) => {
        const out = heap.alloc(4);
        this.#check(where, query(...dims, out));
        const floats = core.HEAPU32[out >>> 2];
        checkBytes(where, 'workspace', floats, 4);
        return { ptr: heap.alloc(floats * 4), floats };
      },
    };
    try {
      return fn(heap, core);
    } finally {
      for (const p of pointers) core._free(p);
    }
  }

  // ------------------------------------------------------------ random numbers

  /** rows x cols samples of N(0, 1), the same for the same seed everywhere. */
  randn(rows, cols, options) {
    const where = 'randn';
    checkDim(where, 'rows', rows);
    checkDim(where, 'cols', cols);
    checkBytes(where, 'the result', rows * cols, 4);
    const seed = optInt(where, 'seed', optObject(where, options).seed, 0, 0);
    return this.#withHeap(where, (heap, core) => {
      const rng = heap.alloc(core._attn_rng_size());
      this.#check(where, core._attn_rng_seed(rng, seed % 2 ** 32, Math.floor(seed / 2 ** 32)));
      const out = heap.alloc(rows * cols * 4);
      this.#check(where, core._attn_randn(rng, rows * cols, out));
      return { rows, cols, data: heap.readF32(out, rows * cols) };
    });
  }

  /** Performer projection: m x d, orthogonal blocks with chi_d row norms, or i.i.d. N(0, 1). */
  randomFeatures(m, d, options) {
    const where = 'randomFeatures';
    checkDim(where, 'm', m);
    checkDim(where, 'd', d);
    checkBytes(where, 'the result', m * d, 4);
    const opts = optObject(where, options);
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    const orthogonal = optBool(where, 'orthogonal', opts.orthogonal, true);
    return this.#withHeap(where, (heap, core) => {
      const rng = heap.alloc(core._attn_rng_size());
      this.#check(where, core._attn_rng_seed(rng, seed % 2 ** 32, Math.floor(seed / 2 ** 32)));
      const out = heap.alloc(m * d * 4);
      this.#check(where, core._attn_random_features(rng, m, d, orthogonal ? 1 : 0, out));
      return { rows: m, cols: d, data: heap.readF32(out, m * d) };
    });
  }

  // --------------------------------------------------------------------- masks

  /** An n x n mask of the given kind (see MASK_KINDS). */
  mask(kind, n, options) {
    const where = 'mask';
    if (typeof kind !== 'string') fail('ERR_TYPE', where, `kind must be a string, got ${typeof kind}`);
    if (!MASK_KINDS.includes(kind)) {
      fail('ERR_KIND', where, `unknown mask kind '${kind}' (this version has ${MASK_KINDS.join(', ')})`);
    }
    checkDim(where, 'n', n);
    checkBytes(where, 'the mask', n * n, 1);
    const opts = optObject(where, options);
    return this.#withHeap(where, (heap, core) => {
      const out = heap.alloc(n * n);
      if (kind === 'full') {
        this.#check(where, core._attn_mask_full(n, n, out));
      } else if (kind === 'causal') {
        this.#check(where, core._attn_mask_causal(n, n, out));
      } else {
        const window = optInt(where, 'window', opts.window, Math.floor(Math.sqrt(n)), 0);
        const causal = optBool(where, 'causal', opts.causal, false);
        this.#check(where, core._attn_mask_local(n, Math.min(window, n), causal ? 1 : 0, out));
      }
      return { rows: n, cols: n, kind, data: heap.readU8(out, n * n) };
    });
  }

  // ------------------------------------------------------ feature maps

  /**
   * Reads the feature options shared by featureMap, kernelWeights and
   * linearAttention for inputs of width d; draws the projection when needed.
   */
  #featureOptions(where, opts, d) {
    const feature = opts.feature ?? 'elu+1';
    if (typeof feature !== 'string') fail('ERR_TYPE', where, `feature must be a string, got ${typeof feature}`);
    const index = FEATURES.indexOf(feature);
    if (index < 0) fail('ERR_KIND', where, `unknown feature '${feature}' (one of ${FEATURES.join(', ')})`);
    let projection = null;
    let m = optInt(where, 'features', opts.features, 64, 1, 1 << 20);
    if (PERFORMER.has(feature)) {
      if (opts.projection !== undefined && opts.projection !== null) {
        projection = toMatrix(where, 'projection', opts.projection);
        if (projection.cols !== d) fail('ERR_SHAPE', where, `projection has ${projection.cols} columns, the inputs ${d}`);
        if (opts.features !== undefined && opts.features !== projection.rows) {
          fail('ERR_SHAPE', where, `features is ${opts.features} but projection has ${projection.rows} rows`);
        }
        m = projection.rows;
      } else {
        projection = this.randomFeatures(m, d, { seed: opts.seed, orthogonal: opts.orthogonal });
      }
    }
    const nu = optInt(where, 'nu', opts.nu, 1, 1, Math.max(1, 2 * d - 1));
    const kernelEpsilon = optNumber(where, 'kernelEpsilon', opts.kernelEpsilon, 1e-3);
    if (kernelEpsilon < 0) fail('ERR_RANGE', where, `kernelEpsilon must be >= 0, got ${kernelEpsilon}`);
    const stabilize = optBool(where, 'stabilize', opts.stabilize, true);
    const normalize = opts.normalize ?? 'none';
    if (normalize !== 'none' && normalize !== 'sum') {
      fail('ERR_KIND', where, `normalize must be 'none' or 'sum', got ${normalize}`);
    }
    return { feature, index, m, projection, nu, kernelEpsilon, stabilize, normalize };
  }

  /** Writes a feature spec into wasm memory; returns its pointer. */
  #featureSpec(where, heap, core, f) {
    const spec = heap.alloc(core._attn_feature_spec_size());
    const proj = f.projection ? heap.f32(f.projection.data) : 0;
    this.#check(where, core._attn_feature_spec_set(spec, f.index, f.m, proj, f.nu, f.kernelEpsilon,
      f.stabilize ? 1 : 0, f.normalize === 'sum' ? 1 : 0));
    return spec;
  }

  /** phi(x) row by row (role 'query' or 'key'): Matrix n x dim. */
  featureMap(x, options) {
    const where = 'featureMap';
    const X = toMatrix(where, 'x', x);
    const opts = optObject(where, options);
    const role = opts.role ?? 'query';
    if (role !== 'query' && role !== 'key') fail('ERR_KIND', where, `role must be 'query' or 'key', got ${role}`);
    const f = this.#featureOptions(where, opts, X.cols);
    return this.#withHeap(where, (heap, core) => {
      const spec = this.#featureSpec(where, heap, core, f);
      const dimOut = heap.alloc(4);
      this.#check(where, core._attn_feature_dim(spec, X.cols, dimOut));
      const dim = core.HEAPU32[dimOut >>> 2];
      checkBytes(where, 'the features', X.rows * dim, 4);
      const px = heap.f32(X.data);
      const out = heap.alloc(X.rows * dim * 4);
      const work = heap.workspace(core._attn_feature_map_workspace, spec, X.cols);
      this.#check(where, core._attn_feature_map(spec, role === 'key' ? 1 : 0, X.rows, X.cols, px, out,
        work.ptr, work.floats));
      return { rows: X.rows, cols: dim, data: heap.readF32(out, X.rows * dim) };
    });
  }

  /** Validates the arguments of kernelWeights / linearAttention. */
  #linearArgs(where, q, k, v, options) {
    const { Q, K, V } = toQKV(where, q, k, v);
    const opts = optObject(where, options);
    const causal = optBool(where, 'causal', opts.causal, false);
    const eps = optNumber(where, 'eps', opts.eps, 1e-6);
    if (eps < 0) fail('ERR_RANGE', where, `eps must be >= 0, got ${eps}`);
    return { Q, K, V, causal, eps, f: this.#featureOptions(where, opts, Q.cols) };
  }

  /** The n x m matrix that kernel (linear) attention applies implicitly. */
  kernelWeights(q, k, options) {
    const where = 'kernelWeights';
    const { Q, K, causal, eps, f } = this.#linearArgs(where, q, k, undefined, options);
    const [n, m, d] = [Q.rows, K.rows, Q.cols];
    checkBytes(where, 'the weights', n * m, 4);
    return this.#withHeap(where, (heap, core) => {
      const spec = this.#featureSpec(where, heap, core, f);
      const pq = heap.f32(Q.data), pk = heap.f32(K.data);
      const out = heap.alloc(n * m * 4);
      const work = heap.workspace(core._attn_linear_workspace, spec, n, m, d, 1);
      this.#check(where, core._attn_kernel_weights(spec, n, m, d, pq, pk, causal ? 1 : 0, eps, out,
        work.ptr, work.floats));
      return { rows: n, cols: m, data: heap.readF32(out, n * m) };
    });
  }

  /** kernelWeights(q, k) * v in O(n) time and memory (running sums when causal). */
  linearAttention(q, k, v, options) {
    const where = 'linearAttention';
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const { Q, K, V, causal, eps, f } = this.#linearArgs(where, q, k, v, options);
    const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
    checkBytes(where, 'the output', n * dv, 4);
    return this.#withHeap(where, (heap, core) => {
      const spec = this.#featureSpec(where, heap, core, f);
      const pq = heap.f32(Q.data), pk = heap.f32(K.data), pv = heap.f32(V.data);
      const out = heap.alloc(n * dv * 4);
      const work = heap.workspace(core._attn_linear_workspace, spec, n, m, d, dv);
      this.#check(where, core._attn_linear_attention(spec, n, m, d, dv, pq, pk, pv, causal ? 1 : 0, eps, out,
        work.ptr, work.floats));
      return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
    });
  }

  /**
   * How far kernelWeights is from softmaxWeights for the same q, k (softmax
   * scale 1/sqrt(d), the same causal flag): the per-entry error matrix
   * (kernel - softmax) and summary figures. KL is KL(softmax row || kernel
   * row), with kernel weights below 1e-30 (trigonometric features can give
   * negatives) taken as 1e-30.
   */
  kernelError(q, k, options) {
    const where = 'kernelError';
    const opts = optObject(where, options);
    const kernel = this.kernelWeights(q, k, opts);
    const softmax = this.softmaxWeights(q, k, { causal: opts.causal });
    const { rows: n, cols: m } = kernel;
    const error = new Float32Array(n * m);
    const klPerRow = new Float64Array(n);
    let maxAbs = 0, sumAbs = 0, sumSq = 0, refSq = 0;
    for (let i = 0; i < n; i++) {
      let kl = 0;
      for (let j = 0; j < m; j++) {
        const p = softmax.data[i * m + j], w = kernel.data[i * m + j];
        const e = w - p;
        error[i * m + j] = e;
        maxAbs = Math.max(maxAbs, Math.abs(e));
        sumAbs += Math.abs(e);
        sumSq += e * e;
        refSq += p * p;
        if (p > 0) kl += p * Math.log(p / Math.max(w, 1e-30));
      }
      klPerRow[i] = kl;
    }
    return {
      error: { rows: n, cols: m, data: error },
      kernel,
      softmax,
      maxAbs,
      meanAbs: sumAbs / (n * m),
      mse: sumSq / (n * m),
      relFrobenius: Math.sqrt(sumSq / refSq),
      klPerRow,
      meanKL: klPerRow.reduce((a, b) => a + b, 0) / n,
    };
  }

  /**
   * The Performer approximation curve: kernelError summaries against the
   * number of random features m, averaged over `trials` projections (seeds
   * seed, seed+1, ...), for each variant ({ feature, orthogonal }).
   * Returns [{ feature, orthogonal, features, meanAbs, maxAbs, mse, relFrobenius, meanKL }].
   */
  kernelErrorSweep(q, k, options) {
    const where = 'kernelErrorSweep';
    const opts = optObject(where, options);
    const sizes = opts.features ?? [8, 16, 32, 64, 128, 256];
    if (!Array.isArray(sizes) || sizes.length === 0) fail('ERR_TYPE', where, 'features must be a non-empty array');
    const variants = opts.variants ?? [
      { feature: 'favor+', orthogonal: true }, { feature: 'favor+', orthogonal: false },
      { feature: 'favor-trig', orthogonal: true }, { feature: 'favor-trig', orthogonal: false },
    ];
    const trials = optInt(where, 'trials', opts.trials, 8, 1, 10000);
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    const rows = [];
    for (const { feature, orthogonal } of variants) {
      for (const features of sizes) {
        const sum = { meanAbs: 0, maxAbs: 0, mse: 0, relFrobenius: 0, meanKL: 0 };
        for (let t = 0; t < trials; t++) {
          const e = this.kernelError(q, k, { feature, orthogonal, features, seed: seed + t, causal: opts.causal });
          for (const key of Object.keys(sum)) sum[key] += e[key] / trials;
        }
        rows.push({ feature, orthogonal, features, ...sum });
      }
    }
    return rows;
  }

  // ----------------------------------------------------------- softmax attention

  /** Validates q, k (and v) and the softmax options shared by weights and outputs. */
  #softmaxArgs(where, q, k, v, options) {
    const { Q, K, V } = toQKV(where, q, k, v);
    const opts = optObject(where, options);
    const scale = optNumber(where, 'scale', opts.scale, 1 / Math.sqrt(Q.cols));
    const causal = optBool(where, 'causal', opts.causal, false);
    const mask = opts.mask === undefined || opts.mask === null ? null
      : toMask(where, 'mask', opts.mask, Q.rows, K.rows);
    return { Q, K, V, scale, causal, mask };
  }

  /** The n x m softmax attention weights; rows sum to 1 (0 where nothing is allowed). */
  softmaxWeights(q, k, options) {
    const where = 'softmaxWeights';
    const { Q, K, scale, causal, mask } = this.#softmaxArgs(where, q, k, undefined, options);
    const [n, m, d] = [Q.rows, K.rows, Q.cols];
    checkBytes(where, 'the weights', n * m, 4);
    return this.#withHeap(where, (heap, core) => {
      const pq = heap.f32(Q.data), pk = heap.f32(K.data);
      const pmask = mask ? heap.u8(mask.data) : 0;
      const out = heap.alloc(n * m * 4);
      const work = heap.workspace(core._attn_softmax_weights_workspace, n, m, d);
      this.#check(where, core._attn_softmax_weights(n, m, d, pq, pk, scale, causal ? 1 : 0, pmask,
        out, work.ptr, work.floats));
      return { rows: n, cols: m, data: heap.readF32(out, n * m) };
    });
  }

  /** softmaxWeights(q, k) * v, streaming: the n x m matrix is never stored. */
  softmaxAttention(q, k, v, options) {
    const where = 'softmaxAttention';
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const { Q, K, V, scale, causal, mask } = this.#softmaxArgs(where, q, k, v, options);
    const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
    checkBytes(where, 'the output', n * dv, 4);
    return this.#withHeap(where, (heap, core) => {
      const pq = heap.f32(Q.data), pk = heap.f32(K.data), pv = heap.f32(V.data);
      const pmask = mask ? heap.u8(mask.data) : 0;
      const out = heap.alloc(n * dv * 4);
      const work = heap.workspace(core._attn_softmax_attention_workspace, n, m, d, dv);
      this.#check(where, core._attn_softmax_attention(n, m, d, dv, pq, pk, pv, scale, causal ? 1 : 0, pmask,
        out, work.ptr, work.floats));
      return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
    });
  }
}
