// The backward of linear attention through the JS API: linearAttentionBackward
// against central differences of a float64 forward built here from
// tests/reference.mjs's feature maps (featureMapRef) — every map, every
// normalisation, causal and not, n != m — and its errors.
//
// Tolerance (the native tests, tests/native/test_backward_linear.c, derive
// the same): a component of a float32 gradient is a chain of sums of at most
// K = n + m + dim + dv + d terms, each within K U of the sum of its |terms|;
// those terms are the two parts of dL = d(sum c.num) + d(sum e den) (c, e
// frozen at the point), which cancel where a gradient is small. So
// |got - fd| <= GRAD_PER_TERM K max(|part 1| + |part 2|) + FD_ABS, with
// GRAD_PER_TERM = 16 U (a factor 4 for the cancellation inside dphi and 4 for
// exp and division roundings in the maps), FD_ABS for the difference's own
// error (step 1e-5: truncation ~1e-10, rounding ~1e-11).
//
// The Performer maps run with eps = 0 here: then the output does not depend on
// the stabilisers (they scale a query row, or every key, by one factor), so
// the differences of the forward as computed — stabilisers moving with the
// input — must equal the gradient the core defines with them held constant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { featureMapRef, matrix } from './reference.mjs';
import { U } from './tolerances.mjs';

const A = await createAttn();
const S = await createAttn({ kernels: 'scalar' });

const GRAD_PER_TERM = 16 * U;
const FD_ABS = 1e-8;
const STEP = 1e-5;

/** Inputs 0.05 .. 1 times amplitude in size (away from the kinks at 0), positive when asked. */
function inputs(rows, cols, seed, { amplitude = 1, positive = false } = {}) {
  const x = matrix(rows, cols, seed);
  x.data = x.data.map((u) => {
    const mag = (0.05 + 0.95 * Math.abs(u)) * amplitude;
    return positive || u >= 0 ? mag : -mag;
  });
  return x;
}

/** L = sum dy.y and its two parts, in float64, from q, k (Float64 data) and v. */
function losses(q, k, v, dy, opts, frozen) {
  const { causal, eps } = opts;
  const P = featureMapRef(q, { ...opts, role: 'query' }), F = featureMapRef(k, { ...opts, role: 'key' });
  const [n, m, dv, dim] = [q.rows, k.rows, v.cols, P[0].length];
  const L = [0, 0, 0];
  const num = [], den = [];
  for (let i = 0; i < n; i++) {
    const seen = causal ? Math.min(i + 1, m) : m;
    let d = eps;
    const row = new Float64Array(dv);
    for (let j = 0; j < seen; j++) {
      let a = 0;
      for (let f = 0; f < dim; f++) a += P[i][f] * F[j][f];
      d += a;
      for (let c = 0; c < dv; c++) row[c] += a * v.data[j * dv + c];
    }
    num.push(row), den.push(d);
    for (let c = 0; c < dv; c++) {
      L[0] += d === 0 ? 0 : dy.data[i * dv + c] * row[c] / d;
      if (frozen) L[1] += frozen.c[i * dv + c] * row[c];
    }
    if (frozen) L[2] += frozen.e[i] * d;
  }
  return { L, num, den };
}

/** Entries to difference: all when few, else the first and last 8 and an even spread of 16. */
const picks = (count) => (count <= 32 ? [...Array(count).keys()]
  : [...Array(8).keys(), ...Array.from({ length: 8 }, (_, t) => count - 8 + t),
    ...Array.from({ length: 16 }, (_, t) => 8 + Math.floor(t * (count - 16) / 16))]);

/** The largest error / allowed over dq, dk, dv (<= 1 passes). */
function gradientExcess(B, q, k, v, dy, opts, refOpts) {
  const got = B.linearAttentionBackward(q, k, v, dy, opts);
  const wide = (x) => ({ rows: x.rows, cols: x.cols, data: Float64Array.from(x.data) });
  const [Q, K, V] = [wide(q), wide(k), wide(v)];
  const base = losses(Q, K, V, dy, refOpts);
  const frozen = { c: new Float64Array(q.rows * v.cols), e: new Float64Array(q.rows) };
  base.den.forEach((d, i) => {
    let gy = 0;
    for (let c = 0; c < v.cols; c++) {
      frozen.c[i * v.cols + c] = d === 0 ? 0 : dy.data[i * v.cols + c] / d;
      gy += d === 0 ? 0 : dy.data[i * v.cols + c] * base.num[i][c] / d;
    }
    frozen.e[i] = d === 0 ? 0 : -gy / d;
  });
  const dim = featureMapRef({ rows: 1, cols: q.cols, data: Q.data.subarray(0, q.cols) }, refOpts)[0].length;
  const K_TERMS = q.rows + k.rows + dim + v.cols + q.cols;
  let worst = 0;
  for (const [name, X, step] of [['dq', Q, STEP], ['dk', K, STEP], ['dv', V, 1]]) {
    const fd = [], terms = [];
    const idx = picks(X.data.length);
    for (const e of idx) {
      const x0 = X.data[e];
      X.data[e] = x0 + step;
      const plus = losses(Q, K, V, dy, refOpts, frozen).L;
      X.data[e] = x0 - step;
      const minus = losses(Q, K, V, dy, refOpts, frozen).L;
      X.data[e] = x0;
      const part = plus.map((p, t) => (p - minus[t]) / (2 * step));
      fd.push(part[0]), terms.push(Math.abs(part[1]) + Math.abs(part[2]));
    }
    const scale = Math.max(...fd.map(Math.abs), ...terms);
    const allowed = GRAD_PER_TERM * K_TERMS * scale + FD_ABS;
    assert.deepEqual([got[name].rows, got[name].cols], [X.rows, X.cols], name);
    idx.forEach((e, t) => {
      const err = Math.abs(got[name].data[e] - fd[t]);
      worst = Math.max(worst, Number.isNaN(err) ? Infinity : err / allowed);
    });
  }
  return worst;
}

const FEATURES = ['identity', 'elu+1', 'relu', 'taylor', 'efficient', 'favor+', 'favor-trig', 'favor-hyp', 'dpfp'];
const PERFORMER = (feature) => feature.startsWith('favor');

for (const feature of FEATURES) {
  test(`${feature}: linearAttentionBackward equals central differences (causal and not, every normalize, n != m)`, () => {
    const positive = feature === 'identity' || feature === 'taylor';
    const amplitude = feature === 'favor-trig' ? 0.5 : 1;
    let seed = 1;
    for (const [n, m, d, dv] of [[1, 1, 1, 1], [4, 4, 8, 3], [17, 17, 8, 2], [5, 3, 4, 2], [3, 17, 4, 3], [70, 70, 3, 2]]) {
      for (const causal of [false, true]) {
        if (causal && feature === 'efficient') continue;
        for (const normalize of ['none', 'sum', 'l2']) {
          if (normalize === 'sum' && feature === 'favor-trig') continue;  // signed features: a sum near 0
          if (n === 70 && normalize !== 'none') continue;
          const q = inputs(n, d, seed++, { amplitude, positive }), k = inputs(m, d, seed++, { amplitude, positive });
          const v = inputs(m, dv, seed++), dy = inputs(n, dv, seed++);
          const projection = PERFORMER(feature) ? A.randomFeatures(8, d, { seed }) : undefined;
          const nu = feature === 'dpfp' ? Math.min(2, 2 * d - 1) : 1;
          const eps = PERFORMER(feature) ? 0 : 1e-6;
          const opts = { feature, causal, normalize, eps, ...(projection ? { projection } : {}), ...(feature === 'dpfp' ? { nu } : {}) };
          const refOpts = { feature, causal, normalize, eps, projection, nu };
          for (const B of n === 17 ? [A, S] : [A]) {
            const excess = gradientExcess(B, q, k, v, dy, opts, refOpts);
            assert.ok(excess <= 1, `${B.kernels} n=${n} m=${m} d=${d} dv=${dv} causal=${causal} normalize=${normalize}: ${excess}`);
          }
        }
      }
    }
  });
}

test('dv is kernelWeights^T dy (the gradient of a linear map), with the same seeded projection', () => {
  const q = matrix(9, 6, 1), k = matrix(7, 6, 2), v = matrix(7, 3, 3), dy = matrix(9, 3, 4);
  for (const opts of [{ feature: 'favor+', features: 16, seed: 5 }, { feature: 'dpfp', nu: 2, causal: true }]) {
    const W = A.kernelWeights(q, k, opts);
    const { dv } = A.linearAttentionBackward(q, k, v, dy, opts);
    for (let j = 0; j < 7; j++) {
      for (let c = 0; c < 3; c++) {
        let want = 0, mag = 0;
        for (let i = 0; i < 9; i++) {
          want += W.data[i * 7 + j] * dy.data[i * 3 + c];
          mag += Math.abs(W.data[i * 7 + j] * dy.data[i * 3 + c]);
        }
        // two float32 results (W and dv), each within ~(n + dim) U of its terms
        assert.ok(Math.abs(dv.data[j * 3 + c] - want) <= GRAD_PER_TERM * 64 * mag + 1e-12, `${opts.feature} ${j} ${c}`);
      }
    }
  }
});

test('a zero-denominator row gives zero gradients, not NaN', () => {
  // identity, eps 0: q row 0 = (1, -1) against z = k0 + k1 = (1, 1) has denominator 0 (output 0)
  const q = [[1, -1], [0.5, 1]], k = [[0.5, 0.25], [0.5, 0.75]], v = [[1, 2], [3, 4]], dy = [[1, -1], [2, 0.5]];
  const g = A.linearAttentionBackward(q, k, v, dy, { feature: 'identity', eps: 0 });
  assert.deepEqual(Array.from(g.dq.data.subarray(0, 2)), [0, 0]);
  for (const M of [g.dq, g.dk, g.dv]) assert.ok(M.data.every(Number.isFinite));
});

test('linearAttentionBackward: bad arguments give AttnError with stable codes', () => {
  const q = matrix(3, 4, 1), k = matrix(5, 4, 2), v = matrix(5, 2, 3), dy = matrix(3, 2, 4);
  const throwsCode = (fn, code, text) => assert.throws(fn, (e) => e instanceof AttnError && e.code === code
    && e.message.startsWith('linearAttentionBackward: ') && (!text || e.message.includes(text)), code);
  throwsCode(() => A.linearAttentionBackward(q, k, v), 'ERR_TYPE', 'dy is required');
  throwsCode(() => A.linearAttentionBackward(q, k, v, matrix(3, 3, 4)), 'ERR_SHAPE', 'dy is 3x3');
  throwsCode(() => A.linearAttentionBackward(q, k, v, matrix(2, 2, 4)), 'ERR_SHAPE', 'dy is 2x2');
  throwsCode(() => A.linearAttentionBackward(q, matrix(5, 3, 2), v, dy), 'ERR_SHAPE');
  throwsCode(() => A.linearAttentionBackward(q, k, v, [[1, NaN], [0, 0], [0, 0]]), 'ERR_NONFINITE', 'dy');
  throwsCode(() => A.linearAttentionBackward(q, k, v, dy, { feature: 'efficient', causal: true }), 'ERR_RANGE');
  throwsCode(() => A.linearAttentionBackward(q, k, v, dy, { feature: 'elu1' }), 'ERR_KIND');
  throwsCode(() => A.linearAttentionBackward(q, k, v, dy, { casual: true }), 'ERR_OPTION', 'casual');
  throwsCode(() => A.linearAttentionBackward(q, k, v, dy, { eps: -1 }), 'ERR_RANGE');
  throwsCode(() => A.linearAttentionBackward(q, k, v, dy, { feature: 'dpfp', nu: 8 }), 'ERR_RANGE');
  throwsCode(() => A.linearAttentionBackward(q, k, v, [[3e38, 3e38], [3e38, 3e38], [3e38, 3e38]],
    { feature: 'identity', eps: 0 }), 'ERR_OVERFLOW');
});

// ------------------------------------------------------------ fast weights
//
// fastWeightsBackward against central differences of the memory's recurrence
// in float64 (written here from attn.h's definition, features from
// featureMapRef). Tolerance: the five gradients are sums of products of the
// same factors (g, v, W, phi and its derivative), so one scale, the largest
// of them, bounds every gradient's terms; K = T + dim + dv + d as above.

/** L = sum g.y of the memory in float64. beta, alpha: arrays of T. */
function fastLoss(keys, values, queries, beta, alpha, g, { rule, feature, normalize, nu }) {
  const opts = { feature, normalize, nu };
  const F = featureMapRef(keys, { ...opts, role: 'key' }), P = featureMapRef(queries, { ...opts, role: 'query' });
  const [T, dv, dim] = [keys.rows, values.cols, F[0].length];
  const W = Array.from({ length: dv }, () => new Float64Array(dim));
  let L = 0;
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < dv; r++) {
      if (rule === 'gated-delta') for (let f = 0; f < dim; f++) W[r][f] *= alpha[t];
      let e = values.data[t * dv + r];
      if (rule !== 'sum') e = beta[t] * (e - W[r].reduce((a, w, f) => a + w * F[t][f], 0));
      for (let f = 0; f < dim; f++) W[r][f] += e * F[t][f];
      L += g.data[t * dv + r] * W[r].reduce((a, w, f) => a + w * P[t][f], 0);
    }
  }
  return L;
}

for (const rule of ['sum', 'delta', 'gated-delta']) {
  test(`fastWeightsBackward, ${rule} rule: every gradient equals central differences`, () => {
    let seed = 500;
    for (const [feature, normalize] of [['dpfp', 'sum'], ['elu+1', 'l2'], ['identity', 'l2'], ['relu', 'sum']]) {
      for (const [T, d, dv, separate] of [[1, 3, 2, true], [5, 4, 3, false], [17, 8, 2, true], [40, 3, 3, false]]) {
        const keys = inputs(T, d, seed++), values = inputs(T, dv, seed++), g = inputs(T, dv, seed++);
        const queries = separate ? inputs(T, d, seed++) : null;
        const u = matrix(2, T, seed++).data;
        const beta = Array.from({ length: T }, (_, t) => 0.6 + 0.4 * Math.abs(u[t]));
        const alpha = Array.from({ length: T }, (_, t) => 0.75 + 0.25 * Math.abs(u[T + t]));
        const nu = feature === 'dpfp' ? 2 : 1;
        const opts = { keys, values, queries, rule, beta, alpha, feature, normalize, ...(feature === 'dpfp' ? { nu } : {}) };
        const got = A.fastWeightsBackward(opts, g);
        assert.equal(got.dqueries === null, !separate);
        const wide = (x) => ({ rows: x.rows, cols: x.cols, data: Float64Array.from(x.data) });
        const K64 = wide(keys), V64 = wide(values), Q64 = separate ? wide(queries) : K64;
        const b64 = Float64Array.from(beta, Math.fround), a64 = Float64Array.from(alpha, Math.fround);
        const ref = { rule, feature, normalize, nu };
        const L = () => fastLoss(K64, V64, Q64, b64, a64, g, ref);
        const tensors = [['dkeys', K64.data], ['dvalues', V64.data], ...(separate ? [['dqueries', Q64.data]] : []),
          ['dbeta', b64], ['dalpha', a64]];
        const fds = tensors.map(([name, x]) => [name, picks(x.length).map((e) => {
          const x0 = x[e];
          x[e] = x0 + STEP;
          const plus = L();
          x[e] = x0 - STEP;
          const minus = L();
          x[e] = x0;
          return [e, (plus - minus) / (2 * STEP)];
        })]);
        const largest = Math.max(...fds.flatMap(([, list]) => list.map(([, fd]) => Math.abs(fd))));
        const dim = featureMapRef({ rows: 1, cols: d, data: K64.data.subarray(0, d) }, ref)[0].length;
        const allowed = GRAD_PER_TERM * (T + dim + dv + d) * largest + FD_ABS;
        for (const [name, list] of fds) {
          const data = name === 'dbeta' || name === 'dalpha' ? got[name] : got[name].data;
          for (const [e, fd] of list) {
            assert.ok(Math.abs(data[e] - fd) <= allowed,
              `${feature}/${normalize} T=${T} d=${d} ${name}[${e}]: got ${data[e]}, differences ${fd} (allowed ${allowed})`);
          }
        }
        // scalar beta and alpha: their gradients are the sums over the steps
        const scalar = A.fastWeightsBackward({ ...opts, beta: 0.8, alpha: 0.9 }, g);
        const steps = A.fastWeightsBackward({ ...opts, beta: new Array(T).fill(0.8), alpha: new Array(T).fill(0.9) }, g);
        assert.equal(typeof scalar.dbeta, 'number');
        assert.ok(Math.abs(scalar.dbeta - steps.dbeta.reduce((a, b) => a + b, 0)) <= T * U * steps.dbeta.reduce((a, b) => a + Math.abs(b), 0) + 1e-30);
        assert.ok(Math.abs(scalar.dalpha - steps.dalpha.reduce((a, b) => a + b, 0)) <= T * U * steps.dalpha.reduce((a, b) => a + Math.abs(b), 0) + 1e-30);
      }
    }
  });
}

test('fastWeightsBackward: bad arguments give AttnError with stable codes', () => {
  const keys = matrix(4, 3, 1), values = matrix(4, 2, 2), g = matrix(4, 2, 3);
  const throwsCode = (fn, code, text) => assert.throws(fn, (e) => e instanceof AttnError && e.code === code
    && e.message.startsWith('fastWeightsBackward: ') && (!text || e.message.includes(text)), code);
  throwsCode(() => A.fastWeightsBackward({ keys, values }), 'ERR_TYPE', 'dOutputs is required');
  throwsCode(() => A.fastWeightsBackward({ keys }, g), 'ERR_TYPE', 'keys and values');
  throwsCode(() => A.fastWeightsBackward({ keys, values }, matrix(4, 3, 3)), 'ERR_SHAPE', 'dOutputs is 4x3');
  throwsCode(() => A.fastWeightsBackward({ keys, values, record: 'all' }, g), 'ERR_OPTION', 'record');
  throwsCode(() => A.fastWeightsBackward({ keys, values, rule: 'hebb' }, g), 'ERR_KIND');
  throwsCode(() => A.fastWeightsBackward({ keys, values, beta: [1, 1] }, g), 'ERR_SHAPE', 'beta');
  throwsCode(() => A.fastWeightsBackward({ keys, values, beta: 2 }, g), 'ERR_RANGE');
  throwsCode(() => A.fastWeightsBackward({ keys, values, feature: 'efficient' }, g), 'ERR_RANGE');
  throwsCode(() => A.fastWeightsBackward({ keys, values }, [[0, 0], [Infinity, 0], [0, 0], [0, 0]]), 'ERR_NONFINITE', 'dOutputs');
});
