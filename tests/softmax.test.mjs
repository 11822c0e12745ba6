// Softmax attention weights and streaming outputs against the float64
// reference, for sizes around the vector widths and tiles, n != m, causal,
// masks with fully blocked rows, large logits, and SIMD against scalar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn } from '../wasm/attn.js';
import { matrix, softmaxWeightsRef, weightsExcess, outputsExcess } from './reference.mjs';
import { F32_REL, LARGE_LOGITS_REL, NEAR_ONE, PATHS_AGREE, ROW_SUM } from './tolerances.mjs';

const SIZES = [1, 3, 4, 5, 15, 16, 17, 33, 64, 257];
const simd = await createAttn();
const scalar = await createAttn({ kernels: 'scalar' });

test('the instances run the kernels they were asked for', () => {
  assert.equal(simd.simd, true);
  assert.equal(simd.kernels, 'simd');
  assert.equal(scalar.simd, false);
  assert.equal(scalar.kernels, 'scalar');
});

/** A mask with about half the cells allowed and every third row fully blocked. */
function halfMask(n, m, seed) {
  const r = matrix(n, m, seed);
  return { rows: n, cols: m, data: Uint8Array.from(r.data, (x, idx) => (Math.floor(idx / m) % 3 === 1 ? 0 : x > 0 ? 1 : 0)) };
}

for (const A of [simd, scalar]) {
  for (const [t, n] of SIZES.entries()) {
    const m = SIZES[(t + 3) % SIZES.length];
    const d = SIZES[(t + 6) % SIZES.length] % 70;
    const dv = SIZES[(t + 8) % SIZES.length];
    test(`${A.kernels}: n=${n} m=${m} d=${d} dv=${dv} (and n=m) match float64 within ${F32_REL}`, () => {
      for (const [rows, cols] of [[n, m], [n, n]]) {
        const q = matrix(rows, d, 1), k = matrix(cols, d, 2), v = matrix(cols, dv, 3);
        for (const causal of [false, true]) {
          for (const mask of [undefined, halfMask(rows, cols, 4)]) {
            const opts = { causal, mask };
            const ref = softmaxWeightsRef(q, k, opts);
            const P = A.softmaxWeights(q, k, opts);
            assert.deepEqual([P.rows, P.cols], [rows, cols]);
            assert.equal(weightsExcess(P.data, ref, F32_REL), 0, `weights causal=${causal} mask=${!!mask}`);
            const Y = A.softmaxAttention(q, k, v, opts);
            assert.deepEqual([Y.rows, Y.cols], [rows, dv]);
            assert.equal(outputsExcess(Y, ref, v, F32_REL), 0, `outputs causal=${causal} mask=${!!mask}`);
          }
        }
      }
    });
  }
}

test('rows sum to 1, blocked rows are 0, causal weights vanish above the diagonal', () => {
  const [n, m, d] = [40, 300, 8];
  const q = matrix(n, d, 5), k = matrix(m, d, 6), v = matrix(m, 3, 7);
  const mask = halfMask(n, m, 8);
  const P = simd.softmaxWeights(q, k, { causal: true, mask });
  const Y = simd.softmaxAttention(q, k, v, { causal: true, mask });
  for (let i = 0; i < n; i++) {
    const row = P.data.subarray(i * m, (i + 1) * m);
    const sum = row.reduce((a, b) => a + b, 0);
    const anyAllowed = row.some((_, j) => j <= i && mask.data[i * m + j]);
    if (anyAllowed) assert.ok(Math.abs(sum - 1) < ROW_SUM, `row ${i} sums to ${sum}`);
    else {
      assert.equal(sum, 0, `row ${i} has nothing allowed`);
      assert.deepEqual([...Y.data.subarray(i * 3, i * 3 + 3)], [0, 0, 0]);
    }
    for (let j = i + 1; j < m; j++) assert.equal(row[j], 0);
  }
});

test('logits up to +-100 stay finite and accurate to the float32 logit rounding', () => {
  // amplitude 10 and d = 16: |q.k|/sqrt(d) reaches about 100. A float32 logit
  // carries an error near d * 2^-24 * sum|q k| * scale, so 1e-3 relative.
  const [n, m, d] = [64, 80, 16];
  const q = matrix(n, d, 9, 10), k = matrix(m, d, 10, 10), v = matrix(m, 4, 11);
  const ref = softmaxWeightsRef(q, k);
  let maxLogit = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let l = 0; l < d; l++) s += q.data[i * d + l] * k.data[j * d + l];
    maxLogit = Math.max(maxLogit, Math.abs(s / 4));
  }
  assert.ok(maxLogit > 60, `the test reaches large logits (${maxLogit})`);
  for (const A of [simd, scalar]) {
    for (const causal of [false, true]) {
      const P = A.softmaxWeights(q, k, { causal });
      const Y = A.softmaxAttention(q, k, v, { causal });
      assert.ok(P.data.every(Number.isFinite) && Y.data.every(Number.isFinite));
      const refC = causal ? softmaxWeightsRef(q, k, { causal }) : ref;
      assert.equal(weightsExcess(P.data, refC, LARGE_LOGITS_REL), 0);
      assert.equal(outputsExcess(Y, refC, v, LARGE_LOGITS_REL), 0);
    }
  }
});

test('a custom scale, including 0 (uniform weights) and negative', () => {
  const q = matrix(7, 5, 12), k = matrix(9, 5, 13), v = matrix(9, 2, 14);
  for (const scale of [0, -0.7, 3]) {
    const ref = softmaxWeightsRef(q, k, { scale });
    assert.equal(weightsExcess(simd.softmaxWeights(q, k, { scale }).data, ref, F32_REL), 0);
    assert.equal(outputsExcess(simd.softmaxAttention(q, k, v, { scale }), ref, v, F32_REL), 0);
  }
  const uniform = simd.softmaxWeights(q, k, { scale: 0 });
  assert.ok(uniform.data.every((x) => Math.abs(x - 1 / 9) < NEAR_ONE));
});

test('SIMD and scalar kernels agree end to end on a tiled size', () => {
  const [n, d] = [517, 64];
  const q = matrix(n, d, 15), k = matrix(n, d, 16), v = matrix(n, d, 17);
  for (const causal of [false, true]) {
    const a = simd.softmaxAttention(q, k, v, { causal }).data;
    const b = scalar.softmaxAttention(q, k, v, { causal }).data;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.ok(worst < PATHS_AGREE, `max |simd - scalar| = ${worst}`);
    assert.ok(worst > 0 || n < 4, 'the two paths are different code');
  }
});

test('nested arrays are accepted as matrices and masks', () => {
  const q = [[1, 0], [0, 1], [1, 1]], k = [[1, 0], [0, 2]], v = [[1, 2, 3], [4, 5, 6]];
  const flat = (rows) => ({ rows: rows.length, cols: rows[0].length, data: Float32Array.from(rows.flat()) });
  const mask = [[1, 0], [true, false], [0, 0]];
  const a = simd.softmaxAttention(q, k, v, { mask });
  const b = simd.softmaxAttention(flat(q), flat(k), flat(v), { mask: { rows: 3, cols: 2, data: Uint8Array.of(1, 0, 1, 0, 0, 0) } });
  assert.deepEqual(a, b);
  assert.deepEqual([...a.data], [1, 2, 3, 1, 2, 3, 0, 0, 0]);
});
