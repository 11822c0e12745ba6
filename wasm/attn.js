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
/** Feature normalisations, in the core's numbering. */
const NORMALIZE = Object.freeze(['none', 'sum', 'l2']);
/** Fast weight update rules, in the core's numbering. */
export const RULES = Object.freeze(['sum', 'delta', 'gated-delta']);

/** Mask kinds, in the core's numbering (lsh and kmeans both use its cluster rule). */
export const MASK_KINDS = Object.freeze(['full', 'causal', 'local', 'strided', 'dilated', 'fixed',
  'sparse-transformer', 'global', 'random', 'longformer', 'bigbird', 'lsh', 'kmeans']);
const CLUSTER_KIND = 11;

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

/** 1 if every entry of a Float32Array is finite: x - x is 0 for finite x and
 * NaN for NaN and ±Infinity, and a sum of them stays NaN; a loop without a
 * branch per entry, four entries a step (3x the speed of an isFinite loop). */
function allFiniteF32(data) {
  const n = data.length;
  let acc = 0, i = 0;
  for (; i + 4 <= n; i += 4) acc += (data[i] - data[i]) + (data[i + 1] - data[i + 1]) + (data[i + 2] - data[i + 2]) + (data[i + 3] - data[i + 3]);
  for (; i < n; i++) acc += data[i] - data[i];
  return acc === 0;
}

/** A Matrix { rows, cols, data: Float32Array } with finite entries. */
function toMatrix(where, name, x) {
  const m = toShaped(where, name, x, MATRIX);
  const { data } = m;
  if (allFiniteF32(data)) return m;
  for (let i = 0; i < data.length; i++) {  // find the first bad entry for the message
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

/** A CSR mask { rows, cols, format: 'csr', indptr, indices } of shape [rows, cols], checked. */
function toCSR(where, mask, rows, cols) {
  if (mask.rows !== rows || mask.cols !== cols) {
    fail('ERR_SHAPE', where, `mask is ${mask.rows}x${mask.cols}, expected ${rows}x${cols}`);
  }
  const indptr = Int32Array.from(mask.indptr ?? []), indices = Int32Array.from(mask.indices ?? []);
  if (indptr.length !== rows + 1 || indptr[0] !== 0 || indptr[rows] !== indices.length) {
    fail('ERR_SHAPE', where, `mask.indptr must have ${rows + 1} entries from 0 to indices.length`);
  }
  for (let i = 0; i < rows; i++) {
    if (indptr[i + 1] < indptr[i]) fail('ERR_RANGE', where, `mask.indptr decreases at row ${i}`);
  }
  for (let t = 0; t < indices.length; t++) {
    if (indices[t] < 0 || indices[t] >= cols) fail('ERR_RANGE', where, `mask.indices[${t}] = ${indices[t]} is out of range`);
  }
  return { indptr, indices };
}

/** Allowed cells per row of a dense or CSR mask. */
function rowCounts(where, mask) {
  if (mask && mask.format === 'csr') {
    const { indptr } = toCSR(where, mask, mask.rows, mask.cols);
    return Array.from({ length: mask.rows }, (_, i) => indptr[i + 1] - indptr[i]);
  }
  const M = toShaped(where, 'mask', mask, MASK);
  const counts = new Array(M.rows).fill(0);
  for (let i = 0; i < M.rows; i++) {
    for (let j = 0; j < M.cols; j++) counts[i] += M.data[i * M.cols + j] !== 0;
  }
  return counts;
}

/** A seed (integer in [0, 2^53)) as the two 32-bit halves that a uint64_t parameter takes from JS. */
const seedWords = (seed) => [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];

const concat = (a, b) => {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** A permutation from a square matrix: repeatedly the largest entry whose row and column are free. */
function greedyAssignment(S) {
  const n = S.rows, order = [...S.data.keys()].sort((x, y) => S.data[y] - S.data[x] || x - y);
  const perm = new Array(n).fill(-1), used = new Uint8Array(n);
  for (const idx of order) {
    const i = Math.floor(idx / n), j = idx % n;
    if (perm[i] < 0 && !used[j]) {
      perm[i] = j;
      used[j] = 1;
    }
  }
  return perm;
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
  /** Mask spec field name -> id, read from the core. */
  #maskFields = new Map();

  constructor(core, kernels) {
    this.#core = core;
    for (let id = 0, name; (name = core._attn_mask_field_name(id)) !== 0; id++) {
      this.#maskFields.set(core.UTF8ToString(name), id);
    }
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
    this.RULES = RULES;
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
      i32: (values) => {
        const p = heap.alloc(values.length * 4);
        core.HEAP32.set(values, p >>> 2);
        return p;
      },
      readF32: (p, count) => core.HEAPF32.slice(p >>> 2, (p >>> 2) + count),
      readI32: (p, count) => core.HEAP32.slice(p >>> 2, (p >>> 2) + count),
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

  // ------------------------------------------------------------------ timing

  /**
   * Times the core alone, without the copies in and out of wasm memory that
   * every other method makes: `runs` calls on seeded N(0, 1) inputs that live
   * in wasm memory, timed one by one. op 'softmax': streaming softmax
   * attention, q, k, v [n, d], 4 n^2 d flops; 'matmul': [n, k] x [k, m],
   * 2 n k m flops; 'kernel': the register-block kernel alone on data in
   * cache, `reps` times (524288 flops each). Returns { ms: [runs], flops }.
   */
  benchmark(op, options) {
    const where = 'benchmark';
    if (!['softmax', 'matmul', 'kernel'].includes(op)) {
      fail('ERR_KIND', where, `op must be 'softmax', 'matmul' or 'kernel', got ${op}`);
    }
    const opts = optObject(where, options);
    const runs = optInt(where, 'runs', opts.runs, 1, 1, 1000);
    const now = () => globalThis.performance.now();
    if (op === 'kernel') {
      const reps = optInt(where, 'reps', opts.reps, 200, 1, 1e6);
      return this.#withHeap(where, (heap, core) => {
        const work = heap.workspace(core._attn_kernel_benchmark_workspace);
        const ms = [];
        for (let r = 0; r < runs; r++) {
          const t0 = now();
          const status = core._attn_kernel_benchmark(reps, work.ptr, work.floats);
          ms.push(now() - t0);
          this.#check(where, status);
        }
        return { ms, flops: 524288 * reps };
      });
    }
    const dims = op === 'softmax' ? ['n', 'd'] : ['n', 'k', 'm'];
    const [a, b, c = 0] = dims.map((name) => {
      checkDim(where, name, opts[name]);
      return opts[name];
    });
    return this.#withHeap(where, (heap, core) => {
      const rng = heap.alloc(core._attn_rng_size());
      this.#check(where, core._attn_rng_seed(rng, 1, 0));
      const gaussian = (count) => {
        checkBytes(where, 'an input', count, 4);
        const p = heap.alloc(count * 4);
        this.#check(where, core._attn_randn(rng, count, p));
        return p;
      };
      const ms = [];
      if (op === 'softmax') {
        const [n, d] = [a, b];
        const [q, k, v, out] = [gaussian(n * d), gaussian(n * d), gaussian(n * d), gaussian(n * d)];
        const work = heap.workspace(core._attn_softmax_attention_workspace, n, n, d, d);
        for (let r = 0; r < runs; r++) {
          const t0 = now();
          const status = core._attn_softmax_attention(n, n, d, d, q, k, v, 1 / Math.sqrt(d), 0, 0, out, work.ptr, work.floats);
          ms.push(now() - t0);
          this.#check(where, status);
        }
        return { ms, flops: 4 * n * n * d };
      }
      const [n, k, m] = [a, b, c];
      const [x, y, out] = [gaussian(n * k), gaussian(k * m), gaussian(n * m)];
      for (let r = 0; r < runs; r++) {
        const t0 = now();
        const status = core._attn_matmul(n, k, m, 1, x, y, out);
        ms.push(now() - t0);
        this.#check(where, status);
      }
      return { ms, flops: 2 * n * k * m };
    });
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
      this.#check(where, core._attn_rng_seed(rng, ...seedWords(seed)));
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
      this.#check(where, core._attn_rng_seed(rng, ...seedWords(seed)));
      const out = heap.alloc(m * d * 4);
      this.#check(where, core._attn_random_features(rng, m, d, orthogonal ? 1 : 0, out));
      return { rows: m, cols: d, data: heap.readF32(out, m * d) };
    });
  }

  // --------------------------------------------------------------------- masks

  /**
   * An n x n mask of the given kind (MASK_KINDS; options and defaults in
   * README). format 'csr' returns { rows, cols, kind, format, nnz, indptr,
   * indices, bits } instead of dense data, for sizes whose dense mask would
   * not fit. lsh and kmeans also return their assignments (rounds x n).
   */
  mask(kind, n, options) {
    const where = 'mask';
    if (typeof kind !== 'string') fail('ERR_TYPE', where, `kind must be a string, got ${typeof kind}`);
    const kindIndex = MASK_KINDS.indexOf(kind);
    if (kindIndex < 0) fail('ERR_KIND', where, `unknown mask kind '${kind}' (one of ${MASK_KINDS.join(', ')})`);
    checkDim(where, 'n', n);
    if (n > 2 ** 31 - 1) fail('ERR_MEMORY', where, `n = ${n} is more than int32 indices address`);
    const opts = optObject(where, options);
    const format = opts.format ?? 'dense';
    if (format !== 'dense' && format !== 'csr') fail('ERR_KIND', where, `format must be 'dense' or 'csr', got ${format}`);
    if (format === 'dense') checkBytes(where, 'the mask', n * n, 1);
    const root = Math.max(1, Math.round(Math.sqrt(n)));
    const int = (name, fallback, min = 0) => optInt(where, name, opts[name], fallback, min);
    const fields = { causal: optBool(where, 'causal', opts.causal, false) ? 1 : 0 };
    let tokens = null;
    const readTokens = () => {
      const list = opts.tokens ?? [0];
      if (!Array.isArray(list) && !ArrayBuffer.isView(list)) fail('ERR_TYPE', where, 'tokens must be an array of indices');
      tokens = Int32Array.from(list, (t, i) => {
        if (typeof t !== 'number' || !isInt(t) || t < 0 || t >= n) {
          fail('ERR_RANGE', where, `tokens[${i}] = ${t} is not a token index in [0, ${n - 1}]`);
        }
        return t;
      });
      fields.nTokens = tokens.length;
    };
    switch (kind) {
      case 'local': fields.window = int('window', Math.floor(Math.sqrt(n))); break;
      case 'strided': fields.stride = int('stride', root, 1); break;
      case 'dilated': case 'longformer':
        fields.window = int('window', Math.floor(Math.sqrt(n)));
        fields.dilation = int('dilation', kind === 'dilated' ? 2 : 1, 1);
        if (kind === 'longformer') readTokens();
        break;
      case 'fixed':
        fields.block = int('block', root, 1);
        fields.summary = int('summary', 1);
        if (fields.summary > fields.block) fail('ERR_RANGE', where, `summary ${fields.summary} exceeds block ${fields.block}`);
        break;
      case 'sparse-transformer': fields.stride = int('stride', root, 1); break;
      case 'global': readTokens(); break;
      case 'random': fields.perRow = int('perRow', Math.min(n, 3)); fields.seed = int('seed', 0); break;
      case 'bigbird': {
        let fallback = 1;  // the largest divisor of n not above sqrt(n)
        for (let b = root; b >= 1; b--) if (n % b === 0) { fallback = b; break; }
        fields.block = int('block', fallback, 1);
        if (n % fields.block !== 0) fail('ERR_RANGE', where, `block ${fields.block} does not divide n = ${n}`);
        fields.windowBlocks = int('windowBlocks', 3, 1);
        if (fields.windowBlocks % 2 === 0) fail('ERR_RANGE', where, `windowBlocks must be odd, got ${fields.windowBlocks}`);
        fields.globalBlocks = int('globalBlocks', 1);
        fields.randomBlocks = int('randomBlocks', 3);
        fields.seed = int('seed', 0);
        break;
      }
      default: break;
    }
    const assignments = kind === 'lsh' ? this.lshBuckets(opts.x, { buckets: opts.buckets, hashes: opts.hashes, seed: opts.seed }, n)
      : kind === 'kmeans' ? this.kmeans(opts.x, { clusters: opts.clusters, iterations: opts.iterations, seed: opts.seed }, n)
        : null;
    if (assignments) fields.rounds = assignments.length / n;
    return this.#withHeap(where, (heap, core) => {
      const spec = heap.alloc(core._attn_mask_spec_size());
      this.#check(where, core._attn_mask_spec_init(spec, assignments ? CLUSTER_KIND : kindIndex, n));
      for (const [name, value] of Object.entries(fields)) {
        this.#check(where, core._attn_mask_spec_set(spec, this.#maskFields.get(name), value));
      }
      const ptok = tokens && tokens.length ? heap.i32(tokens) : 0;
      const passign = assignments ? heap.i32(assignments) : 0;
      this.#check(where, core._attn_mask_spec_set_arrays(spec, ptok, passign));
      const extra = assignments ? { assignments } : {};
      if (format === 'dense') {
        const out = heap.alloc(n * n);
        this.#check(where, core._attn_mask_dense(spec, out));
        return { rows: n, cols: n, kind, data: heap.readU8(out, n * n), ...extra };
      }
      const row = heap.alloc(n);
      const count = heap.alloc(4);
      this.#check(where, core._attn_mask_nnz(spec, count, row));
      const nnz = core.HEAPU32[count >>> 2];
      checkBytes(where, 'the mask indices', nnz, 4);
      const indptr = heap.alloc((n + 1) * 4), indices = heap.alloc(nnz * 4), bits = heap.alloc(nnz);
      this.#check(where, core._attn_mask_csr(spec, nnz, indptr, indices, bits, row));
      return {
        rows: n, cols: n, kind, format: 'csr', nnz,
        indptr: heap.readI32(indptr, n + 1), indices: heap.readI32(indices, nnz), bits: heap.readU8(bits, nnz), ...extra,
      };
    });
  }

  /** Reformer LSH buckets of the rows of x: Int32Array hashes x n (row r = round r). */
  lshBuckets(x, options, expectRows) {
    const where = 'lshBuckets';
    if (x === undefined) fail('ERR_TYPE', where, 'x (the n x d points to hash) is required');
    const X = toMatrix(where, 'x', x);
    if (expectRows !== undefined && X.rows !== expectRows) fail('ERR_SHAPE', where, `x has ${X.rows} rows, n is ${expectRows}`);
    const opts = optObject(where, options);
    const buckets = optInt(where, 'buckets', opts.buckets, 8, 2, 2 ** 30);
    if (buckets % 2 !== 0) fail('ERR_RANGE', where, `buckets must be even, got ${buckets}`);
    const hashes = optInt(where, 'hashes', opts.hashes, 1, 1, 1024);
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    checkBytes(where, 'the assignments', X.rows * hashes, 4);
    return this.#withHeap(where, (heap, core) => {
      const px = heap.f32(X.data);
      const out = heap.alloc(X.rows * hashes * 4);
      const work = heap.workspace(core._attn_lsh_workspace, X.cols, buckets);
      this.#check(where, core._attn_lsh_buckets(X.rows, X.cols, px, buckets, hashes, ...seedWords(seed), out,
        work.ptr, work.floats));
      return heap.readI32(out, X.rows * hashes);
    });
  }

  /** Spherical k-means (Routing Transformer) of the rows of x: Int32Array n of cluster indices. */
  kmeans(x, options, expectRows) {
    const where = 'kmeans';
    if (x === undefined) fail('ERR_TYPE', where, 'x (the n x d points to cluster) is required');
    const X = toMatrix(where, 'x', x);
    if (expectRows !== undefined && X.rows !== expectRows) fail('ERR_SHAPE', where, `x has ${X.rows} rows, n is ${expectRows}`);
    const opts = optObject(where, options);
    const clusters = optInt(where, 'clusters', opts.clusters, Math.max(1, Math.round(Math.sqrt(X.rows))), 1, X.rows);
    const iterations = optInt(where, 'iterations', opts.iterations, 10, 0, 10000);
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    return this.#withHeap(where, (heap, core) => {
      const px = heap.f32(X.data);
      const out = heap.alloc(X.rows * 4);
      const work = heap.workspace(core._attn_kmeans_workspace, X.rows, X.cols, clusters);
      this.#check(where, core._attn_kmeans(X.rows, X.cols, px, clusters, iterations, ...seedWords(seed), out,
        work.ptr, work.floats));
      return heap.readI32(out, X.rows);
    });
  }

  /**
   * { nnz, density, perRow: { min, max, mean } } of a dense or CSR mask; with
   * { counts: true } also `counts`, the allowed keys of every row.
   */
  maskInfo(mask, options) {
    const where = 'maskInfo';
    const withCounts = optBool(where, 'counts', optObject(where, options).counts, false);
    const counts = rowCounts(where, mask);
    let nnz = 0, min = Infinity, max = 0;
    for (const c of counts) {
      nnz += c;
      min = Math.min(min, c);
      max = Math.max(max, c);
    }
    const info = { nnz, density: nnz / (mask.rows * mask.cols), perRow: { min, max, mean: nnz / mask.rows } };
    return withCounts ? { ...info, counts } : info;
  }

  /**
   * Union or intersection of two dense masks of one shape. Allowed cells keep
   * the component bits of both (so a picture still colours them).
   */
  maskCompose(a, b, op = 'union') {
    const where = 'maskCompose';
    if (op !== 'union' && op !== 'intersection') fail('ERR_KIND', where, `op must be 'union' or 'intersection', got ${op}`);
    const A = toShaped(where, 'a', a, MASK);
    const B = toMask(where, 'b', b, A.rows, A.cols);
    const data = new Uint8Array(A.data.length);
    for (let i = 0; i < data.length; i++) {
      const x = A.data[i], y = B.data[i];
      data[i] = op === 'union' || (x && y) ? x | y : 0;
    }
    return { rows: A.rows, cols: A.cols, kind: op, data };
  }

  /**
   * How many stacked layers of a square mask (with the residual path) until
   * no token reaches anything new: { layers (0 if still growing at
   * maxLayers), reached (pairs per layer), coverage (reached / n^2),
   * complete (every token reaches every other) }.
   */
  maskLayers(mask, options) {
    const where = 'maskLayers';
    const M = toShaped(where, 'mask', mask, MASK);
    if (M.rows !== M.cols) fail('ERR_SHAPE', where, `mask must be square, got ${M.rows}x${M.cols}`);
    const n = M.rows;
    const maxLayers = optInt(where, 'maxLayers', optObject(where, options).maxLayers, Math.min(n, 256), 1, 1e6);
    const words = 3 * n * Math.ceil(n / 64);  // attn_mask_layers_workspace
    checkBytes(where, 'the bitsets', words, 8);
    return this.#withHeap(where, (heap, core) => {
      const pm = heap.u8(M.data);
      const reached = heap.alloc(maxLayers * 8), layers = heap.alloc(4);
      const work = heap.alloc(words * 8);
      this.#check(where, core._attn_mask_layers(n, pm, maxLayers, reached, layers, work, words));
      const r = core.HEAPF64.slice(reached >>> 3, (reached >>> 3) + maxLayers);
      return {
        layers: core.HEAPU32[layers >>> 2],
        reached: r,
        coverage: r.map((x) => x / (n * n)),
        complete: r[maxLayers - 1] === n * n,
      };
    });
  }

  /** softmax attention over the allowed keys of a mask (dense or CSR), O(nnz d). */
  sparseAttention(q, k, v, mask, options) {
    const where = 'sparseAttention';
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const { Q, K, V } = toQKV(where, q, k, v);
    const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
    const scale = optNumber(where, 'scale', optObject(where, options).scale, 1 / Math.sqrt(d));
    checkBytes(where, 'the output', n * dv, 4);
    const csr = mask && mask.format === 'csr' ? toCSR(where, mask, n, m) : null;
    const dense = csr ? null : toMask(where, 'mask', mask, n, m);
    return this.#withHeap(where, (heap, core) => {
      let indptr, indices;
      if (csr) {
        indptr = heap.i32(csr.indptr);
        indices = heap.i32(csr.indices);
      } else {
        let nnz = 0;
        for (let i = 0; i < dense.data.length; i++) nnz += dense.data[i] !== 0;
        checkBytes(where, 'the mask indices', nnz, 4);
        indptr = heap.alloc((n + 1) * 4);
        indices = heap.alloc(nnz * 4);
        this.#check(where, core._attn_dense_to_csr(n, m, heap.u8(dense.data), nnz, indptr, indices));
      }
      const pq = heap.f32(Q.data), pk = heap.f32(K.data), pv = heap.f32(V.data);
      const out = heap.alloc(n * dv * 4);
      const work = heap.alloc(m * 4);
      this.#check(where, core._attn_sparse_attention(n, m, d, dv, pq, pk, pv, scale, indptr, indices, out, work, m));
      return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
    });
  }

  // ------------------------------------------------------ feature maps

  /**
   * Reads the feature options shared by featureMap, kernelWeights and
   * linearAttention for inputs of width d; draws the projection when needed.
   */
  #featureOptions(where, opts, d, fallbacks = {}) {
    const feature = opts.feature ?? fallbacks.feature ?? 'elu+1';
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
    const normalize = opts.normalize ?? fallbacks.normalize ?? 'none';
    if (!NORMALIZE.includes(normalize)) {
      fail('ERR_KIND', where, `normalize must be one of ${NORMALIZE.join(', ')}, got ${normalize}`);
    }
    return { feature, index, m, projection, nu, kernelEpsilon, stabilize, normalize };
  }

  /** Writes a feature spec into wasm memory; returns its pointer. */
  #featureSpec(where, heap, core, f) {
    const spec = heap.alloc(core._attn_feature_spec_size());
    const proj = f.projection ? heap.f32(f.projection.data) : 0;
    this.#check(where, core._attn_feature_spec_set(spec, f.index, f.m, proj, f.nu, f.kernelEpsilon,
      f.stabilize ? 1 : 0, NORMALIZE.indexOf(f.normalize)));
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
    return { ...this.compareWeights(kernel, softmax), kernel, softmax };
  }

  /**
   * How far an attention matrix is from a reference (both n x m): the error
   * matrix approx - exact, max and mean |error|, MSE, relative Frobenius error
   * and KL(exact row || approx row) per row (approx floored at 1e-30).
   */
  compareWeights(approx, exact) {
    const where = 'compareWeights';
    const W = toMatrix(where, 'approx', approx), P = toMatrix(where, 'exact', exact);
    if (W.rows !== P.rows || W.cols !== P.cols) fail('ERR_SHAPE', where, `approx is ${W.rows}x${W.cols}, exact ${P.rows}x${P.cols}`);
    const { rows: n, cols: m } = P;
    const error = new Float32Array(n * m);
    const klPerRow = new Float64Array(n);
    let maxAbs = 0, sumAbs = 0, sumSq = 0, refSq = 0;
    for (let i = 0; i < n; i++) {
      let kl = 0;
      for (let j = 0; j < m; j++) {
        const p = P.data[i * m + j], w = W.data[i * m + j];
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

  // --------------------------------------------------- fast weight memory

  /** beta or alpha: a number in [0, 1] or one per step (length T); { array, scalar } for the core. */
  static #unitOption(where, name, value, fallback, T) {
    if (value === undefined) return { array: null, scalar: fallback };
    if (typeof value === 'number') {
      if (!(value >= 0 && value <= 1)) fail('ERR_RANGE', where, `${name} must be in [0, 1], got ${value}`);
      return { array: null, scalar: value };
    }
    if (!Array.isArray(value) && !ArrayBuffer.isView(value)) {
      fail('ERR_TYPE', where, `${name} must be a number or an array of ${T} numbers`);
    }
    if (value.length !== T) fail('ERR_SHAPE', where, `${name} has ${value.length} entries, there are ${T} steps`);
    const array = Float32Array.from(value);
    array.forEach((x, t) => {
      if (!(x >= 0 && x <= 1)) fail('ERR_RANGE', where, `${name}[${t}] = ${value[t]} is outside [0, 1]`);
    });
    return { array, scalar: 0 };
  }

  static #rule(where, rule) {
    const index = RULES.indexOf(rule ?? 'sum');
    if (index < 0) fail('ERR_KIND', where, `rule must be one of ${RULES.join(', ')}, got ${rule}`);
    return index;
  }

  /**
   * A fast weight memory written with keys and values step by step and read
   * with queries (default: the keys). Returns { outputs (T x dv), final
   * (dv x dim), dim, states? (Float32Array T*dv*dim, record: 'all'),
   * errors? (T x T, errors: true: 1/2 |v_s - W_t phi(k_s)|^2 for s <= t) }.
   */
  fastWeights(options) {
    const where = 'fastWeights';
    const opts = optObject(where, options);
    if (opts.keys === undefined || opts.values === undefined) fail('ERR_TYPE', where, 'keys and values are required');
    const K = toMatrix(where, 'keys', opts.keys);
    const V = toMatrix(where, 'values', opts.values);
    if (V.rows !== K.rows) fail('ERR_SHAPE', where, `values has ${V.rows} rows, keys has ${K.rows}`);
    let Q = null;
    if (opts.queries !== undefined && opts.queries !== null) {
      Q = toMatrix(where, 'queries', opts.queries);
      if (Q.rows !== K.rows || Q.cols !== K.cols) {
        fail('ERR_SHAPE', where, `queries is ${Q.rows}x${Q.cols}, keys is ${K.rows}x${K.cols}`);
      }
    }
    const [T, d, dv] = [K.rows, K.cols, V.cols];
    const rule = Attn.#rule(where, opts.rule);
    const beta = Attn.#unitOption(where, 'beta', opts.beta, 1, T);
    const alpha = Attn.#unitOption(where, 'alpha', opts.alpha, 1, T);
    const record = opts.record ?? 'none';
    if (record !== 'none' && record !== 'all') fail('ERR_KIND', where, `record must be 'none' or 'all', got ${record}`);
    const errors = optBool(where, 'errors', opts.errors, false);
    const f = this.#featureOptions(where, opts, d, { feature: 'dpfp', normalize: 'sum' });
    if (errors) checkBytes(where, 'the errors', T * T, 4);
    return this.#withHeap(where, (heap, core) => {
      const spec = this.#featureSpec(where, heap, core, f);
      const dimOut = heap.alloc(4);
      this.#check(where, core._attn_feature_dim(spec, d, dimOut));
      const dim = core.HEAPU32[dimOut >>> 2];
      if (record === 'all') checkBytes(where, 'the recorded states', T * dv * dim, 4);
      const pk = heap.f32(K.data), pv = heap.f32(V.data), pq = Q ? heap.f32(Q.data) : 0;
      const pb = beta.array ? heap.f32(beta.array) : 0, pa = alpha.array ? heap.f32(alpha.array) : 0;
      const out = heap.alloc(T * dv * 4), fin = heap.alloc(dv * dim * 4);
      const states = record === 'all' ? heap.alloc(T * dv * dim * 4) : 0;
      const errs = errors ? heap.alloc(T * T * 4) : 0;
      const work = heap.workspace(core._attn_fast_weights_workspace, spec, T, d, dv);
      this.#check(where, core._attn_fast_weights(spec, rule, T, d, dv, pk, pv, pq, pb, beta.scalar, pa, alpha.scalar,
        out, fin, states, errs, work.ptr, work.floats));
      const result = {
        outputs: { rows: T, cols: dv, data: heap.readF32(out, T * dv) },
        final: { rows: dv, cols: dim, data: heap.readF32(fin, dv * dim) },
        dim,
      };
      if (states) result.states = heap.readF32(states, T * dv * dim);
      if (errs) result.errors = { rows: T, cols: T, data: heap.readF32(errs, T * T) };
      return result;
    });
  }

  /**
   * The capacity experiment: for each size S, store S random (key, one-hot
   * value) pairs, read every key back, and report the mean 1/2 |v - y|^2
   * averaged over trials (0.5 = total failure). Returns [{ size, error }].
   * Features default to L2 normalisation here: with random keys there is no
   * learned readout to undo the 1/|phi|_1^2 scale that sum normalisation
   * puts on every retrieval, while with L2 a single write stores its pair
   * exactly, so the curve shows interference alone.
   */
  capacity(options) {
    const where = 'capacity';
    const opts = optObject(where, options);
    const dKey = optInt(where, 'dKey', opts.dKey, 64, 1, 1 << 16);
    const sizes = opts.sizes ?? Array.from({ length: 30 }, (_, i) => 20 * (i + 1));
    if (!Array.isArray(sizes) || sizes.length === 0) fail('ERR_TYPE', where, 'sizes must be a non-empty array');
    sizes.forEach((s, i) => {
      if (!isInt(s) || s < 1 || s > 1 << 14) fail('ERR_RANGE', where, `sizes[${i}] = ${s} is not an integer in [1, 16384]`);
    });
    const rule = Attn.#rule(where, opts.rule);
    const beta = optNumber(where, 'beta', opts.beta, 1);
    if (!(beta >= 0 && beta <= 1)) fail('ERR_RANGE', where, `beta must be in [0, 1], got ${beta}`);
    const trials = optInt(where, 'trials', opts.trials, 3, 1, 10000);
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    const f = this.#featureOptions(where, opts, dKey, { feature: 'dpfp', normalize: 'l2' });
    return this.#withHeap(where, (heap, core) => {
      const spec = this.#featureSpec(where, heap, core, f);
      const error = heap.alloc(8);
      return sizes.map((size) => {
        const floatsOut = heap.alloc(4);
        this.#check(where, core._attn_capacity_workspace(spec, dKey, size, floatsOut));
        const floats = core.HEAPU32[floatsOut >>> 2];
        checkBytes(where, 'the workspace', floats, 4);
        const work = core._malloc(floats * 4) >>> 0;
        if (work === 0) fail('ERR_MEMORY', where, `out of wasm memory allocating ${floats * 4} bytes`);
        try {
          this.#check(where, core._attn_capacity(spec, rule, dKey, size, beta, trials, ...seedWords(seed), error,
            work, floats));
        } finally {
          core._free(work);
        }
        return { size, error: core.HEAPF64[error >>> 3] };
      });
    });
  }

  // ------------------------------------- compressed, synthetic, sorted attention

  /** alpha * a b for a [n, k] and b [k, m]: the core's gemm (the benchmark's yardstick). */
  matmul(a, b, options) {
    const where = 'matmul';
    const A = toMatrix(where, 'a', a), B = toMatrix(where, 'b', b);
    const alpha = optNumber(where, 'alpha', optObject(where, options).alpha, 1);
    return this.#matmul(where, A, B, alpha);
  }

  /** alpha * A B (A [n, k], B [k, m]) through the core. */
  #matmul(where, A, B, alpha = 1) {
    if (A.cols !== B.rows) fail('ERR_SHAPE', where, `cannot multiply ${A.rows}x${A.cols} by ${B.rows}x${B.cols}`);
    checkBytes(where, 'a product', A.rows * B.cols, 4);
    return this.#withHeap(where, (heap, core) => {
      const out = heap.alloc(A.rows * B.cols * 4);
      this.#check(where, core._attn_matmul(A.rows, A.cols, B.cols, alpha, heap.f32(A.data), heap.f32(B.data), out));
      return { rows: A.rows, cols: B.cols, data: heap.readF32(out, A.rows * B.cols) };
    });
  }

  /** Slot pooling of the rows of X: out[s] = sum_t kernel[t] X[s c + t]. */
  #pool(where, X, kernel) {
    const c = kernel.length;
    const slots = Math.ceil(X.rows / c);
    return this.#withHeap(where, (heap, core) => {
      const out = heap.alloc(slots * X.cols * 4);
      this.#check(where, core._attn_pool_rows(X.rows, X.cols, c, heap.f32(X.data), heap.f32(kernel), out));
      return { rows: slots, cols: X.cols, data: heap.readF32(out, slots * X.cols) };
    });
  }

  /** Mean of the rows in each slot of c (a shorter last slot: the mean of its own rows). */
  #meanPool(where, X, c) {
    const pooled = this.#pool(where, X, new Float32Array(c).fill(1 / c));
    const rest = X.rows % c;
    if (rest) for (let l = 0; l < X.cols; l++) pooled.data[(pooled.rows - 1) * X.cols + l] *= c / rest;
    return pooled;
  }

  /** Row softmax of a logit Matrix (causal, mask) through the core. */
  #softmaxRows(where, logits, causal = false, mask = null) {
    return this.#withHeap(where, (heap, core) => {
      const p = heap.f32(logits.data);
      this.#check(where, core._attn_softmax_rows(logits.rows, logits.cols, p, causal ? 1 : 0, mask ? heap.u8(mask.data) : 0));
      return { rows: logits.rows, cols: logits.cols, data: heap.readF32(p, logits.rows * logits.cols) };
    });
  }

  /**
   * Sinkhorn normalisation (log space): logits [n, n] / tau, then `iterations`
   * rounds of row and column log-normalisation; returns exp, nearly doubly
   * stochastic. causal keeps the upper triangle at 0.
   */
  sinkhorn(logits, options) {
    const where = 'sinkhorn';
    const L = toMatrix(where, 'logits', logits);
    if (L.rows !== L.cols) fail('ERR_SHAPE', where, `logits must be square, got ${L.rows}x${L.cols}`);
    const opts = optObject(where, options);
    const iterations = optInt(where, 'iterations', opts.iterations, 20, 0, 100000);
    const tau = optNumber(where, 'tau', opts.tau, 1);
    if (!(tau > 0)) fail('ERR_RANGE', where, `tau must be > 0, got ${tau}`);
    const causal = optBool(where, 'causal', opts.causal, false);
    return this.#withHeap(where, (heap, core) => {
      const p = heap.f32(L.data);
      this.#check(where, core._attn_sinkhorn(L.rows, p, iterations, tau, causal ? 1 : 0));
      return { rows: L.rows, cols: L.cols, data: heap.readF32(p, L.rows * L.cols) };
    });
  }

  /** A seeded Gaussian Matrix scaled by `scale` (projections, synthesizer weights). */
  #gaussian(rows, cols, seed, scale) {
    const m = this.randn(rows, cols, { seed });
    for (let i = 0; i < m.data.length; i++) m.data[i] *= scale;
    return m;
  }

  /**
   * Linformer (Wang et al. 2020): keys and values projected along the sequence
   * to `rank` rows, K' = E K, V' = F V (E, F: rank x m, seeded N(0, 1/rank) or
   * given; shareKV: F = E). Returns { weights (n x rank), output, effective
   * (n x m: weights F, the matrix applied to V), E, F }.
   */
  linformer(q, k, v, options) {
    const where = 'linformer';
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const { Q, K, V } = toQKV(where, q, k, v);
    const opts = optObject(where, options);
    const rank = optInt(where, 'rank', opts.rank, Math.min(K.rows, 32), 1, 1 << 20);
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    const scale = optNumber(where, 'scale', opts.scale, 1 / Math.sqrt(Q.cols));
    const shareKV = optBool(where, 'shareKV', opts.shareKV, false);
    const given = (name) => {
      if (opts[name] === undefined || opts[name] === null) return null;
      const P = toMatrix(where, name, opts[name]);
      if (P.cols !== K.rows) fail('ERR_SHAPE', where, `${name} has ${P.cols} columns, there are ${K.rows} keys`);
      return P;
    };
    const E = given('E') ?? this.#gaussian(rank, K.rows, seed, 1 / Math.sqrt(rank));
    const F = shareKV ? E : given('F') ?? this.#gaussian(E.rows, K.rows, seed + 1, 1 / Math.sqrt(E.rows));
    if (F.rows !== E.rows) fail('ERR_SHAPE', where, `E has ${E.rows} rows but F has ${F.rows}`);
    const Kp = this.#matmul(where, E, K), Vp = this.#matmul(where, F, V);
    const weights = this.softmaxWeights(Q, Kp, { scale });
    return { weights, output: this.#matmul(where, weights, Vp), effective: this.#matmul(where, weights, F), E, F };
  }

  /**
   * Memory-compressed attention (Liu et al. 2018): keys and values pooled over
   * slots of `factor` positions with kernels (kernelK, kernelV or kernel:
   * `factor` taps; default the mean, over its own rows for a shorter last
   * slot); causal: slot
   * s is visible to query i when its last position is <= i. Returns
   * { weights (n x slots), output, effective (n x m), keys, values }.
   */
  compressedAttention(q, k, v, options) {
    const where = 'compressedAttention';
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const { Q, K, V } = toQKV(where, q, k, v);
    const opts = optObject(where, options);
    const c = optInt(where, 'factor', opts.factor, 2, 1, K.rows);
    const kernelOf = (name) => {
      const x = opts[name] ?? opts.kernel;
      if (x === undefined) return null;  // the mean
      if (!Array.isArray(x) && !ArrayBuffer.isView(x)) fail('ERR_TYPE', where, `${name} must be an array of ${c} numbers`);
      if (x.length !== c) fail('ERR_SHAPE', where, `${name} has ${x.length} taps, factor is ${c}`);
      const out = Float32Array.from(x);
      if (!out.every(Number.isFinite)) fail('ERR_NONFINITE', where, `${name} has a value that is not finite`);
      return out;
    };
    const kK = kernelOf('kernelK'), kV = kernelOf('kernelV');
    const causal = optBool(where, 'causal', opts.causal, false);
    const scale = optNumber(where, 'scale', opts.scale, 1 / Math.sqrt(Q.cols));
    const pool = (X, kernel) => (kernel ? this.#pool(where, X, kernel) : this.#meanPool(where, X, c));
    const keys = pool(K, kK), values = pool(V, kV);
    const slots = keys.rows, n = Q.rows, m = K.rows;
    /** The weight of position j in its slot's value. */
    const tap = (j) => (kV ? kV[j % c] : 1 / Math.min(c, m - Math.floor(j / c) * c));
    let mask = null;
    if (causal) {
      mask = { rows: n, cols: slots, data: new Uint8Array(n * slots) };
      for (let i = 0; i < n; i++) {
        for (let s = 0; s < slots; s++) mask.data[i * slots + s] = Math.min(s * c + c, m) - 1 <= i ? 1 : 0;
      }
    }
    const weights = this.softmaxWeights(Q, keys, { scale, mask });
    const output = this.softmaxAttention(Q, keys, values, { scale, mask });
    const effective = { rows: n, cols: m, data: new Float32Array(n * m) };
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) effective.data[i * m + j] = weights.data[i * slots + Math.floor(j / c)] * tap(j);
    }
    return { weights, output, effective, keys, values };
  }

  /**
   * Synthesizer (Tay et al. 2020): logits that do not come from token pairs.
   * mode 'random': an n x n matrix (seeded N(0, 1) or `logits`); 'factorized':
   * R1 R2^T with R1, R2 n x `factors`; 'dense': a two-layer MLP of each token
   * x_i to n logits (W1 d x d, W2 d x n, seeded N(0, 1/d), biases 0).
   * `mix` in [0, 1] blends in dot-product logits: (1 - mix) S + mix scale q k^T
   * (q and k default to x). Returns { weights (n x n), output, logits }.
   */
  synthesizer(x, v, options) {
    const where = 'synthesizer';
    const X = toMatrix(where, 'x', x);
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const V = toMatrix(where, 'v', v);
    const n = X.rows;
    if (V.rows !== n) fail('ERR_SHAPE', where, `v has ${V.rows} rows, x has ${n}`);
    const opts = optObject(where, options);
    const mode = opts.mode ?? 'random';
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    const mix = optNumber(where, 'mix', opts.mix, 0);
    if (!(mix >= 0 && mix <= 1)) fail('ERR_RANGE', where, `mix must be in [0, 1], got ${mix}`);
    const causal = optBool(where, 'causal', opts.causal, false);
    let logits;
    if (mode === 'random') {
      logits = opts.logits !== undefined ? toMatrix(where, 'logits', opts.logits) : this.randn(n, n, { seed });
      if (logits.rows !== n || logits.cols !== n) fail('ERR_SHAPE', where, `logits must be ${n}x${n}, got ${logits.rows}x${logits.cols}`);
    } else if (mode === 'factorized') {
      const f = optInt(where, 'factors', opts.factors, 8, 1, 1 << 16);
      const R1 = this.randn(n, f, { seed }), R2 = this.randn(f, n, { seed: seed + 1 });
      logits = this.#matmul(where, R1, R2, 1 / Math.sqrt(f));
    } else if (mode === 'dense') {
      const d = X.cols;
      const H = this.#matmul(where, X, this.#gaussian(d, d, seed, 1 / Math.sqrt(d)));
      for (let i = 0; i < H.data.length; i++) H.data[i] = Math.max(0, H.data[i]);
      logits = this.#matmul(where, H, this.#gaussian(d, n, seed + 1, 1 / Math.sqrt(d)));
    } else {
      fail('ERR_KIND', where, `mode must be 'random', 'factorized' or 'dense', got ${mode}`);
    }
    if (mix > 0) {
      const Q = opts.q !== undefined ? toMatrix(where, 'q', opts.q) : X;
      const K = opts.k !== undefined ? toMatrix(where, 'k', opts.k) : X;
      if (Q.rows !== n || K.rows !== n || Q.cols !== K.cols) fail('ERR_SHAPE', where, `q and k must be ${n} x d`);
      const scale = optNumber(where, 'scale', opts.scale, 1 / Math.sqrt(Q.cols));
      const dot = this.#withHeap(where, (heap, core) => {
        const out = heap.alloc(n * n * 4);
        const work = heap.workspace(core._attn_softmax_weights_workspace, n, n, Q.cols);
        this.#check(where, core._attn_matmul_nt(n, n, Q.cols, scale, heap.f32(Q.data), heap.f32(K.data), out, work.ptr, work.floats));
        return heap.readF32(out, n * n);
      });
      logits = { ...logits, data: logits.data.map((s, i) => (1 - mix) * s + mix * dot[i]) };
    }
    const weights = this.#softmaxRows(where, logits, causal);
    return { weights, output: this.#matmul(where, weights, V), logits };
  }

  /**
   * Sinkhorn attention (Tay et al. 2020): keys in blocks of `block`; block
   * summaries psi (sums) of k give R = relu(psi W_P) (W_P seeded N(0, 1/d)),
   * Sinkhorn-normalised (iterations, tau) to S; sorted blocks K_s = S
   * blocks(K), likewise V. Each query block attends to its sorted block and
   * its own block (causal: summaries are cumulative and S is a row softmax
   * over strictly earlier blocks instead of Sinkhorn, whose column step would
   * let later blocks change earlier rows; block 0 has no sorted part, and the
   * own block is masked to j <= i); with `sortcut` n_s > 0 every query attends to the first
   * n_s sorted blocks instead (SortCut). Returns { S, permutation (a greedy
   * assignment from S), weights, output, effective (n x m), blockMask (the
   * blocks each query block reads, n x m) }.
   */
  sinkhornAttention(q, k, v, options) {
    const where = 'sinkhornAttention';
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const { Q, K, V } = toQKV(where, q, k, v);
    const opts = optObject(where, options);
    const n = Q.rows, m = K.rows, d = Q.cols, dv = V.cols;
    if (n !== m) fail('ERR_SHAPE', where, `queries and keys must have the same length (${n} != ${m})`);
    const b = optInt(where, 'block', opts.block, 8, 1, n);
    if (n % b !== 0) fail('ERR_RANGE', where, `block ${b} does not divide n = ${n}`);
    const nb = n / b;
    const iterations = optInt(where, 'iterations', opts.iterations, 8, 0, 10000);
    const tau = optNumber(where, 'tau', opts.tau, 0.75);
    const seed = optInt(where, 'seed', opts.seed, 0, 0);
    const causal = optBool(where, 'causal', opts.causal, false);
    const sortcut = optInt(where, 'sortcut', opts.sortcut, 0, 0, nb);
    const scale = optNumber(where, 'scale', opts.scale, 1 / Math.sqrt(d));
    const psi = this.#pool(where, K, new Float32Array(b).fill(1));
    if (causal) {  // cumulative summaries: block i's summary sees blocks <= i only
      for (let t = 1; t < nb; t++) for (let l = 0; l < d; l++) psi.data[t * d + l] += psi.data[(t - 1) * d + l];
    }
    const R = this.#matmul(where, psi, this.#gaussian(d, nb, seed, 1 / Math.sqrt(d)));
    for (let i = 0; i < R.data.length; i++) R.data[i] = Math.max(0, R.data[i]);
    // Causal: Sinkhorn's column step would let later blocks change earlier
    // rows, so each block's row is a softmax over strictly earlier blocks
    // (block 0 reads no sorted block); otherwise the Sinkhorn operator.
    const S = causal
      ? this.#softmaxRows(where, { ...R, data: R.data.map((x) => x / tau) }, false,
        { rows: nb, cols: nb, data: Uint8Array.from({ length: nb * nb }, (_, t) => (t % nb < Math.floor(t / nb) ? 1 : 0)) })
      : this.sinkhorn(R, { iterations, tau });
    const blocks = (X) => ({ rows: nb, cols: b * X.cols, data: X.data });  // row t = block t, flattened
    const Ks = this.#matmul(where, S, blocks(K)), Vs = this.#matmul(where, S, blocks(V));
    const sortedK = { rows: n, cols: d, data: Ks.data }, sortedV = { rows: n, cols: dv, data: Vs.data };
    let keys, values, mask = null;
    if (sortcut > 0) {
      keys = { rows: sortcut * b, cols: d, data: sortedK.data.subarray(0, sortcut * b * d) };
      values = { rows: sortcut * b, cols: dv, data: sortedV.data.subarray(0, sortcut * b * dv) };
    } else {
      keys = { rows: 2 * n, cols: d, data: concat(sortedK.data, K.data) };
      values = { rows: 2 * n, cols: dv, data: concat(sortedV.data, V.data) };
      mask = { rows: n, cols: 2 * n, data: new Uint8Array(n * 2 * n) };
      for (let i = 0; i < n; i++) {
        const bi = Math.floor(i / b);
        for (let t = 0; t < b; t++) {
          mask.data[i * 2 * n + bi * b + t] = !causal || bi > 0 ? 1 : 0;               // sorted block bi
          mask.data[i * 2 * n + n + bi * b + t] = !causal || bi * b + t <= i ? 1 : 0;   // own block
        }
      }
    }
    const weights = this.softmaxWeights(Q, keys, { scale, mask });
    const output = this.softmaxAttention(Q, keys, values, { scale, mask });
    // The n x m matrix applied to V: sorted rows are S-mixtures of the blocks' rows.
    const effective = { rows: n, cols: m, data: new Float32Array(n * m) };
    const blockMask = { rows: n, cols: m, data: new Uint8Array(n * m) };
    const permutation = greedyAssignment(S);
    for (let i = 0; i < n; i++) {
      const bi = Math.floor(i / b);
      const sortedRows = sortcut > 0 ? Array.from({ length: sortcut }, (_, s) => s) : [bi];
      for (const s of sortedRows) {
        for (let t = 0; t < b; t++) {
          const w = weights.data[i * keys.rows + s * b + t];
          for (let bj = 0; bj < nb; bj++) effective.data[i * m + bj * b + t] += w * S.data[s * nb + bj];
        }
      }
      if (!sortcut) for (let t = 0; t < b; t++) effective.data[i * m + bi * b + t] += weights.data[i * keys.rows + n + bi * b + t];
      const readBlocks = sortcut > 0 ? permutation.slice(0, sortcut) : [permutation[bi], bi];
      for (const bj of readBlocks) for (let t = 0; t < b; t++) blockMask.data[i * m + bj * b + t] = 1;
    }
    return { S, permutation, weights, output, effective, blockMask };
  }

  /**
   * Funnel-Transformer pooling (Dai et al. 2020): queries mean-pooled with
   * `stride` (default 2), keys and values kept. Returns { queries, weights
   * (ceil(n / stride) x m), output }.
   */
  funnelAttention(q, k, v, options) {
    const where = 'funnelAttention';
    if (v === undefined) fail('ERR_TYPE', where, 'v is required');
    const { Q, K, V } = toQKV(where, q, k, v);
    const opts = optObject(where, options);
    const stride = optInt(where, 'stride', opts.stride, 2, 1, Q.rows);
    const scale = optNumber(where, 'scale', opts.scale, 1 / Math.sqrt(Q.cols));
    const queries = this.#meanPool(where, Q, stride);
    const weights = this.softmaxWeights(queries, K, { scale });
    return { queries, weights, output: this.softmaxAttention(queries, K, V, { scale }) };
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
