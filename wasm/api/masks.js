// Attention masks (src/masks.c): every kind of the seeds as dense or CSR
// masks, LSH buckets and k-means clusters, density, unions and
// intersections, and how many stacked layers until every token reaches
// every other.
import { DEFAULTS, OUT, checkBytes, derivedDefault, fail, newU8, run, seedWords, shapeOf } from './core.js';
import {
  checkDim, isCSR, isInt, optBool, optInt, optKind, options, toCSR, toMask, toMatrix,
} from './args.js';

import { CORE_MASK_KINDS, MASK_BIT_NAMES } from '../build/names.js';

/** Bits that composite masks set per component, { local: 1, strided: 2, ... } (the core's list). */
export const MASK_BITS = Object.freeze(Object.fromEntries(MASK_BIT_NAMES.map((name, bit) => [name, 1 << bit])));

/** Mask kinds: the core's, with its cluster rule offered as 'lsh' and 'kmeans' (which make the clusters). */
const CLUSTER_KIND = CORE_MASK_KINDS.indexOf('cluster');
export const MASK_KINDS = Object.freeze([...CORE_MASK_KINDS.filter((kind) => kind !== 'cluster'), 'lsh', 'kmeans']);

const MASK_KEYS = ['format', 'causal', 'window', 'dilation', 'stride', 'block', 'summary', 'tokens', 'perRow',
  'windowBlocks', 'globalBlocks', 'randomBlocks', 'seed', 'x', 'buckets', 'hashes', 'clusters', 'iterations'];
const LSH_KEYS = ['buckets', 'hashes', 'seed'];
const KMEANS_KEYS = ['clusters', 'iterations', 'seed'];

/** Reformer LSH buckets of the rows of X (a Matrix): Int32Array hashes x n. */
function lsh(c, where, X, o) {
  const buckets = optInt(where, 'buckets', o.buckets, DEFAULTS['lsh.buckets'], 2, 2 ** 30);
  if (buckets % 2 !== 0) fail('ERR_RANGE', where, `buckets must be even, got ${buckets}`);
  const hashes = optInt(where, 'hashes', o.hashes, DEFAULTS['lsh.hashes'], 1, 1024);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  checkBytes(where, 'the assignments', X.rows * hashes, 4);
  return run(c, where, (heap) => {
    const what = `${shapeOf('x', X)}, buckets ${buckets}, hashes ${hashes}`;
    const px = heap.f32(X.data, 'x');
    const out = heap.alloc(X.rows * hashes * 4, 'the assignments');
    const work = heap.workspace('lsh_workspace', what, X.cols, buckets);
    heap.call('lsh_buckets', what, X.rows, X.cols, px, buckets, hashes, ...seedWords(seed), out, work.ptr, work.floats);
    return heap.readI32(out, X.rows * hashes);
  });
}

/** Spherical k-means (Routing Transformer) of the rows of X: Int32Array n. */
function clusters(c, where, X, o) {
  const k = optInt(where, 'clusters', o.clusters, derivedDefault(c, where, 'root', X.rows), 1, X.rows);
  const iterations = optInt(where, 'iterations', o.iterations, DEFAULTS['kmeans.iterations'], 0, 10000);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  return run(c, where, (heap) => {
    const what = `${shapeOf('x', X)}, clusters ${k}, iterations ${iterations}`;
    const px = heap.f32(X.data, 'x');
    const out = heap.alloc(X.rows * 4, 'the assignments');
    const work = heap.workspace('kmeans_workspace', what, X.rows, X.cols, k);
    heap.call('kmeans', what, X.rows, X.cols, px, k, iterations, ...seedWords(seed), out, work.ptr, work.floats);
    return heap.readI32(out, X.rows);
  });
}

/** The points of an lsh or kmeans mask: x, n rows. */
function points(where, x, n) {
  if (x === undefined) fail('ERR_TYPE', where, 'x (the n x d points) is required');
  const X = toMatrix(where, 'x', x);
  if (n !== undefined && X.rows !== n) fail('ERR_SHAPE', where, `x has ${X.rows} rows, n is ${n}`);
  return X;
}

/** Reformer LSH buckets of the rows of x: Int32Array hashes x n (row r = round r). */
export function lshBuckets(c, x, opts, where = 'lshBuckets') {
  const X = points(where, x);
  return lsh(c, where, X, options(where, opts, LSH_KEYS));
}

/** Spherical k-means of the rows of x: Int32Array n of cluster indices. */
export function kmeans(c, x, opts, where = 'kmeans') {
  const X = points(where, x);
  return clusters(c, where, X, options(where, opts, KMEANS_KEYS));
}

/**
 * The core's defaults of every spec field for a kind and n, { window: 8, ... }:
 * attn_mask_spec_get of a spec with no field given (src/attn.h lists them).
 */
function specDefaults(c, where, coreKind, n) {
  return run(c, where, (heap, mod) => {
    const spec = heap.alloc(mod._attn_mask_spec_size(), 'the mask spec');
    heap.call('mask_spec_init', `n ${n}`, spec, coreKind, n);
    const value = heap.alloc(8, 'a field');
    const fields = {};
    for (const [name, id] of c.maskFields) {
      heap.call('mask_spec_get', name, spec, id, value);
      fields[name] = heap.readF64(value, 1)[0];
    }
    return fields;
  });
}

/**
 * The core's spec fields of a mask kind, from the options (defaults D from
 * the core): integers validated and clamped where they mean "at most".
 */
function maskFields(where, kind, n, o, D) {
  // "At most n" options (a window wider than the sequence is the sequence) are clamped; others refused.
  const upTo = (name, fallback, min, max) => optInt(where, name, o[name], fallback, min, max, true);
  const int = (name, fallback, min, max) => optInt(where, name, o[name], fallback, min, max);
  const fields = { causal: optBool(where, 'causal', o.causal, false) ? 1 : 0 };
  let tokens = null;
  const readTokens = () => {
    const list = o.tokens ?? [DEFAULTS['mask.token']];
    if (!Array.isArray(list) && !ArrayBuffer.isView(list)) fail('ERR_TYPE', where, 'tokens must be an array of indices');
    checkBytes(where, 'tokens', list.length, 4);
    tokens = Int32Array.from(list, (t, i) => {
      if (typeof t !== 'number' || !isInt(t) || t < 0 || t >= n) {
        fail('ERR_RANGE', where, `tokens[${i}] = ${t} is not a token index in [0, ${n - 1}]`);
      }
      return t;
    });
    fields.nTokens = tokens.length;
  };
  switch (kind) {
    case 'local': fields.window = upTo('window', D.window, 0, n); break;
    case 'strided': case 'sparse-transformer': fields.stride = upTo('stride', D.stride, 1, n); break;
    case 'dilated': case 'longformer':
      fields.window = upTo('window', D.window, 0, n);
      fields.dilation = upTo('dilation', D.dilation, 1, n);
      if (kind === 'longformer') readTokens();
      break;
    case 'fixed':
      fields.block = int('block', D.block, 1, 2 ** 31 - 1);  // a block past n still has its summary past n
      fields.summary = int('summary', D.summary, 0, fields.block);
      break;
    case 'global': readTokens(); break;
    case 'random': fields.perRow = upTo('perRow', D.perRow, 0, n); fields.seed = int('seed', D.seed, 0); break;
    case 'bigbird': {
      fields.block = int('block', D.block, 1, n);
      if (n % fields.block !== 0) fail('ERR_RANGE', where, `block ${fields.block} does not divide n = ${n}`);
      const nb = n / fields.block;
      const w = int('windowBlocks', D.windowBlocks, 1, Infinity);
      if (w % 2 === 0) fail('ERR_RANGE', where, `windowBlocks must be odd, got ${w}`);
      fields.windowBlocks = Math.min(w, 2 * nb - 1);  // 2 nb - 1 blocks already cover every block
      fields.globalBlocks = upTo('globalBlocks', D.globalBlocks, 0, nb);
      fields.randomBlocks = upTo('randomBlocks', D.randomBlocks, 0, nb);
      fields.seed = int('seed', D.seed, 0);
      break;
    }
    default: break;
  }
  return { fields, tokens };
}

/**
 * An n x n mask of the given kind (MASK_KINDS; options and defaults in
 * README). format 'csr' returns { rows, cols, kind, format, nnz, indptr,
 * indices, bits } instead of dense data, for sizes whose dense mask would
 * not fit. lsh and kmeans also return their assignments (rounds x n).
 */
export function mask(c, kind, n, opts, where = 'mask') {
  if (typeof kind !== 'string') fail('ERR_TYPE', where, `kind must be a string, got ${typeof kind}`);
  const kindIndex = MASK_KINDS.indexOf(kind);
  if (kindIndex < 0) fail('ERR_KIND', where, `unknown mask kind '${kind}' (one of ${MASK_KINDS.join(', ')})`);
  checkDim(where, 'n', n);
  if (n > 2 ** 31 - 1) fail('ERR_MEMORY', where, `n = ${n} is more than int32 indices address`);
  const o = options(where, opts, MASK_KEYS);
  const format = optKind(where, 'format', o.format, 'dense', ['dense', 'csr']);
  if (format === 'dense') checkBytes(where, 'the mask', n * n, 1);
  const coreKind = CORE_MASK_KINDS.includes(kind) ? CORE_MASK_KINDS.indexOf(kind) : CLUSTER_KIND;
  const { fields, tokens } = maskFields(where, kind, n, o, specDefaults(c, where, coreKind, n));
  let assignments = null;
  if (kind === 'lsh') assignments = lsh(c, where, points(where, o.x, n), o);
  if (kind === 'kmeans') assignments = clusters(c, where, points(where, o.x, n), o);
  if (assignments) fields.rounds = assignments.length / n;
  return run(c, where, (heap, mod) => {
    const what = `kind '${kind}', n ${n}`;
    const spec = heap.alloc(mod._attn_mask_spec_size(), 'the mask spec');
    heap.call('mask_spec_init', what, spec, coreKind, n);
    for (const [name, value] of Object.entries(fields)) {
      heap.call('mask_spec_set', `${name} ${value}`, spec, c.maskFields.get(name), value);
    }
    const ptok = tokens && tokens.length ? heap.i32(tokens, 'tokens') : 0;
    const passign = assignments ? heap.i32(assignments, 'the assignments') : 0;
    heap.call('mask_spec_set_arrays', 'tokens or assignments', spec, ptok, passign);
    const extra = assignments ? { assignments } : {};
    const everything = `${what}, ${Object.entries(fields).map(([name, value]) => `${name} ${value}`).join(', ')}`;
    // The core names the field at fault (attn_mask_spec_check); a count of
    // cells beyond memory is about n (attn.h, attn_mask_spec_check).
    const described = (status) => {
      const name = heap.argument('mask_spec_check', spec) ?? (c.statusCodes[status] === 'ERR_MEMORY' ? 'n' : null);
      if (name === null) return everything;
      if (name === 'n') return { argument: `n ${n}` };
      if (name === 'kind') return { argument: `kind '${kind}'` };
      return { argument: name in fields ? `${name} ${fields[name]}` : name };
    };
    if (format === 'dense') {
      const out = heap.alloc(n * n, 'the mask');
      heap.call('mask_dense', described, spec, out);
      return { rows: n, cols: n, kind, data: heap.readU8(out, n * n), ...extra };
    }
    const row = heap.alloc(n, 'a row');
    const nnz = heap.size('mask_nnz', described, spec, OUT, row);
    const indptr = heap.alloc(checkBytes(where, 'the mask indptr', n + 1, 4), 'the mask indptr');
    const indices = heap.alloc(checkBytes(where, 'the mask indices', nnz, 4), 'the mask indices');
    const bits = heap.alloc(nnz, 'the mask bits');
    try {
      heap.call('mask_csr', described, spec, nnz, indptr, indices, bits, row);
    } catch (err) {
      // n^2 >= 2^32: a 32-bit size_t count can wrap, and the cells then outnumber the capacity.
      if (err.code === 'ERR_WORKSPACE' && n * n >= 2 ** 32) {
        fail('ERR_MEMORY', where, `n ${n}: more allowed cells than a 32-bit count holds; they do not fit in memory`);
      }
      throw err;
    }
    return {
      rows: n, cols: n, kind, format: 'csr', nnz,
      indptr: heap.readI32(indptr, n + 1), indices: heap.readI32(indices, nnz), bits: heap.readU8(bits, nnz), ...extra,
    };
  });
}

/** Allowed cells per row of a dense or CSR mask: { rows, cols, counts }. */
function rowCounts(where, m) {
  if (isCSR(m)) {
    const { rows, cols, indptr } = toCSR(where, m);
    return { rows, cols, counts: Array.from({ length: rows }, (_, i) => indptr[i + 1] - indptr[i]) };
  }
  const M = toMask(where, 'mask', m);
  const counts = new Array(M.rows).fill(0);
  for (let i = 0; i < M.rows; i++) {
    for (let j = 0; j < M.cols; j++) counts[i] += M.data[i * M.cols + j] !== 0;
  }
  return { rows: M.rows, cols: M.cols, counts };
}

/**
 * { nnz, density, perRow: { min, max, mean } } of a dense or CSR mask; with
 * { counts: true } also `counts`, the allowed keys of every row.
 */
export function maskInfo(c, m, opts, where = 'maskInfo') {
  const withCounts = optBool(where, 'counts', options(where, opts, ['counts']).counts, false);
  const { rows, cols, counts } = rowCounts(where, m);
  let nnz = 0, min = Infinity, max = 0;
  for (const k of counts) {
    nnz += k;
    min = Math.min(min, k);
    max = Math.max(max, k);
  }
  const info = { nnz, density: nnz / (rows * cols), perRow: { min, max, mean: nnz / rows } };
  return withCounts ? { ...info, counts } : info;
}

/**
 * Union or intersection of two dense masks of one shape. Allowed cells keep
 * the component bits of both (so a picture still colours them).
 */
export function maskCompose(c, a, b, op, where = 'maskCompose') {
  const how = optKind(where, 'op', op, 'union', ['union', 'intersection']);
  const A = toMask(where, 'a', a);
  const B = toMask(where, 'b', b, A.rows, A.cols);
  const data = newU8(where, 'the result', A.data.length);
  for (let i = 0; i < data.length; i++) {
    const x = A.data[i], y = B.data[i];
    data[i] = how === 'union' || (x && y) ? x | y : 0;
  }
  return { rows: A.rows, cols: A.cols, kind: how, data };
}

/**
 * How many stacked layers of a square mask (with the residual path) until
 * no token reaches anything new: { layers (0 if still growing at
 * maxLayers), reached (pairs per layer), coverage (reached / n^2),
 * complete (every token reaches every other) }. The core refuses
 * (ERR_RANGE) a mask whose layers would take more than 2^32 word operations.
 */
export function maskLayers(c, m, opts, where = 'maskLayers') {
  const M = toMask(where, 'mask', m);
  if (M.rows !== M.cols) fail('ERR_SHAPE', where, `mask must be square, got ${M.rows}x${M.cols}`);
  const n = M.rows;
  const maxLayers = optInt(where, 'maxLayers', options(where, opts, ['maxLayers']).maxLayers, derivedDefault(c, where, 'max_layers', n), 1, 1e6);
  return run(c, where, (heap) => {
    const what = `mask [${n}x${n}], maxLayers ${maxLayers}`;
    const pm = heap.u8(M.data, 'mask');
    const reached = heap.alloc(maxLayers * 8, 'reached'), layers = heap.alloc(4);
    const words = heap.size('mask_layers_workspace', what, n);
    const bitsets = heap.alloc(checkBytes(where, 'the bitsets', words, 8), 'the bitsets');
    heap.call('mask_layers', what, n, pm, maxLayers, reached, layers, bitsets, words);
    const r = heap.readF64(reached, maxLayers);
    return {
      layers: heap.readU32(layers),
      reached: r,
      coverage: r.map((x) => x / (n * n)),
      complete: r[maxLayers - 1] === n * n,
    };
  });
}
