// Linformer, memory-compressed attention, Synthesizer, Sinkhorn attention
// (and SortCut) and Funnel pooling against float64 references written from
// docs/mechanisms.md ("Compressed, synthetic and sorted attention"); the Sinkhorn operator's row and column sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { matrix, softmaxWeightsRef, weightsExcess, outputsExcess } from './reference.mjs';
import { F32_CHAIN, F32_FEW_OPS, F32_REL, MATMUL_PER_TERM, NEAR_ONE, PRODUCT_OF_RESULTS, ROW_SUM, SINKHORN, STANDARD_ERRORS } from './tolerances.mjs';

const A = await createAttn();

/** float64 A B for row-major { rows, cols, data }. */
function mul(a, b) {
  const out = { rows: a.rows, cols: b.cols, data: new Float64Array(a.rows * b.cols) };
  for (let i = 0; i < a.rows; i++) for (let l = 0; l < a.cols; l++) {
    const x = a.data[i * a.cols + l];
    for (let j = 0; j < b.cols; j++) out.data[i * b.cols + j] += x * b.data[l * b.cols + j];
  }
  return out;
}

/** Row softmax of float64 logits with an allowed(i, j) rule. */
function softmaxOf(logits, allowed = () => true) {
  const { rows: n, cols: m } = logits, p = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let j = 0; j < m; j++) if (allowed(i, j)) mx = Math.max(mx, logits.data[i * m + j]);
    let s = 0;
    for (let j = 0; j < m; j++) s += p[i * m + j] = allowed(i, j) ? Math.exp(logits.data[i * m + j] - mx) : 0;
    for (let j = 0; j < m; j++) p[i * m + j] = s > 0 ? p[i * m + j] / s : 0;
  }
  return p;
}

const close = (got, want, tol, what) => {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) assert.fail(`${what}[${i}] = ${got[i]}, want ${want[i]}`);
  }
};

test('linformer: softmax over E K, applied to F V (given and seeded projections, shared E = F)', () => {
  const [n, d, dv, r] = [40, 8, 5, 6];
  const q = matrix(n, d, 1), k = matrix(n, d, 2), v = matrix(n, dv, 3);
  const E = matrix(r, n, 4, 0.3), F = matrix(r, n, 5, 0.3);
  const got = A.linformer(q, k, v, { E, F });
  const Kp = mul(E, k), Vp = mul(F, v);
  const ref = softmaxWeightsRef(q, Kp);
  assert.deepEqual([got.weights.rows, got.weights.cols], [n, r]);
  assert.equal(weightsExcess(got.weights.data, ref, F32_REL), 0);
  assert.equal(outputsExcess(got.output, ref, Vp, F32_REL), 0);
  close(got.effective.data, mul({ rows: n, cols: r, data: ref }, F).data, F32_CHAIN, 'effective = weights F');
  const shared = A.linformer(q, k, v, { rank: 4, shareKV: true, seed: 9 });
  assert.deepEqual(shared.F, shared.E);
  assert.equal(shared.E.rows, 4);
  const e = shared.E.data, variance = e.reduce((a, x) => a + x * x, 0) / e.length;
  assert.ok(Math.abs(variance - 1 / 4) < STANDARD_ERRORS * (1 / 4) * Math.sqrt(2 / e.length), `E ~ N(0, 1/rank): variance ${variance}`);
});

test('compressed attention: pooled keys and values, causal slots visible once complete', () => {
  const [n, d, dv, c] = [23, 6, 4, 4];  // 6 slots, the last one of 3 rows
  const q = matrix(n, d, 6), k = matrix(n, d, 7), v = matrix(n, dv, 8);
  const kernelK = [0.1, 0.2, 0.3, 0.4], kernelV = [1, -1, 0.5, 0];
  const pool = (x, w) => {
    const slots = Math.ceil(n / c), out = { rows: slots, cols: x.cols, data: new Float64Array(slots * x.cols) };
    for (let s = 0; s < slots; s++) for (let t = 0; t < c && s * c + t < n; t++) {
      for (let l = 0; l < x.cols; l++) out.data[s * x.cols + l] += w[t] * x.data[(s * c + t) * x.cols + l];
    }
    return out;
  };
  for (const causal of [false, true]) {
    const got = A.compressedAttention(q, k, v, { factor: c, kernelK, kernelV, causal });
    const Kp = pool(k, kernelK), Vp = pool(v, kernelV);
    const visible = (i, s) => !causal || Math.min(s * c + c, n) - 1 <= i;
    const mask = { rows: n, cols: 6, data: Uint8Array.from({ length: n * 6 }, (_, t) => (visible(Math.floor(t / 6), t % 6) ? 1 : 0)) };
    const ref = softmaxWeightsRef(q, Kp, { mask });
    assert.equal(weightsExcess(got.weights.data, ref, F32_REL), 0, `causal=${causal}`);
    assert.equal(outputsExcess(got.output, ref, Vp, F32_REL), 0, `causal=${causal}`);
    if (causal) assert.deepEqual([...got.output.data.subarray(0, 3 * dv)], new Array(3 * dv).fill(0), 'no complete slot yet');
  }
  const mean = A.compressedAttention(q, k, v, { factor: 5 });  // 23 = 4 slots of 5 and one of 3
  close(mean.keys.data.subarray(4 * d), Array.from({ length: d }, (_, l) => (k.data[20 * d + l] + k.data[21 * d + l] + k.data[22 * d + l]) / 3),
    F32_FEW_OPS, 'the short last slot is the mean of its own rows');
  for (let i = 0; i < n; i++) {
    const s = mean.effective.data.subarray(i * n, (i + 1) * n).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < ROW_SUM, 'with the mean kernel the effective rows sum to 1');
  }
});

test('synthesizer: random, factorized and dense logits, mixtures with dot products, causal', () => {
  const [n, d, dv] = [20, 6, 3];
  const x = matrix(n, d, 9), v = matrix(n, dv, 10), R = matrix(n, n, 11, 2);
  for (const causal of [false, true]) {
    for (const mix of [0, 0.3, 1]) {
      const got = A.synthesizer(x, v, { mode: 'random', logits: R, mix, causal });
      const dot = mul(x, { rows: d, cols: n, data: Float64Array.from({ length: d * n }, (_, t) => x.data[(t % n) * d + Math.floor(t / n)]) });
      const logits = { rows: n, cols: n, data: R.data.map((r, t) => (1 - mix) * r + mix * Math.fround(1 / Math.sqrt(d)) * dot.data[t]) };
      const ref = softmaxOf(logits, (i, j) => !causal || j <= i);
      assert.equal(weightsExcess(got.weights.data, ref, F32_REL), 0, `mix=${mix} causal=${causal}`);
      assert.equal(outputsExcess(got.output, ref, v, F32_REL), 0);
    }
  }
  for (const mode of ['factorized', 'dense']) {
    const a = A.synthesizer(x, v, { mode, seed: 3 }), b = A.synthesizer(x, v, { mode, seed: 3 });
    assert.deepEqual(a, b, `${mode} is reproducible`);
    const ref = softmaxOf({ rows: n, cols: n, data: Float64Array.from(a.logits.data) });
    assert.equal(weightsExcess(a.weights.data, ref, F32_REL), 0, mode);
    assert.equal(outputsExcess(a.output, ref, v, F32_REL), 0, mode);
  }
  // Dense logits depend on the token; random ones do not.
  const x2 = { ...x, data: x.data.map((t) => t + 1) };
  assert.notDeepEqual(A.synthesizer(x2, v, { mode: 'dense' }).logits, A.synthesizer(x, v, { mode: 'dense' }).logits);
  assert.deepEqual(A.synthesizer(x2, v, { mode: 'random' }).logits, A.synthesizer(x, v, { mode: 'random' }).logits);
});

test(`sinkhorn: rows and columns sum to 1 within ${ROW_SUM}; matches the float64 log-space iteration`, () => {
  const n = 8, L = matrix(n, n, 12, 3);
  const S = A.sinkhorn(L, { iterations: 200, tau: 1 });
  for (let i = 0; i < n; i++) {
    let row = 0, col = 0;
    for (let j = 0; j < n; j++) { row += S.data[i * n + j]; col += S.data[j * n + i]; }
    assert.ok(Math.abs(row - 1) < ROW_SUM && Math.abs(col - 1) < ROW_SUM, `row ${i}: ${row}, column ${i}: ${col}`);
  }
  const lse = (xs) => { const m = Math.max(...xs); return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0)); };
  for (const [iterations, tau] of [[1, 1], [3, 0.5], [10, 2]]) {
    let M = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => L.data[i * n + j] / Math.fround(tau)));
    for (let it = 0; it < iterations; it++) {
      M = M.map((row) => { const l = lse(row); return row.map((x) => x - l); });
      for (let j = 0; j < n; j++) { const l = lse(M.map((r) => r[j])); M.forEach((r) => { r[j] -= l; }); }
    }
    close(A.sinkhorn(L, { iterations, tau }).data, M.flat().map(Math.exp), SINKHORN, `iterations ${iterations}`);
  }
  const causal = A.sinkhorn(L, { iterations: 5, causal: true });
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(causal.data[i * n + j], 0);
});

test('sinkhorn attention: each query block reads its sorted block and itself; SortCut the first sorted blocks', () => {
  const [n, d, dv, b] = [24, 6, 4, 4];
  const q = matrix(n, d, 13), k = matrix(n, d, 14), v = matrix(n, dv, 15);
  const nb = n / b;
  for (const [sortcut, causal] of [[0, false], [0, true], [2, false]]) {
    const got = A.sinkhornAttention(q, k, v, { block: b, iterations: 10, sortcut, causal });
    // Sorted blocks from the returned S, in float64 (causal: S mixes strictly earlier blocks).
    const S = got.S;
    if (causal) for (let t = 0; t < nb * nb; t++) if (t % nb >= Math.floor(t / nb)) assert.equal(S.data[t], 0);
    const sorted = (x) => mul(S, { rows: nb, cols: b * x.cols, data: x.data });
    const Ks = sorted(k), Vs = sorted(v);
    let keys, values, allowed;
    if (sortcut) {
      keys = { rows: sortcut * b, cols: d, data: Ks.data.subarray(0, sortcut * b * d) };
      values = { rows: sortcut * b, cols: dv, data: Vs.data.subarray(0, sortcut * b * dv) };
      allowed = () => true;
    } else {
      keys = { rows: 2 * n, cols: d, data: Float64Array.of(...Ks.data, ...k.data) };
      values = { rows: 2 * n, cols: dv, data: Float64Array.of(...Vs.data, ...v.data) };
      allowed = (i, j) => (j < n ? Math.floor(j / b) === Math.floor(i / b) && (!causal || i >= b)
        : Math.floor((j - n) / b) === Math.floor(i / b) && (!causal || j - n <= i));
    }
    const mask = { rows: n, cols: keys.rows, data: Uint8Array.from({ length: n * keys.rows }, (_, t) => (allowed(Math.floor(t / keys.rows), t % keys.rows) ? 1 : 0)) };
    const ref = softmaxWeightsRef(q, keys, { mask });
    assert.equal(weightsExcess(got.weights.data, ref, F32_REL), 0, `sortcut=${sortcut} causal=${causal}`);
    assert.equal(outputsExcess(got.output, ref, values, F32_REL), 0, `sortcut=${sortcut} causal=${causal}`);
    // The effective n x m matrix reproduces the output.
    close(mul(got.effective, v).data, got.output.data, PRODUCT_OF_RESULTS, 'effective V = output');
    assert.deepEqual([...got.permutation].sort((a, c) => a - c), [...Array(nb).keys()], 'a permutation');
    if (causal) {  // outputs never depend on later keys or values
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(got.effective.data[i * n + j], 0, `(${i}, ${j})`);
      const later = (x) => ({ ...x, data: x.data.map((y, t) => (t >= 13 * x.cols ? y + 1 : y)) });
      const moved = A.sinkhornAttention(q, later(k), later(v), { block: b, iterations: 10, causal });
      assert.deepEqual(moved.output.data.subarray(0, 8 * dv), got.output.data.subarray(0, 8 * dv),
        'rows of blocks before the change are unchanged');
    }
    if (!sortcut) {
      for (let i = 0; i < n; i++) {
        const bi = Math.floor(i / b);
        for (let j = 0; j < n; j++) {
          const want = [got.permutation[bi], bi].includes(Math.floor(j / b)) ? 1 : 0;
          assert.equal(got.blockMask.data[i * n + j], want);
        }
      }
    }
  }
});

test('funnel: queries mean-pooled by the stride, keys and values kept', () => {
  const [n, d, dv] = [21, 5, 3];
  const q = matrix(n, d, 16), k = matrix(n, d, 17), v = matrix(n, dv, 18);
  for (const stride of [2, 3, 4]) {
    const got = A.funnelAttention(q, k, v, { stride });
    const rows = Math.ceil(n / stride);
    const pooled = { rows, cols: d, data: new Float64Array(rows * d) };
    for (let s = 0; s < rows; s++) {
      const members = Math.min(stride, n - s * stride);
      for (let t = 0; t < members; t++) for (let l = 0; l < d; l++) pooled.data[s * d + l] += q.data[(s * stride + t) * d + l] / members;
    }
    close(got.queries.data, pooled.data, F32_FEW_OPS, `pooled queries, stride ${stride}`);
    const ref = softmaxWeightsRef({ ...pooled, data: Float32Array.from(pooled.data) }, k);
    assert.equal(weightsExcess(got.weights.data, ref, F32_REL), 0);
    assert.equal(outputsExcess(got.output, ref, v, F32_REL), 0);
  }
});

test('bad gallery inputs throw AttnError with their codes', () => {
  const q = matrix(12, 4, 1), k = matrix(12, 4, 2), v = matrix(12, 3, 3);
  const cases = [
    [() => A.linformer(q, k, v, { rank: 0 }), 'ERR_RANGE'],
    [() => A.linformer(q, k, v, { E: matrix(3, 11, 1) }), 'ERR_SHAPE'],
    [() => A.linformer(q, k, v, { E: matrix(3, 12, 1), F: matrix(4, 12, 1) }), 'ERR_SHAPE'],
    [() => A.linformer(q, k), 'ERR_TYPE'],
    [() => A.compressedAttention(q, k, v, { factor: 0 }), 'ERR_RANGE'],
    [() => A.compressedAttention(q, k, v, { factor: 3, kernel: [1, 1] }), 'ERR_SHAPE'],
    [() => A.compressedAttention(q, k, v, { factor: 2, kernelV: [1, NaN] }), 'ERR_NONFINITE'],
    [() => A.synthesizer(q, v, { mode: 'conv' }), 'ERR_KIND'],
    [() => A.synthesizer(q, v, { mix: 1.5 }), 'ERR_RANGE'],
    [() => A.synthesizer(q, v, { logits: matrix(12, 11, 1) }), 'ERR_SHAPE'],
    [() => A.synthesizer(q, matrix(11, 3, 1)), 'ERR_SHAPE'],
    [() => A.sinkhornAttention(q, k, v, { block: 5 }), 'ERR_RANGE'],
    [() => A.sinkhornAttention(q, k, v, { tau: 0 }), 'ERR_RANGE'],
    [() => A.sinkhornAttention(q, matrix(8, 4, 1), matrix(8, 3, 1)), 'ERR_SHAPE'],
    [() => A.sinkhornAttention(q, k, v, { block: 4, sortcut: 4 }), 'ERR_RANGE'],
    [() => A.sinkhorn(matrix(3, 4, 1)), 'ERR_SHAPE'],
    [() => A.sinkhorn(matrix(3, 3, 1), { tau: -1 }), 'ERR_RANGE'],
    [() => A.funnelAttention(q, k, v, { stride: 0 }), 'ERR_RANGE'],
  ];
  for (const [call, code] of cases) {
    assert.throws(call, (err) => err instanceof AttnError && err.code === code, `expected ${code}: ${call}`);
  }
  assert.equal(A.funnelAttention(q, k, v).weights.rows, 6, 'the instance still works');
});

test('matmul: alpha a b against float64 for sizes around the 4 x 8 block and the 64 x 128 packing blocks', async () => {
  const S = await createAttn({ kernels: 'scalar' });
  for (const [n, k, m] of [[1, 1, 1], [3, 5, 7], [4, 8, 8], [5, 17, 9], [15, 16, 33], [17, 3, 64],
    [33, 129, 17], [64, 64, 64], [65, 257, 130], [130, 2, 1]]) {
    const a = matrix(n, k, n + k), b = matrix(k, m, m + 7);
    const want = mul(a, b);
    for (const X of [A, S]) {
      for (const alpha of [1, -0.375]) {
        const got = X.matmul(a, b, { alpha });
        assert.deepEqual([got.rows, got.cols], [n, m]);
        // each entry: a sum of k products of magnitude <= 1, rounded in float32
        const tol = MATMUL_PER_TERM * k * Math.abs(alpha) + NEAR_ONE;
        close(got.data, want.data.map((x) => alpha * x), tol, `${X.kernels} ${n}x${k}x${m} alpha ${alpha}`);
      }
    }
  }
  assert.throws(() => A.matmul(matrix(2, 3), matrix(4, 2)), (e) => e instanceof AttnError && e.code === 'ERR_SHAPE');
  assert.throws(() => A.matmul(matrix(2, 3), matrix(3, 2), { alpha: NaN }), (e) => e.code === 'ERR_RANGE');
  assert.throws(() => A.matmul(matrix(2, 3), 'b'), (e) => e instanceof AttnError);
});

test('benchmark: times the core without copies and says how many flops it timed', async () => {
  const S = await createAttn({ kernels: 'scalar' });
  for (const X of [A, S]) {
    const s = X.benchmark('softmax', { n: 40, d: 8, runs: 3 });
    assert.equal(s.ms.length, 3);
    assert.ok(s.ms.every((t) => t >= 0));
    assert.equal(s.flops, 4 * 40 * 40 * 8);
    assert.equal(X.benchmark('matmul', { n: 5, k: 7, m: 3 }).flops, 2 * 5 * 7 * 3);
    assert.equal(X.benchmark('kernel', { reps: 2, runs: 2 }).flops, 524288 * 2);
  }
  assert.throws(() => A.benchmark('fft', { n: 4 }), (e) => e.code === 'ERR_KIND');
  assert.throws(() => A.benchmark('softmax', { n: 4 }), (e) => e.code === 'ERR_TYPE');
  assert.throws(() => A.benchmark('matmul', { n: 4, k: 0, m: 2 }), (e) => e instanceof AttnError);
  assert.throws(() => A.benchmark('kernel', { runs: 0 }), (e) => e.code === 'ERR_RANGE');
});
