// Fast weight memory: the sum, delta and gated delta recurrences against
// float64 references written from their definitions (docs/mechanisms.md,
// "Fast weight memory"), recorded states and retrieval errors, exact storage of orthonormal
// keys, and the capacity experiment's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { matrix, featureMapRef } from './reference.mjs';
import { EXACT_RETRIEVAL, F32_CHAIN, F32_REL, ZERO_FLOOR } from './tolerances.mjs';

const A = await createAttn();
const S = await createAttn({ kernels: 'scalar' });

const rowOf = (m, t) => Array.from(m.data.subarray(t * m.cols, (t + 1) * m.cols));
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

/**
 * The recurrences in float64 on float64 features: W [dv][dim] from 0;
 * sum: W += v phi^T; delta: W += beta (v - W phi) phi^T; gated: W *= alpha first.
 * Returns { outputs: rows, states: W after each step, errors: [t][s] }.
 */
function fastWeightsRef(fk, fq, values, { rule, beta = () => 1, alpha = () => 1 }) {
  const T = fk.length, dim = fk[0].length, dv = values.cols;
  let W = Array.from({ length: dv }, () => new Float64Array(dim));
  const outputs = [], states = [], errors = [];
  for (let t = 0; t < T; t++) {
    const v = rowOf(values, t), phi = fk[t];
    if (rule === 'gated-delta') W = W.map((row) => row.map((x) => x * alpha(t)));
    const vbar = W.map((row) => dot(row, phi));
    for (let r = 0; r < dv; r++) {
      const a = rule === 'sum' ? v[r] : beta(t) * (v[r] - vbar[r]);
      for (let f = 0; f < dim; f++) W[r][f] += a * phi[f];
    }
    outputs.push(W.map((row) => dot(row, fq[t])));
    states.push(W.map((row) => Float64Array.from(row)));
    errors.push(Array.from({ length: T }, (_, s) => (s > t ? 0
      : 0.5 * W.reduce((acc, row, r) => acc + (values.data[s * dv + r] - dot(row, fk[s])) ** 2, 0))));
  }
  return { outputs, states, errors };
}

/** |got - want| <= rel * scale elementwise, scale = largest |want| in the row. */
function closeRows(got, wantRows, rel, what) {
  wantRows.forEach((want, i) => {
    const scale = Math.max(ZERO_FLOOR, ...want.map(Math.abs));
    for (let c = 0; c < want.length; c++) {
      const g = got[i * want.length + c];
      if (!(Math.abs(g - want[c]) <= rel * scale)) assert.fail(`${what}: [${i}][${c}] = ${g}, want ${want[c]}`);
    }
  });
}

test('delta rule with identity features and l2 normalisation is DeltaNet (float64 recurrence)', () => {
  for (const [T, d, dv] of [[1, 3, 2], [17, 8, 5], [40, 16, 33]]) {
    const keys = matrix(T, d, 1), values = matrix(T, dv, 2), queries = matrix(T, d, 3);
    const beta = Array.from({ length: T }, (_, t) => (t % 5) / 4);
    // DeltaNet: S_t = S_{t-1} + k_t [beta_t (v_t - S_{t-1}^T k_t)]^T, o_t = S_t^T q_t (k, q unit length).
    const unit = (x) => { const n = Math.hypot(...x); return x.map((v) => v / n); };
    let St = Array.from({ length: d }, () => new Float64Array(dv));
    const want = [];
    for (let t = 0; t < T; t++) {
      const k = unit(rowOf(keys, t)), q = unit(rowOf(queries, t)), v = rowOf(values, t);
      const retrieved = Array.from({ length: dv }, (_, c) => St.reduce((a, row, l) => a + row[c] * k[l], 0));
      St = St.map((row, l) => row.map((x, c) => x + k[l] * beta[t] * (v[c] - retrieved[c])));
      want.push(Array.from({ length: dv }, (_, c) => St.reduce((a, row, l) => a + row[c] * q[l], 0)));
    }
    for (const B of [A, S]) {
      const r = B.fastWeights({ keys, values, queries, rule: 'delta', beta, feature: 'identity', normalize: 'l2' });
      assert.equal(r.dim, d);
      closeRows(r.outputs.data, want, F32_REL, `${B.kernels} T=${T}`);
      // final W = S^T
      closeRows(r.final.data, Array.from({ length: dv }, (_, c) => St.map((row) => row[c])), F32_REL, 'final');
    }
  }
});

test('sum rule with sum-normalised features is causal linear attention without its denominator', () => {
  const [T, d, dv] = [30, 6, 4];
  const keys = matrix(T, d, 4), values = matrix(T, dv, 5), queries = matrix(T, d, 6);
  for (const [feature, nu] of [['dpfp', 1], ['dpfp', 3], ['elu+1', 1]]) {
    const fk = featureMapRef(keys, { feature, nu, normalize: 'sum', role: 'key' });
    const fq = featureMapRef(queries, { feature, nu, normalize: 'sum' });
    const want = Array.from({ length: T }, (_, t) => Array.from({ length: dv }, (_, c) => {
      let y = 0;
      for (let s = 0; s <= t; s++) y += values.data[s * dv + c] * dot(fk[s], fq[t]);
      return y;
    }));
    const r = A.fastWeights({ keys, values, queries, rule: 'sum', feature, nu, normalize: 'sum' });
    closeRows(r.outputs.data, want, F32_REL, `${feature} nu=${nu}`);
  }
});

test('recorded states, retrieval errors and the gated delta rule match float64', () => {
  const [T, d, dv] = [20, 5, 3];
  const keys = matrix(T, d, 7), values = matrix(T, dv, 8);
  const alpha = Array.from({ length: T }, (_, t) => 0.5 + (t % 3) / 4);
  for (const rule of ['sum', 'delta', 'gated-delta']) {
    const opts = { feature: 'dpfp', nu: 2, normalize: 'sum' };
    const fk = featureMapRef(keys, { ...opts, role: 'key' }), fq = featureMapRef(keys, opts);
    const ref = fastWeightsRef(fk, fq, values, { rule, beta: () => 0.7, alpha: (t) => alpha[t] });
    const r = A.fastWeights({ keys, values, rule, beta: 0.7, alpha, ...opts, record: 'all', errors: true });
    const dim = r.dim;
    assert.equal(r.states.length, T * dv * dim);
    for (let t = 0; t < T; t++) {
      closeRows(r.states.subarray(t * dv * dim, (t + 1) * dv * dim), ref.states[t].map((row) => Array.from(row)), F32_REL,
        `${rule} state ${t}`);
    }
    assert.deepEqual(r.states.subarray((T - 1) * dv * dim), r.final.data, 'the recorded states end at the final state');
    closeRows(r.outputs.data, ref.outputs, F32_REL, `${rule} outputs`);
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < T; s++) {
        const got = r.errors.data[t * T + s], want = ref.errors[t][s];
        assert.ok(Math.abs(got - want) <= F32_CHAIN * Math.max(1, want), `${rule} error [${t}][${s}] ${got} vs ${want}`);
      }
    }
  }
  const delta = A.fastWeights({ keys, values, rule: 'delta', beta: 0.7 });
  const gated = A.fastWeights({ keys, values, rule: 'gated-delta', beta: 0.7, alpha: 1 });
  assert.deepEqual(gated.outputs, delta.outputs, 'alpha = 1 is the delta rule');
});

test('orthonormal keys with beta = 1 are retrieved exactly by both rules', () => {
  const d = 16;
  const basis = A.randomFeatures(d, d, { seed: 3 });  // orthogonal rows, then unit length below
  const keys = { rows: d, cols: d, data: Float32Array.from(basis.data) };
  for (let t = 0; t < d; t++) {
    const n = Math.hypot(...rowOf(basis, t));
    for (let l = 0; l < d; l++) keys.data[t * d + l] /= n;
  }
  const values = matrix(d, 5, 9);
  for (const rule of ['sum', 'delta']) {
    const r = A.fastWeights({ keys, values, rule, feature: 'identity', normalize: 'none', errors: true });
    const last = r.errors.data.subarray((d - 1) * d, d * d);
    assert.ok(last.every((e) => e < EXACT_RETRIEVAL), `${rule}: every key retrieved (${Math.max(...last)})`);
  }
});

test('capacity: the sum rule fails past S = d_phi, the delta rule degrades gracefully, DPFP-2/3 hold longer', () => {
  const sizes = [1, 16, 32, 64, 128, 256, 400];
  const curve = (opts) => A.capacity({ dKey: 64, sizes, trials: 3, seed: 1, ...opts }).map((r) => r.error);
  const identitySum = curve({ feature: 'identity', rule: 'sum' });   // d_phi = 64
  assert.ok(identitySum[0] < EXACT_RETRIEVAL, 'one pair is stored exactly');
  for (let i = 1; i < sizes.length; i++) assert.ok(identitySum[i] > identitySum[i - 1], 'error grows with S');
  assert.ok(identitySum[2] < 0.5 && identitySum[4] > 0.5, `fails between S = 32 and 128: ${identitySum}`);
  const identityDelta = curve({ feature: 'identity', rule: 'delta' });
  for (let i = 4; i < sizes.length; i++) assert.ok(identityDelta[i] < identitySum[i], `delta below sum at S=${sizes[i]}`);
  assert.ok(identityDelta[6] < 1 && identitySum[6] > 2,
    `at S = 400 the delta rule stays bounded (${identityDelta[6]}) while the sum rule's error keeps growing (${identitySum[6]})`);
  const dpfp = [1, 2, 3].map((nu) => ({ sum: curve({ feature: 'dpfp', nu, rule: 'sum' }), delta: curve({ feature: 'dpfp', nu, rule: 'delta' }) }));
  for (let i = 3; i < sizes.length; i++) {
    for (const rule of ['sum', 'delta']) {
      assert.ok(dpfp[1][rule][i] < dpfp[0][rule][i] && dpfp[2][rule][i] < dpfp[1][rule][i],
        `${rule} S=${sizes[i]}: DPFP-3 < DPFP-2 < DPFP-1 (${dpfp.map((c) => c[rule][i].toFixed(3))})`);
    }
  }
  assert.deepEqual(A.capacity({ sizes: [50], seed: 4 }), A.capacity({ sizes: [50], seed: 4 }), 'reproducible');
});

test('bad fast weight inputs throw AttnError with their codes', () => {
  const keys = matrix(6, 4, 1), values = matrix(6, 2, 2);
  const cases = [
    [() => A.fastWeights({ keys, values, beta: 1.5 }), 'ERR_RANGE'],
    [() => A.fastWeights({ keys, values, beta: -0.1 }), 'ERR_RANGE'],
    [() => A.fastWeights({ keys, values, beta: [1, 1, 1] }), 'ERR_SHAPE'],
    [() => A.fastWeights({ keys, values, beta: [1, 1, 1, 1, 1, 2] }), 'ERR_RANGE'],
    [() => A.fastWeights({ keys, values, beta: 'high' }), 'ERR_TYPE'],
    [() => A.fastWeights({ keys, values, rule: 'gated-delta', alpha: 2 }), 'ERR_RANGE'],
    [() => A.fastWeights({ keys, values, rule: 'hebbian' }), 'ERR_KIND'],
    [() => A.fastWeights({ keys, values: matrix(5, 2, 2) }), 'ERR_SHAPE'],
    [() => A.fastWeights({ keys, values, queries: matrix(6, 3, 3) }), 'ERR_SHAPE'],
    [() => A.fastWeights({ keys }), 'ERR_TYPE'],
    [() => A.fastWeights({ keys, values, record: 'some' }), 'ERR_KIND'],
    [() => A.fastWeights({ keys, values, normalize: 'max' }), 'ERR_KIND'],
    [() => A.fastWeights({ keys, values, feature: 'dpfp', nu: 0 }), 'ERR_RANGE'],
    [() => A.fastWeights({ keys: { rows: 6, cols: 4, data: new Float32Array(24).fill(NaN) }, values }), 'ERR_NONFINITE'],
    [() => A.capacity({ sizes: [0] }), 'ERR_RANGE'],
    [() => A.capacity({ sizes: 'all' }), 'ERR_TYPE'],
    [() => A.capacity({ rule: 'oja' }), 'ERR_KIND'],
    [() => A.capacity({ beta: 3 }), 'ERR_RANGE'],
    [() => A.capacity({ dKey: 0 }), 'ERR_RANGE'],
  ];
  for (const [call, code] of cases) {
    assert.throws(call, (err) => err instanceof AttnError && err.code === code, `expected ${code}: ${call}`);
  }
  assert.equal(A.fastWeights({ keys, values }).outputs.rows, 6, 'the instance still works');
});
