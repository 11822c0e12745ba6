// Finite or an error (issue 12): every reproducer gives a finite right answer
// or an AttnError with a stable code (ERR_OVERFLOW, ERR_RANGE, ERR_MEMORY),
// the instance keeps working afterwards, and the three softmax paths
// (weights, streaming outputs, sparse) agree, also on which inputs overflow.
// Expected values come from the mathematics of each case (worked out in the
// comments) or from the float64 reference, never from the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn } from '../wasm/attn.js';
import { matrix, softmaxWeightsRef, weightsExcess, outputsExcess } from './reference.mjs';
import { F32_FEW_OPS, F32_REL, F32_REL_SHORT, ROW_SUM } from './tolerances.mjs';

const simd = await createAttn();
const scalar = await createAttn({ kernels: 'scalar' });

/** fn() throws an AttnError with this code and a message naming the function. */
function throwsCode(fn, code, where) {
  assert.throws(fn, (e) => {
    assert.equal(e.name, 'AttnError', `${where}: ${e}`);
    assert.equal(e.code, code, `${where}: ${e.message}`);
    assert.match(e.message, new RegExp(`^${where}:`));
    return true;
  });
}

/** The instance still computes an ordinary case right. */
function stillWorks(A) {
  const q = matrix(5, 4, 1), k = matrix(7, 4, 2), v = matrix(7, 3, 3);
  const ref = softmaxWeightsRef(q, k);
  assert.equal(weightsExcess(A.softmaxWeights(q, k).data, ref, F32_REL), 0);
  assert.equal(outputsExcess(A.softmaxAttention(q, k, v).data, ref, v, F32_REL), 0);
}

const full = (n, m) => ({ rows: n, cols: m, data: new Uint8Array(n * m).fill(1) });
const causalMask = (n) => ({ rows: n, cols: n, data: Uint8Array.from({ length: n * n }, (_, c) => (c % n <= Math.floor(c / n) ? 1 : 0)) });

/** The three softmax paths on one input: [weights, outputs, sparse outputs] or the error codes. */
function three(A, q, k, v, options = {}) {
  const mask = options.causal ? causalMask(k.length) : full(q.length, k.length);
  const run = (f) => {
    try {
      return Array.from(f().data);
    } catch (e) {
      if (e.name !== 'AttnError') throw e;
      return e.code;
    }
  };
  return [
    run(() => A.softmaxWeights(q, k, options)),
    run(() => A.softmaxAttention(q, k, v, options)),
    run(() => A.sparseAttention(q, k, v, mask, { scale: options.scale })),
  ];
}

for (const A of [simd, scalar]) {
  const tag = A.kernels;

  test(`${tag}: softmax of [[1e20]] . [[1e20], [1]]: the logit 1e40 overflows float32 in all three paths`, () => {
    assert.deepEqual(three(A, [[1e20]], [[1e20], [1]], [[1], [2]]), ['ERR_OVERFLOW', 'ERR_OVERFLOW', 'ERR_OVERFLOW']);
    throwsCode(() => A.softmaxWeights([[1e20]], [[1e20], [1]]), 'ERR_OVERFLOW', 'softmaxWeights');
    throwsCode(() => A.softmaxAttention([[1e20]], [[1e20], [1]], [[1], [2]]), 'ERR_OVERFLOW', 'softmaxAttention');
    throwsCode(() => A.sparseAttention([[1e20]], [[1e20], [1]], [[1], [2]], full(1, 2)), 'ERR_OVERFLOW', 'sparseAttention');
    stillWorks(A);
  });

  test(`${tag}: scale 0 with huge logits gives uniform weights in all three paths`, () => {
    // the logit is (scale q).k = 0 for every key: weights 1/2, outputs the mean of v (1 + 4) / 2
    assert.deepEqual(three(A, [[1e20]], [[1e20], [1]], [[1], [4]], { scale: 0 }), [[0.5, 0.5], [2.5], [2.5]]);
    stillWorks(A);
  });

  test(`${tag}: scale 3e38 overflows when (scale q).k does, and is exact when it does not`, () => {
    // (3e38 * 1) * 2 = 6e38 > FLT_MAX
    assert.deepEqual(three(A, [[1]], [[1], [2]], [[1], [2]], { scale: 3e38 }), ['ERR_OVERFLOW', 'ERR_OVERFLOW', 'ERR_OVERFLOW']);
    // logits (3e38 * 0.5) * 1 = 1.5e38 and * 0.1 = 1.5e37: exp(1.5e37 - 1.5e38) = 0, weights [1, 0], output v_0 = 3
    assert.deepEqual(three(A, [[0.5]], [[1], [0.1]], [[3], [7]], { scale: 3e38 }), [[1, 0], [3], [3]]);
    stillWorks(A);
  });

  test(`${tag}: logits -1e38 and 1e38 are finite and give exact one-hot weights`, () => {
    assert.deepEqual(three(A, [[1e19]], [[-1e19], [1e19]], [[5], [-4]], { scale: 1 }), [[0, 1], [-4], [-4]]);
  });

  test(`${tag}: an overflowing logit of a blocked pair is ignored (causal), of an allowed pair refused`, () => {
    // pairs: (0,0) = 1e20, (0,1) = 1e40 blocked, (1,0) = 1, (1,1) = 1e20: weights [[1, 0], [0, 1]]
    const q = [[1e20], [1]], k = [[1], [1e20]], v = [[2], [9]];
    assert.deepEqual(three(A, q, k, v, { causal: true, scale: 1 }), [[1, 0, 0, 1], [2, 9], [2, 9]]);
    assert.deepEqual(three(A, q, k, v, { scale: 1 }), ['ERR_OVERFLOW', 'ERR_OVERFLOW', 'ERR_OVERFLOW']);
    stillWorks(A);
  });

  test(`${tag}: logits near 1e30 over several tiles: the three paths agree with float64`, () => {
    const q = matrix(37, 3, 5, 1e15), k = matrix(150, 3, 6, 1e15), v = matrix(150, 2, 7);
    for (const causal of [false, true]) {
      const ref = softmaxWeightsRef(q, k, { causal, scale: 0.5 });
      const mask = causal ? { rows: 37, cols: 150, data: Uint8Array.from({ length: 37 * 150 }, (_, c) => (c % 150 <= Math.floor(c / 150) ? 1 : 0)) }
        : full(37, 150);
      assert.equal(weightsExcess(A.softmaxWeights(q, k, { causal, scale: 0.5 }).data, ref, F32_REL_SHORT), 0);
      assert.equal(outputsExcess(A.softmaxAttention(q, k, v, { causal, scale: 0.5 }).data, ref, v, F32_REL_SHORT), 0);
      assert.equal(outputsExcess(A.sparseAttention(q, k, v, mask, { scale: 0.5 }).data, ref, v, F32_REL_SHORT), 0);
    }
  });

  test(`${tag}: values near FLT_MAX: the unnormalised sum 6e38 overflows, the output (their mean 3e38) is returned`, () => {
    assert.deepEqual(Array.from(A.softmaxAttention([[0]], [[0], [0]], [[3e38], [3e38]]).data), [Math.fround(3e38)]);
    assert.deepEqual(Array.from(A.sparseAttention([[0]], [[0], [0]], [[3e38], [3e38]], full(1, 2)).data), [Math.fround(3e38)]);
    stillWorks(A);
  });

  test(`${tag}: kernel attention: ReLU kernelEpsilon 3e38 overflows; kernelEpsilon 0 with eps 0 gives 0 rows`, () => {
    const q = [[1, 2], [-1, -2]], k = [[1, 1], [2, 0.5], [-3, -1]], v = [[1], [2], [3]];
    // every feature is 3e38 in float: the dots (1.8e77) overflow float32, but a row of W is three equal
    // dots over their sum, 1/3 each (computed in double); the outputs' state sum phi(k) v overflows
    const W = A.kernelWeights(q, k, { feature: 'relu', kernelEpsilon: 3e38 }).data;
    assert.ok(W.every((w) => Math.abs(w - 1 / 3) < 1e-6), `${Array.from(W)}`);
    throwsCode(() => A.linearAttention(q, k, v, { feature: 'relu', kernelEpsilon: 3e38 }), 'ERR_OVERFLOW', 'linearAttention');
    // phi(q_0) = (1, 2), phi(k) = (1, 1), (2, 0.5), (0, 0): dots 3, 3, 0, so w_0 = [1/2, 1/2, 0] and y_0 = 1.5;
    // causal: only key 0, w_0 = [1, 0, 0], y_0 = 1. phi(q_1) = 0: its denominator is 0, the row is 0.
    const opts = { feature: 'relu', kernelEpsilon: 0, eps: 0 };
    assert.deepEqual(Array.from(A.kernelWeights(q, k, opts).data), [0.5, 0.5, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(A.linearAttention(q, k, v, opts).data), [1.5, 0]);
    assert.deepEqual(Array.from(A.kernelWeights(q, k, { ...opts, causal: true }).data), [1, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(A.linearAttention(q, k, v, { ...opts, causal: true }).data), [1, 0]);
    stillWorks(A);
  });

  test(`${tag}: signed features whose dot products cancel: a zero denominator gives a 0 row`, () => {
    // identity features, eps 0: phi(q).phi(k_0) + phi(q).phi(k_1) = 1 - 1 = 0
    const q = [[1]], k = [[1], [-1]], v = [[1], [2]];
    assert.deepEqual(Array.from(A.kernelWeights(q, k, { feature: 'identity', eps: 0 }).data), [0, 0]);
    assert.deepEqual(Array.from(A.linearAttention(q, k, v, { feature: 'identity', eps: 0 }).data), [0]);
    // a denominator of 1e-40 (1 / den beyond FLT_MAX) still divides right: w = [1e-40, 0] / 1e-40
    const w = A.kernelWeights([[1e-20]], [[1e-20], [0]], { feature: 'identity', eps: 0 }).data;
    assert.deepEqual(Array.from(w), [1, 0]);
  });

  test(`${tag}: Efficient attention with causal reads the future: refused with ERR_RANGE`, () => {
    const q = matrix(6, 4, 1), k = matrix(6, 4, 2), v = matrix(6, 2, 3);
    throwsCode(() => A.kernelWeights(q, k, { feature: 'efficient', causal: true }), 'ERR_RANGE', 'kernelWeights');
    throwsCode(() => A.linearAttention(q, k, v, { feature: 'efficient', causal: true }), 'ERR_RANGE', 'linearAttention');
    throwsCode(() => A.fastWeights({ keys: k, values: v, feature: 'efficient' }), 'ERR_RANGE', 'fastWeights');
    const W = A.kernelWeights(q, k, { feature: 'efficient' });  // not causal: defined, rows sum to 1
    for (let i = 0; i < 6; i++) {
      const s = W.data.subarray(i * 6, i * 6 + 6).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(s - 1) < ROW_SUM, `row ${i} sums to ${s}`);
    }
  });

  test(`${tag}: sinkhorn with tau 1e-35: logits / tau beyond float32 are refused`, () => {
    throwsCode(() => A.sinkhorn([[1e4, 1], [2, 3]], { tau: 1e-35 }), 'ERR_OVERFLOW', 'sinkhorn');
    // logits / tau up to 1e35 stay finite: the result is finite and in [0, 1]
    const S = A.sinkhorn(matrix(4, 4, 3), { tau: 1e-35 });
    assert.ok(S.data.every((x) => x >= 0 && x <= 1));
    throwsCode(() => A.sinkhorn([[1, 2], [3, 4]], { tau: -1 }), 'ERR_RANGE', 'sinkhorn');
    stillWorks(A);
  });

  test(`${tag}: matmul [[1e30, 1e30]] x [[1e30], [-1e30]]: 1e60 overflows, refused`, () => {
    throwsCode(() => A.matmul([[1e30, 1e30]], [[1e30], [-1e30]]), 'ERR_OVERFLOW', 'matmul');
    // (alpha A) B: 1e30 * 1e-20 = 1e10 per term, 2e10 in all
    const C = A.matmul([[1e-20, 1e-20]], [[1], [1]], { alpha: 1e30 });
    assert.ok(Math.abs(C.data[0] - 2e10) <= 2e10 * F32_FEW_OPS);
    stillWorks(A);
  });

  test(`${tag}: the delta rule with |k|^2 = 4 and no normalisation diverges: ERR_OVERFLOW`, () => {
    // the same key k = (2, 0) every step: the error v - W k is multiplied by 1 - beta |k|^2 = -3 each write
    const T = 120;
    const keys = { rows: T, cols: 2, data: Float32Array.from({ length: 2 * T }, (_, c) => (c % 2 === 0 ? 2 : 0)) };
    const values = { rows: T, cols: 1, data: new Float32Array(T).fill(1) };
    const common = { keys, values, feature: 'identity', rule: 'delta' };
    throwsCode(() => A.fastWeights({ ...common, normalize: 'none' }), 'ERR_OVERFLOW', 'fastWeights');
    // beta |k|^2 = 1: the first write stores v exactly, every read returns 1
    const ok = A.fastWeights({ ...common, normalize: 'none', beta: 0.25 });
    assert.ok(ok.outputs.data.every((y) => Math.abs(y - 1) < F32_FEW_OPS));
    const l2 = A.fastWeights({ ...common, normalize: 'l2' });
    assert.ok(l2.outputs.data.every((y) => Math.abs(y - 1) < F32_FEW_OPS));
    stillWorks(A);
  });

  test(`${tag}: capacity with FAVOR+ unstabilised overflows (ERR_OVERFLOW); stabilised it is finite`, () => {
    // dKey 512: exp(u - h) of the plain estimator leaves float32
    throwsCode(() => A.capacity({ feature: 'favor+', stabilize: false, dKey: 512, sizes: [5], trials: 1 }), 'ERR_OVERFLOW', 'capacity');
    const [{ error }] = A.capacity({ feature: 'favor+', stabilize: true, dKey: 512, sizes: [5], trials: 1 });
    assert.ok(Number.isFinite(error) && error >= 0);
    throwsCode(() => A.capacity({ feature: 'efficient', dKey: 8, sizes: [4], trials: 1 }), 'ERR_RANGE', 'capacity');
    stillWorks(A);
  });
}

test('mask options at or above 2^32 are clamped to what n allows, not wrapped', () => {
  const A = simd;
  const count = (m) => m.data.reduce((a, b) => a + (b !== 0), 0);
  assert.equal(count(A.mask('local', 16, { window: 2 ** 32 })), 256, 'a window of 2^32 covers all 16 x 16');
  assert.equal(count(A.mask('random', 16, { perRow: 2 ** 32 })), 256, 'perRow 2^32: every key');
  assert.equal(count(A.mask('bigbird', 64, { block: 8, globalBlocks: 2 ** 32 })), 4096, 'globalBlocks 2^32: all global');
  assert.equal(count(A.mask('strided', 16, { stride: 2 ** 40 })), 16, 'a stride past n keeps only j = i');
  assert.equal(count(A.mask('bigbird', 64, { block: 8, windowBlocks: 2 ** 32 + 1, globalBlocks: 0, randomBlocks: 0 })), 4096,
    'an odd windowBlocks past n covers every block');
  throwsCode(() => A.mask('fixed', 16, { block: 2 ** 32 }), 'ERR_RANGE', 'mask');
});

test("mask('full', 65536, { format: 'csr' }): 2^32 cells do not fit int32 indices: ERR_MEMORY, not a wrapped count", () => {
  throwsCode(() => simd.mask('full', 65536, { format: 'csr' }), 'ERR_MEMORY', 'mask');
  stillWorks(simd);
});

test('maskLayers refuses a mask whose one layer exceeds 2^32 word operations, at once', () => {
  // n = 8192 full: (n + n^2) * n / 64 = 8.6e9 word operations for a single layer
  throwsCode(() => simd.maskLayers(simd.mask('full', 8192)), 'ERR_RANGE', 'maskLayers');
  const r = simd.maskLayers(simd.mask('full', 512));  // one layer reaches every pair
  assert.equal(r.layers, 1);
  assert.equal(r.complete, true);
  // a causal window of 1 on 40 tokens: token i reaches min(L, i) + 1 tokens after L layers
  const local = simd.mask('local', 40, { window: 1, causal: true });
  const got = simd.maskLayers(local, { maxLayers: 50 });
  assert.equal(got.layers, 39);
  for (let L = 1; L <= 50; L++) {
    let want = 0;
    for (let i = 0; i < 40; i++) want += Math.min(L, i) + 1;
    assert.equal(got.reached[L - 1], want, `layer ${L}`);
  }
});

test('a CSR with duplicate or unsorted indices in a row is refused (ERR_RANGE)', () => {
  const q = matrix(2, 3, 1), k = matrix(3, 3, 2), v = matrix(3, 2, 3);
  const csr = (indices) => ({ rows: 2, cols: 3, format: 'csr', indptr: [0, 2, 3], indices });
  const ok = simd.sparseAttention(q, k, v, csr([0, 2, 1]));
  const dense = simd.sparseAttention(q, k, v, { rows: 2, cols: 3, data: new Uint8Array([1, 0, 1, 0, 1, 0]) });
  assert.deepEqual(Array.from(ok.data), Array.from(dense.data));
  throwsCode(() => simd.sparseAttention(q, k, v, csr([1, 1, 0])), 'ERR_RANGE', 'sparseAttention');
  throwsCode(() => simd.sparseAttention(q, k, v, csr([2, 0, 1])), 'ERR_RANGE', 'sparseAttention');
  stillWorks(simd);
});

test("the core's name lists (attn_<list>_name) match the JS API's names and numbering", async () => {
  const { default: createAttnCore } = await import('../wasm/build/attn-core.mjs');
  const { FEATURES, RULES, MASK_KINDS, MASK_BITS } = await import('../wasm/attn.js');
  const core = await createAttnCore();
  const names = (fn) => {
    const out = [];
    for (let id = 0, p; (p = fn(id)) !== 0; id++) out.push(core.UTF8ToString(p));
    return out;
  };
  assert.deepEqual(names(core._attn_feature_name), [...FEATURES]);
  assert.deepEqual(names(core._attn_rule_name), [...RULES]);
  assert.deepEqual(names(core._attn_normalize_name), ['none', 'sum', 'l2']);
  assert.deepEqual(names(core._attn_kernels_name), ['scalar', 'simd']);
  // the JS kinds lsh and kmeans both build the core's cluster mask
  assert.deepEqual(names(core._attn_mask_kind_name), [...MASK_KINDS.filter((k) => k !== 'lsh' && k !== 'kmeans'), 'cluster']);
  const bits = names(core._attn_mask_bit_name);
  assert.deepEqual(bits, ['local', 'strided', 'global', 'random', 'cluster']);
  bits.forEach((name, b) => assert.equal(MASK_BITS[name], 1 << b, name));
});

// Fuzz findings (tests/fuzz/, brief L): expected values from the mathematics of each case.
for (const A of [simd, scalar]) {
  const tag = A.kernels;

  test(`${tag}: softmax with values up to 3.4e38 (n 7, m 9): the weighted average is returned by all three paths`, () => {
    // scale 0: uniform weights 1/9, so y is the plain mean of each column of v; 9 x 3e38 overflows float32
    const n = 7, m = 9;
    const q = matrix(n, 3, 1), k = matrix(m, 3, 2);
    const v = Array.from({ length: m }, (_, j) => [j < 5 ? 3.4e38 : -1e38, (j + 1) * 1e-3]);
    const mean = [0, 1].map((c) => v.reduce((a, r) => a + Math.fround(r[c]), 0) / m);
    const full = { rows: n, cols: m, data: new Uint8Array(n * m).fill(1) };
    for (const y of [A.softmaxAttention(q, k, v, { scale: 0 }), A.sparseAttention(q, k, v, full, { scale: 0 })]) {
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 2; c++) {
          const got = y.data[i * 2 + c];
          assert.ok(Math.abs(got - mean[c]) <= 1e-5 * Math.abs(mean[c]), `y[${i}, ${c}] = ${got}, mean ${mean[c]}`);
        }
      }
    }
  });

  test(`${tag}: stabilised FAVOR+ on a row of 1e20: the largest feature is exactly c = 1/sqrt(m)`, () => {
    // h = |x|^2 / 2 = 5e39 is beyond float32; u - h - max(u - h) = u - max(u) exactly: phi = [c, exp(-1.5e20) c]
    const phi = A.featureMap([[1e20]], { feature: 'favor+', projection: [[1], [-0.5]], stabilize: true }).data;
    assert.deepEqual(Array.from(phi), [Math.fround(Math.SQRT1_2), 0]);
    // a row of 3e38: u itself overflows float32 in the product; again c and 0
    const phi2 = A.featureMap([[3e38, 0]], { feature: 'favor+', projection: [[2, 0], [-0.5, 1]] }).data;
    assert.deepEqual(Array.from(phi2), [Math.fround(Math.SQRT1_2), 0]);
  });

  test(`${tag}: normalising features by a sum or norm below 1 / FLT_MAX`, () => {
    const x = [[1e-39, 3e-39]];
    const s = A.featureMap(x, { feature: 'identity', normalize: 'sum' }).data;
    const f0 = Math.fround(1e-39), f1 = Math.fround(3e-39);
    assert.ok(Math.abs(s[0] - f0 / (f0 + f1)) < 1e-6 && Math.abs(s[1] - f1 / (f0 + f1)) < 1e-6, `${Array.from(s)}`);
    const l2 = A.featureMap(x, { feature: 'identity', normalize: 'l2' }).data, nrm = Math.hypot(f0, f1);
    assert.ok(Math.abs(l2[0] - f0 / nrm) < 1e-6 && Math.abs(l2[1] - f1 / nrm) < 1e-6, `${Array.from(l2)}`);
  });

  test(`${tag}: identity map with a denominator of exactly 0 (q.k = -1, eps 1): w = 0, y = 0`, () => {
    assert.deepEqual(Array.from(A.kernelWeights([[-1]], [[1]], { feature: 'identity', eps: 1 }).data), [0]);
    assert.deepEqual(Array.from(A.linearAttention([[-1]], [[1]], [[5]], { feature: 'identity', eps: 1 }).data), [0]);
  });

  test(`${tag}: kernel weights whose float32 dot overflows part-way (3e38 + 2e38 - 3e38) are computed in double`, () => {
    const W = A.kernelWeights([[3e38, 2e38, -3e38]], [[1, 1, 1], [1, 0, 0]], { feature: 'identity', eps: 0 }).data;
    // dots 2e38 and 3e38: w = [0.4, 0.6]
    assert.ok(Math.abs(W[0] - 0.4) < 1e-6 && Math.abs(W[1] - 0.6) < 1e-6, `${Array.from(W)}`);
  });

  test(`${tag}: sinkhorn subtracts each row's max before dividing by tau; iterations 0 is exp(L / tau)`, () => {
    // tau 1e-38, n 1: the one entry normalises to 1
    assert.deepEqual(Array.from(A.sinkhorn([[4]], { iterations: 1, tau: 1e-38 }).data), [1]);
    // rows [4, 3], [1, 2]: (L - max) / tau = [0, -1e38], [-1e38, 0]: S = I
    assert.deepEqual(Array.from(A.sinkhorn([[4, 3], [1, 2]], { iterations: 3, tau: 1e-38 }).data), [1, 0, 0, 1]);
    // no iteration: no normalisation, exp(100) overflows and is refused; exp(2) is returned
    throwsCode(() => A.sinkhorn([[100]], { iterations: 0 }), 'ERR_OVERFLOW', 'sinkhorn');
    assert.ok(Math.abs(A.sinkhorn([[2]], { iterations: 0 }).data[0] - Math.exp(2)) < 1e-5);
    stillWorks(A);
  });
}
