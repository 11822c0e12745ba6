// The gallery (src/gallery.c and compositions of the other families):
// matmul, slot pooling, row softmax and Sinkhorn; Linformer,
// memory-compressed attention, Synthesizer, Sinkhorn attention / SortCut and
// Funnel pooling, each with the n x m matrix it effectively applies.
import { DEFAULTS, checkBytes, checkPlan, derivedDefault, fail, newF32, newU8, run, shapeOf } from './core.js';
import { optBool, optInt, optKind, optNumber, options, toMatrix, toQKV } from './args.js';
import { gaussian, randn } from './rng.js';
import { softmaxAttention, softmaxWeights } from './softmax.js';

/** alpha * A B (A [n, k], B [k, m], Matrices) through the core. */
export function matmulOf(c, where, A, B, alpha = 1, names = ['a', 'b']) {
  if (A.cols !== B.rows) fail('ERR_SHAPE', where, `cannot multiply ${names[0]} ${A.rows}x${A.cols} by ${names[1]} ${B.rows}x${B.cols}`);
  checkBytes(where, 'a product', A.rows * B.cols, 4);
  return run(c, where, (heap) => {
    const out = heap.alloc(A.rows * B.cols * 4, 'a product');
    heap.call('matmul', `${shapeOf(names[0], A)} x ${shapeOf(names[1], B)}, alpha ${alpha}`, A.rows, A.cols, B.cols, alpha,
      heap.f32(A.data, names[0]), heap.f32(B.data, names[1]), out);
    return { rows: A.rows, cols: B.cols, data: heap.readF32(out, A.rows * B.cols) };
  });
}

/** alpha * a b for a [n, k] and b [k, m]: the core's gemm (the benchmark's yardstick). */
export function matmul(c, a, b, opts, where = 'matmul') {
  const A = toMatrix(where, 'a', a), B = toMatrix(where, 'b', b);
  const alpha = optNumber(where, 'alpha', options(where, opts, ['alpha']).alpha, DEFAULTS['matmul.alpha']);
  return matmulOf(c, where, A, B, alpha);
}

/** Slot pooling of the rows of X: out[s] = sum_t kernel[t] X[s c + t]. */
function pool(c, where, X, kernel, name) {
  const slots = Math.ceil(X.rows / kernel.length);
  checkBytes(where, 'the pooled rows', slots * X.cols, 4);
  return run(c, where, (heap) => {
    const out = heap.alloc(slots * X.cols * 4, 'the pooled rows');
    heap.call('pool_rows', `${shapeOf(name, X)}, ${kernel.length} taps`, X.rows, X.cols, kernel.length,
      heap.f32(X.data, name), heap.f32(kernel, 'the kernel'), out);
    return { rows: slots, cols: X.cols, data: heap.readF32(out, slots * X.cols) };
  });
}

/** Mean of the rows in each slot of c (a shorter last slot: the mean of its own rows). */
function meanPool(c, where, X, size, name) {
  const pooled = pool(c, where, X, new Float32Array(size).fill(1 / size), name);
  const rest = X.rows % size;
  if (rest) for (let l = 0; l < X.cols; l++) pooled.data[(pooled.rows - 1) * X.cols + l] *= size / rest;
  return pooled;
}

/** Row softmax of a logit Matrix (causal, mask) through the core. */
function softmaxRows(c, where, logits, causal = false, mask = null) {
  return run(c, where, (heap) => {
    const p = heap.f32(logits.data, 'the logits');
    heap.call('softmax_rows', `logits [${logits.rows}x${logits.cols}]`, logits.rows, logits.cols, p, causal ? 1 : 0,
      mask ? heap.u8(mask.data, 'the mask') : 0);
    return { rows: logits.rows, cols: logits.cols, data: heap.readF32(p, logits.rows * logits.cols) };
  });
}

/** Sinkhorn normalisation of square logits L (a Matrix). */
function sinkhornOf(c, where, L, iterations, tau, causal) {
  return run(c, where, (heap) => {
    const p = heap.f32(L.data, 'logits');
    heap.call('sinkhorn', `logits [${L.rows}x${L.cols}], iterations ${iterations}, tau ${tau}`, L.rows, p, iterations, tau, causal ? 1 : 0);
    return { rows: L.rows, cols: L.cols, data: heap.readF32(p, L.rows * L.cols) };
  });
}

/**
 * Sinkhorn normalisation (log space): logits [n, n] / tau, then `iterations`
 * rounds of row and column log-normalisation; returns exp, nearly doubly
 * stochastic. causal keeps the upper triangle at 0.
 */
export function sinkhorn(c, logits, opts, where = 'sinkhorn') {
  const L = toMatrix(where, 'logits', logits);
  if (L.rows !== L.cols) fail('ERR_SHAPE', where, `logits must be square, got ${L.rows}x${L.cols}`);
  const o = options(where, opts, ['iterations', 'tau', 'causal']);
  const iterations = optInt(where, 'iterations', o.iterations, DEFAULTS['sinkhorn.iterations'], 0, 100000);
  const tau = optNumber(where, 'tau', o.tau, DEFAULTS['sinkhorn.tau'], { min: 0, above: true });
  const causal = optBool(where, 'causal', o.causal, false);
  return sinkhornOf(c, where, L, iterations, tau, causal);
}

const required = (where, v) => {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
};

/**
 * Linformer (Wang et al. 2020): keys and values projected along the sequence
 * to `rank` rows, K' = E K, V' = F V (E, F: rank x m, seeded N(0, 1/rank) or
 * given; shareKV: F = E). Returns { weights (n x rank), output, effective
 * (n x m: weights F, the matrix applied to V), E, F }.
 */
export function linformer(c, q, k, v, opts, where = 'linformer') {
  required(where, v);
  const { Q, K, V } = toQKV(where, q, k, v);
  const o = options(where, opts, ['rank', 'seed', 'E', 'F', 'shareKV', 'scale']);
  const rank = optInt(where, 'rank', o.rank, derivedDefault(c, where, 'rank', K.rows), 1, 1 << 20);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  const scale = optNumber(where, 'scale', o.scale, derivedDefault(c, where, 'scale', Q.cols));
  const shareKV = optBool(where, 'shareKV', o.shareKV, false);
  const given = (name) => {
    if (o[name] === undefined || o[name] === null) return null;
    const P = toMatrix(where, name, o[name]);
    if (P.cols !== K.rows) fail('ERR_SHAPE', where, `${name} has ${P.cols} columns, there are ${K.rows} keys`);
    return P;
  };
  const E = given('E') ?? gaussian(c, where, rank, K.rows, seed, 1 / Math.sqrt(rank));
  const F = shareKV ? E : given('F') ?? gaussian(c, where, E.rows, K.rows, seed + 1, 1 / Math.sqrt(E.rows));
  if (F.rows !== E.rows) fail('ERR_SHAPE', where, `E has ${E.rows} rows but F has ${F.rows}`);
  checkPlan(where, [['the weights', Q.rows * E.rows, 4], ['the effective matrix', Q.rows * K.rows, 4]]);
  const Kp = matmulOf(c, where, E, K, 1, ['E', 'k']), Vp = matmulOf(c, where, F, V, 1, ['F', 'v']);
  const weights = softmaxWeights(c, Q, Kp, { scale }, where);
  return { weights, output: matmulOf(c, where, weights, Vp, 1, ['weights', 'F v']), effective: matmulOf(c, where, weights, F, 1, ['weights', 'F']), E, F };
}

/**
 * Memory-compressed attention (Liu et al. 2018): keys and values pooled over
 * slots of `factor` positions with kernels (kernelK, kernelV or kernel:
 * `factor` taps; default the mean, over its own rows for a shorter last
 * slot); causal: slot s is visible to query i when its last position is
 * <= i. Returns { weights (n x slots), output, effective (n x m), keys, values }.
 */
export function compressedAttention(c, q, k, v, opts, where = 'compressedAttention') {
  required(where, v);
  const { Q, K, V } = toQKV(where, q, k, v);
  const o = options(where, opts, ['factor', 'kernel', 'kernelK', 'kernelV', 'causal', 'scale']);
  const f = optInt(where, 'factor', o.factor, DEFAULTS['compressedAttention.factor'], 1, K.rows);
  const kernelOf = (name) => {
    const key = o[name] !== undefined ? name : 'kernel';
    const x = o[key];
    if (x === undefined) return null;  // the mean
    if (!Array.isArray(x) && !ArrayBuffer.isView(x)) fail('ERR_TYPE', where, `${key} must be an array of ${f} numbers`);
    if (x.length !== f) fail('ERR_SHAPE', where, `${key} has ${x.length} taps, factor is ${f}`);
    return Float32Array.from(x, (t, i) => {
      if (typeof t !== 'number') fail('ERR_TYPE', where, `${key}[${i}] is ${t === null ? 'null' : typeof t}, not a number`);
      if (!Number.isFinite(t)) fail('ERR_NONFINITE', where, `${key}[${i}] is ${t}, not finite`);
      return t;
    });
  };
  const kK = kernelOf('kernelK'), kV = kernelOf('kernelV');
  const causal = optBool(where, 'causal', o.causal, false);
  const scale = optNumber(where, 'scale', o.scale, derivedDefault(c, where, 'scale', Q.cols));
  const n = Q.rows, m = K.rows, slots = Math.ceil(m / f);
  // The n x m effective matrix is built here in JS: checked with the rest before any work.
  checkPlan(where, [['the weights', n * slots, 4], ['the causal mask', causal ? n * slots : 0, 1],
    ['the effective matrix (q rows x k rows)', n * m, 4]]);
  const pooled = (X, kernel, name) => (kernel ? pool(c, where, X, kernel, name) : meanPool(c, where, X, f, name));
  const keys = pooled(K, kK, 'k'), values = pooled(V, kV, 'v');
  /** The weight of position j in its slot's value. */
  const tap = (j) => (kV ? kV[j % f] : 1 / Math.min(f, m - Math.floor(j / f) * f));
  let mask = null;
  if (causal) {
    mask = { rows: n, cols: slots, data: newU8(where, 'the causal mask', n * slots) };
    for (let i = 0; i < n; i++) {
      for (let s = 0; s < slots; s++) mask.data[i * slots + s] = Math.min(s * f + f, m) - 1 <= i ? 1 : 0;
    }
  }
  const weights = softmaxWeights(c, Q, keys, { scale, mask }, where);
  const output = softmaxAttention(c, Q, keys, values, { scale, mask }, where);
  const effective = { rows: n, cols: m, data: newF32(where, 'the effective matrix', n * m) };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) effective.data[i * m + j] = weights.data[i * slots + Math.floor(j / f)] * tap(j);
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
export function synthesizer(c, x, v, opts, where = 'synthesizer') {
  const X = toMatrix(where, 'x', x);
  required(where, v);
  const V = toMatrix(where, 'v', v);
  const n = X.rows;
  if (V.rows !== n) fail('ERR_SHAPE', where, `v has ${V.rows} rows, x has ${n}`);
  const o = options(where, opts, ['mode', 'seed', 'logits', 'factors', 'mix', 'q', 'k', 'scale', 'causal']);
  const mode = optKind(where, 'mode', o.mode, 'random', ['random', 'factorized', 'dense']);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  const mix = optNumber(where, 'mix', o.mix, DEFAULTS['synthesizer.mix'], { min: 0, max: 1 });
  const causal = optBool(where, 'causal', o.causal, false);
  checkPlan(where, [['the logits', n * n, 4], ['the weights', n * n, 4], ['the dot products', mix > 0 ? n * n : 0, 4]]);
  let logits;
  if (mode === 'random') {
    logits = o.logits !== undefined ? toMatrix(where, 'logits', o.logits) : randn(c, n, n, { seed }, where);
    if (logits.rows !== n || logits.cols !== n) fail('ERR_SHAPE', where, `logits must be ${n}x${n}, got ${logits.rows}x${logits.cols}`);
  } else if (mode === 'factorized') {
    const f = optInt(where, 'factors', o.factors, DEFAULTS['synthesizer.factors'], 1, 1 << 16);
    const R1 = randn(c, n, f, { seed }, where), R2 = randn(c, f, n, { seed: seed + 1 }, where);
    logits = matmulOf(c, where, R1, R2, 1 / Math.sqrt(f), ['R1', 'R2']);
  } else {
    const d = X.cols;
    const H = matmulOf(c, where, X, gaussian(c, where, d, d, seed, 1 / Math.sqrt(d)), 1, ['x', 'W1']);
    for (let i = 0; i < H.data.length; i++) H.data[i] = Math.max(0, H.data[i]);
    logits = matmulOf(c, where, H, gaussian(c, where, d, n, seed + 1, 1 / Math.sqrt(d)), 1, ['hidden', 'W2']);
  }
  if (mix > 0) {
    const Q = o.q !== undefined ? toMatrix(where, 'q', o.q) : X;
    const K = o.k !== undefined ? toMatrix(where, 'k', o.k) : X;
    if (Q.rows !== n || K.rows !== n || Q.cols !== K.cols) fail('ERR_SHAPE', where, `q and k must be ${n} x d`);
    const scale = optNumber(where, 'scale', o.scale, derivedDefault(c, where, 'scale', Q.cols));
    const dot = run(c, where, (heap) => {
      const what = `${shapeOf('q', Q)}, ${shapeOf('k', K)}, scale ${scale}`;
      const out = heap.alloc(n * n * 4, 'the dot products');
      const work = heap.workspace('softmax_weights_workspace', what, n, n, Q.cols);
      heap.call('matmul_nt', what, n, n, Q.cols, scale, heap.f32(Q.data, 'q'), heap.f32(K.data, 'k'), out, work.ptr, work.floats);
      return heap.readF32(out, n * n);
    });
    logits = { ...logits, data: logits.data.map((s, i) => (1 - mix) * s + mix * dot[i]) };
  }
  const weights = softmaxRows(c, where, logits, causal);
  return { weights, output: matmulOf(c, where, weights, V, 1, ['weights', 'v']), logits };
}

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

const concat = (where, a, b) => {
  const out = newF32(where, 'the keys', a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/**
 * Sinkhorn attention (Tay et al. 2020): keys in blocks of `block`; block
 * summaries psi (sums) of k give R = relu(psi W_P) (W_P seeded N(0, 1/d)),
 * Sinkhorn-normalised (iterations, tau) to S; sorted blocks K_s = S
 * blocks(K), likewise V. Each query block attends to its sorted block and
 * its own block (causal: summaries are cumulative and S is a row softmax
 * over strictly earlier blocks instead of Sinkhorn, whose column step would
 * let later blocks change earlier rows; block 0 has no sorted part, and the
 * own block is masked to j <= i); with `sortcut` n_s > 0 every query attends
 * to the first n_s sorted blocks instead (SortCut). Returns { S, permutation
 * (a greedy assignment from S), weights, output, effective (n x m),
 * blockMask (the blocks each query block reads, n x m) }.
 */
export function sinkhornAttention(c, q, k, v, opts, where = 'sinkhornAttention') {
  required(where, v);
  const { Q, K, V } = toQKV(where, q, k, v);
  const o = options(where, opts, ['block', 'iterations', 'tau', 'seed', 'causal', 'sortcut', 'scale']);
  const n = Q.rows, m = K.rows, d = Q.cols, dv = V.cols;
  if (n !== m) fail('ERR_SHAPE', where, `queries and keys must have the same length (${n} != ${m})`);
  const b = optInt(where, 'block', o.block, DEFAULTS['sinkhornAttention.block'], 1, n);
  if (n % b !== 0) fail('ERR_RANGE', where, `block ${b} does not divide n = ${n}`);
  const nb = n / b;
  const iterations = optInt(where, 'iterations', o.iterations, DEFAULTS['sinkhornAttention.iterations'], 0, 10000);
  const tau = optNumber(where, 'tau', o.tau, DEFAULTS['sinkhornAttention.tau'], { min: 0, above: true });
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  const causal = optBool(where, 'causal', o.causal, false);
  const sortcut = optInt(where, 'sortcut', o.sortcut, DEFAULTS['sinkhornAttention.sortcut'], 0, nb);
  const scale = optNumber(where, 'scale', o.scale, derivedDefault(c, where, 'scale', d));
  const width = sortcut > 0 ? sortcut * b : 2 * n;
  checkPlan(where, [['the sorted keys and values', width * (d + dv), 4], ['the block mask', sortcut > 0 ? 0 : n * 2 * n, 1],
    ['the weights', n * width, 4], ['the effective matrix', n * m, 4], ['blockMask', n * m, 1]]);
  const psi = pool(c, where, K, new Float32Array(b).fill(1), 'k');
  if (causal) {  // cumulative summaries: block i's summary sees blocks <= i only
    for (let t = 1; t < nb; t++) for (let l = 0; l < d; l++) psi.data[t * d + l] += psi.data[(t - 1) * d + l];
  }
  const R = matmulOf(c, where, psi, gaussian(c, where, d, nb, seed, 1 / Math.sqrt(d)), 1, ['block summaries', 'W_P']);
  for (let i = 0; i < R.data.length; i++) R.data[i] = Math.max(0, R.data[i]);
  // Causal: Sinkhorn's column step would let later blocks change earlier
  // rows, so each block's row is a softmax over strictly earlier blocks
  // (block 0 reads no sorted block); otherwise the Sinkhorn operator.
  const S = causal
    ? softmaxRows(c, where, { ...R, data: R.data.map((x) => x / tau) }, false,
      { rows: nb, cols: nb, data: Uint8Array.from({ length: nb * nb }, (_, t) => (t % nb < Math.floor(t / nb) ? 1 : 0)) })
    : sinkhornOf(c, where, R, iterations, tau, false);
  const blocks = (X) => ({ rows: nb, cols: b * X.cols, data: X.data });  // row t = block t, flattened
  const Ks = matmulOf(c, where, S, blocks(K), 1, ['S', 'k blocks']), Vs = matmulOf(c, where, S, blocks(V), 1, ['S', 'v blocks']);
  let keys, values, mask = null;
  if (sortcut > 0) {
    keys = { rows: sortcut * b, cols: d, data: Ks.data.subarray(0, sortcut * b * d) };
    values = { rows: sortcut * b, cols: dv, data: Vs.data.subarray(0, sortcut * b * dv) };
  } else {
    keys = { rows: 2 * n, cols: d, data: concat(where, Ks.data, K.data) };
    values = { rows: 2 * n, cols: dv, data: concat(where, Vs.data, V.data) };
    mask = { rows: n, cols: 2 * n, data: newU8(where, 'the block mask', n * 2 * n) };
    for (let i = 0; i < n; i++) {
      const bi = Math.floor(i / b);
      for (let t = 0; t < b; t++) {
        mask.data[i * 2 * n + bi * b + t] = !causal || bi > 0 ? 1 : 0;               // sorted block bi
        mask.data[i * 2 * n + n + bi * b + t] = !causal || bi * b + t <= i ? 1 : 0;   // own block
      }
    }
  }
  const weights = softmaxWeights(c, Q, keys, { scale, mask }, where);
  const output = softmaxAttention(c, Q, keys, values, { scale, mask }, where);
  // The n x m matrix applied to V: sorted rows are S-mixtures of the blocks' rows.
  const effective = { rows: n, cols: m, data: newF32(where, 'the effective matrix', n * m) };
  const blockMask = { rows: n, cols: m, data: newU8(where, 'blockMask', n * m) };
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
export function funnelAttention(c, q, k, v, opts, where = 'funnelAttention') {
  required(where, v);
  const { Q, K, V } = toQKV(where, q, k, v);
  const o = options(where, opts, ['stride', 'scale']);
  const stride = optInt(where, 'stride', o.stride, DEFAULTS['funnelAttention.stride'], 1, Q.rows);
  const scale = optNumber(where, 'scale', o.scale, derivedDefault(c, where, 'scale', Q.cols));
  const queries = meanPool(c, where, Q, stride, 'q');
  const weights = softmaxWeights(c, queries, K, { scale }, where);
  return { queries, weights, output: softmaxAttention(c, queries, K, V, { scale }, where) };
}
