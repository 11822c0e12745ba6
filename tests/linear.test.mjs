// Kernel (linear) attention: every feature map against its float64
// definition, the implied weights, O(n) outputs (plain and causal), the
// Performer projections, and the statistical claims of the Performer paper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { matrix, featureMapRef, kernelWeightsRef } from './reference.mjs';
import { F32_CHAIN, F32_FEW_OPS, F32_REL, F64_ABS, KL_FLOOR, ROW_SUM, STANDARD_ERRORS, ZERO_FLOOR } from './tolerances.mjs';

const A = await createAttn();
const S = await createAttn({ kernels: 'scalar' });
const DIMS = { identity: (d) => d, 'elu+1': (d) => d, relu: (d) => d, taylor: (d) => d + 1, efficient: (d) => d,
  'favor+': (d, m) => m, 'favor-trig': (d, m) => 2 * m, 'favor-hyp': (d, m) => 2 * m, dpfp: (d, m, nu) => 2 * d * nu };

/** Largest per-row ratio |got - ref|_inf / (rel * |ref row|_inf); 0 when within. */
function rowsExcess(got, refRows, rel) {
  let worst = 0;
  refRows.forEach((ref, i) => {
    const scale = Math.max(...ref.map(Math.abs)) || ZERO_FLOOR;
    for (let f = 0; f < ref.length; f++) {
      const err = Math.abs(got.data[i * got.cols + f] - ref[f]);
      if (!(err <= rel * scale)) worst = Math.max(worst, Number.isNaN(err) ? Infinity : err / (rel * scale));
    }
  });
  return worst;
}

/** Inputs: positive entries for 'identity' (so its kernel sums cannot cancel). */
const inputs = (feature, n, d, seed) => {
  const x = matrix(n, d, seed, 1.5);
  if (feature === 'identity') x.data = x.data.map((v) => Math.abs(v) + 0.1);
  return x;
};

test('FEATURES lists every map of API.md', () => {
  assert.deepEqual([...A.FEATURES].sort(), Object.keys(DIMS).sort());
});

for (const feature of Object.keys(DIMS)) {
  test(`${feature}: the map matches its float64 definition, for both roles and both kernel tables`, () => {
    for (const [n, d] of [[1, 1], [3, 4], [17, 5], [33, 16], [5, 17]]) {
      const x = inputs(feature, n, d, n * 31 + d);
      const m = 24;
      const projection = A.randomFeatures(m, d, { seed: 3 });
      for (const role of ['query', 'key']) {
        for (const normalize of ['none', 'sum']) {
          for (const nu of feature === 'dpfp' ? [1, Math.min(3, 2 * d - 1)] : [1]) {
            const opts = { feature, role, projection, nu, normalize };
            if (normalize === 'sum' && (feature === 'identity' || feature === 'favor-trig')) continue;  // signed
            const ref = featureMapRef(x, opts);
            for (const B of [A, S]) {
              const got = B.featureMap(x, opts);
              assert.deepEqual([got.rows, got.cols], [n, DIMS[feature](d, m, nu)]);
              assert.equal(rowsExcess(got, ref, F32_REL), 0,
                `${B.kernels} n=${n} d=${d} role=${role} normalize=${normalize} nu=${nu}`);
            }
          }
        }
      }
    }
  });
}

test('Performer maps without stabilisers are the plain estimators', () => {
  const x = matrix(9, 8, 4, 0.7), projection = A.randomFeatures(32, 8, { seed: 5 });
  for (const feature of ['favor+', 'favor-trig', 'favor-hyp']) {
    for (const role of ['query', 'key']) {
      const opts = { feature, role, projection, stabilize: false };
      assert.equal(rowsExcess(A.featureMap(x, opts), featureMapRef(x, opts), F32_REL), 0, `${feature} ${role}`);
    }
  }
});

test('taylor gives phi(q).phi(k) = 1 + cos(q, k); dpfp blocks are permutations (same dot products)', () => {
  const q = matrix(6, 7, 6), k = matrix(5, 7, 7);
  const fq = A.featureMap(q, { feature: 'taylor' }), fk = A.featureMap(k, { feature: 'taylor', role: 'key' });
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 5; j++) {
      let qk = 0, qq = 0, kk = 0, ff = 0;
      for (let l = 0; l < 7; l++) {
        qk += q.data[i * 7 + l] * k.data[j * 7 + l];
        qq += q.data[i * 7 + l] ** 2;
        kk += k.data[j * 7 + l] ** 2;
      }
      for (let f = 0; f < 8; f++) ff += fq.data[i * 8 + f] * fk.data[j * 8 + f];
      assert.ok(Math.abs(ff - (1 + qk / Math.sqrt(qq * kk))) < F32_CHAIN);
    }
  }
  // DPFP: the paper writes r_i r_{i+j}, torch.roll gives r_i r_{i-j}; the
  // blocks are permutations of each other, so phi(q).phi(k) is the same.
  const fq3 = A.featureMap(q, { feature: 'dpfp', nu: 3 }), fk3 = A.featureMap(k, { feature: 'dpfp', nu: 3, role: 'key' });
  assert.equal(fq3.cols, 42);
  const rollPlus = (x) => {
    const r = [...x.map((v) => Math.max(v, 0)), ...x.map((v) => Math.max(-v, 0))];
    return [1, 2, 3].flatMap((j) => r.map((v, p) => v * r[(p + j) % 14]));
  };
  for (let i = 0; i < 5; i++) {
    const a = rollPlus(Array.from(q.data.subarray(i * 7, i * 7 + 7)));
    const b = rollPlus(Array.from(k.data.subarray(i * 7, i * 7 + 7)));
    const want = a.reduce((acc, v, f) => acc + v * b[f], 0);
    const got = fq3.data.subarray(i * 42, i * 42 + 42).reduce((acc, v, f) => acc + v * fk3.data[i * 42 + f], 0);
    assert.ok(Math.abs(got - want) <= F32_CHAIN * Math.abs(want) + ZERO_FLOOR, `row ${i}: ${got} vs ${want}`);
  }
});

for (const feature of Object.keys(DIMS)) {
  test(`${feature}: kernelWeights and linearAttention (plain and causal) match float64`, () => {
    for (const [n, m, d, dv] of [[1, 1, 3, 2], [17, 17, 8, 5], [33, 20, 16, 17], [20, 33, 5, 4], [300, 300, 8, 3]]) {
      const q = inputs(feature, n, d, 11 + n), k = inputs(feature, m, d, 12 + m), v = matrix(m, dv, 13);
      const projection = A.randomFeatures(32, d, { seed: 8 });
      const opts = { feature, projection, nu: Math.min(2, 2 * d - 1) };
      const fq = featureMapRef(q, { ...opts, role: 'query' }), fk = featureMapRef(k, { ...opts, role: 'key' });
      // Efficient attention has no causal form (its key softmax runs over all positions): refused, see hardening.test.mjs.
      for (const causal of feature === 'efficient' ? [false] : [false, true]) {
        const ref = kernelWeightsRef(fq, fk, { causal });
        const W = A.kernelWeights(q, k, { ...opts, causal });
        const Y = A.linearAttention(q, k, v, { ...opts, causal });
        for (let i = 0; i < n; i++) {
          let l1 = 0;
          for (let j = 0; j < m; j++) l1 += Math.abs(ref[i * m + j]);
          for (let j = 0; j < m; j++) {
            assert.ok(Math.abs(W.data[i * m + j] - ref[i * m + j]) <= F32_REL * l1,
              `W[${i},${j}] = ${W.data[i * m + j]}, want ${ref[i * m + j]} (n=${n} m=${m} d=${d} causal=${causal})`);
          }
          for (let c = 0; c < dv; c++) {
            let y = 0, mag = 0;
            for (let j = 0; j < m; j++) {
              y += ref[i * m + j] * v.data[j * dv + c];
              mag += Math.abs(ref[i * m + j] * v.data[j * dv + c]);
            }
            assert.ok(Math.abs(Y.data[i * dv + c] - y) <= F32_REL * mag + ZERO_FLOOR,
              `Y[${i},${c}] = ${Y.data[i * dv + c]}, want ${y} (n=${n} m=${m} causal=${causal})`);
          }
        }
      }
    }
  });
}

test('causal outputs at row i depend only on keys and values up to i', () => {
  const [n, d] = [40, 6];
  const q = matrix(n, d, 21), k = matrix(n, d, 22), v = matrix(n, 3, 23);
  for (const feature of ['elu+1', 'favor+', 'dpfp', 'taylor']) {
    const base = A.linearAttention(q, k, v, { feature, causal: true, stabilize: false });
    const k2 = { ...k, data: k.data.slice() }, v2 = { ...v, data: v.data.slice() };
    for (let idx = 25 * d; idx < n * d; idx++) k2.data[idx] += 0.5;
    for (let idx = 25 * 3; idx < n * 3; idx++) v2.data[idx] -= 2;
    const changed = A.linearAttention(q, k2, v2, { feature, causal: true, stabilize: false });
    assert.deepEqual(changed.data.subarray(0, 25 * 3), base.data.subarray(0, 25 * 3), feature);
    assert.notDeepEqual(changed.data.subarray(25 * 3), base.data.subarray(25 * 3), feature);
  }
});

test('weights rows sum to 1: efficient by construction, the others up to eps (exactly with eps 0)', () => {
  const q = matrix(30, 8, 31), k = matrix(40, 8, 32);
  for (const [feature, eps] of [['efficient', 0], ['efficient', 1e-6], ['elu+1', 1e-6], ['favor+', 0], ['dpfp', 0]]) {
    const W = A.kernelWeights(q, k, { feature, eps });
    for (let i = 0; i < 30; i++) {
      const s = W.data.subarray(i * 40, (i + 1) * 40).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(s - 1) < ROW_SUM, `${feature} eps=${eps} row ${i} sums to ${s}`);
    }
  }
});

test('random-feature maps stay finite for logits up to 100', () => {
  const q = matrix(20, 16, 41, 10), k = matrix(24, 16, 42, 10);  // |q.k|/sqrt(d) near 100
  for (const feature of ['favor+', 'favor-trig', 'favor-hyp']) {
    for (const causal of [false, true]) {
      const W = A.kernelWeights(q, k, { feature, causal });
      const Y = A.linearAttention(q, k, matrix(24, 4, 43), { feature, causal });
      assert.ok(W.data.every(Number.isFinite) && Y.data.every(Number.isFinite), `${feature} causal=${causal}`);
    }
  }
});

test('orthogonal projections: rows within a block are orthogonal, norms are chi_d distributed', () => {
  const d = 16, m = 40;  // two full blocks and a partial one
  const trials = 200;
  let normSum = 0, normSqSum = 0;
  for (let t = 0; t < trials; t++) {
    const W = A.randomFeatures(m, d, { seed: t });
    const row = (r) => W.data.subarray(r * d, (r + 1) * d);
    for (let b = 0; b < m; b += d) {
      for (let r = b; r < Math.min(b + d, m); r++) {
        for (let s = b; s < r; s++) {
          const a = row(r), c = row(s);
          let dp = 0, na = 0, nc = 0;
          for (let l = 0; l < d; l++) { dp += a[l] * c[l]; na += a[l] * a[l]; nc += c[l] * c[l]; }
          assert.ok(Math.abs(dp) / Math.sqrt(na * nc) < F32_CHAIN, `rows ${r}, ${s} of seed ${t}`);
        }
      }
    }
    for (let r = 0; r < m; r++) {
      const nr = Math.hypot(...row(r));
      normSum += nr;
      normSqSum += nr * nr;
    }
  }
  const count = trials * m;
  // E|g| for g ~ N(0, I_16) is sqrt(2) Gamma(8.5) / Gamma(8) = 3.9375...; E|g|^2 = 16.
  const chiMean = Math.SQRT2 * 14034407.27 / 5040 / 1000;  // Gamma(8.5) = 14034407.27e-3
  assert.ok(Math.abs(normSqSum / count - 16) < STANDARD_ERRORS * Math.sqrt(32 / count), `E|w|^2 = ${normSqSum / count}`);
  assert.ok(Math.abs(normSum / count - chiMean) < STANDARD_ERRORS * Math.sqrt((16 - chiMean ** 2) / count), `E|w| = ${normSum / count}, want ${chiMean}`);
  const iid = A.randomFeatures(400, 16, { seed: 1, orthogonal: false }).data;
  const mean = iid.reduce((a, b) => a + b, 0) / iid.length;
  const variance = iid.reduce((a, b) => a + (b - mean) ** 2, 0) / iid.length;
  assert.ok(Math.abs(mean) < STANDARD_ERRORS / Math.sqrt(iid.length) && Math.abs(variance - 1) < STANDARD_ERRORS * Math.sqrt(2 / iid.length));
});

/** Monte Carlo over projection seeds of the plain estimator phi(q).phi(k), for one (q, k) pair. */
function estimates(feature, orthogonal, q, k, m, trials) {
  const out = [];
  for (let t = 0; t < trials; t++) {
    const projection = A.randomFeatures(m, q.cols, { seed: 1000 + t, orthogonal });
    const fq = A.featureMap(q, { feature, projection, stabilize: false });
    const fk = A.featureMap(k, { feature, projection, stabilize: false, role: 'key' });
    out.push(fq.data.reduce((a, v, f) => a + v * fk.data[f], 0));
  }
  return out;
}
const meanOf = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const trueKernel = (q, k) => Math.exp(q.data.reduce((a, v, l) => a + v * k.data[l], 0) / Math.sqrt(q.cols));

test('FAVOR estimators are unbiased for exp(q.k / sqrt d) (5 standard errors, 2000 projections)', () => {
  const d = 8;
  const q = { rows: 1, cols: d, data: Float32Array.from(matrix(1, d, 51).data, (v) => v * 0.8) };
  const k = { rows: 1, cols: d, data: Float32Array.from(matrix(1, d, 52).data, (v) => v * 0.8) };
  const want = trueKernel(q, k);
  for (const feature of ['favor+', 'favor-trig', 'favor-hyp']) {
    for (const orthogonal of [false, true]) {
      const xs = estimates(feature, orthogonal, q, k, 8, 2000);
      const mean = meanOf(xs), se = Math.sqrt(meanOf(xs.map((x) => (x - mean) ** 2)) / xs.length);
      assert.ok(Math.abs(mean - want) < STANDARD_ERRORS * se + F32_FEW_OPS, `${feature} orth=${orthogonal}: ${mean} vs ${want} (se ${se})`);
    }
  }
});

test('orthogonal features beat i.i.d., and positive beats trigonometric where the kernel is small', () => {
  const d = 16;
  const mse = (xs, want) => meanOf(xs.map((x) => (x - want) ** 2));
  const q = { rows: 1, cols: d, data: Float32Array.from(matrix(1, d, 61).data, (v) => v * 1.2) };
  const k = { rows: 1, cols: d, data: Float32Array.from(matrix(1, d, 62).data, (v) => v * 1.2) };
  const want = trueKernel(q, k);
  const orth = mse(estimates('favor+', true, q, k, 16, 600), want);
  const iid = mse(estimates('favor+', false, q, k, 16, 600), want);
  assert.ok(orth < iid, `orthogonal MSE ${orth} < i.i.d. ${iid}`);
  // Small kernel: k = -q with larger entries, so q.k/sqrt(d) is very negative.
  const q2 = { ...q, data: q.data.map((v) => v * 2) }, kNeg = { ...q, data: q.data.map((v) => -v * 2) };
  const small = trueKernel(q2, kNeg);
  assert.ok(small < 0.01, `the kernel is small (${small})`);
  const pos = mse(estimates('favor+', true, q2, kNeg, 16, 600), small);
  const trig = mse(estimates('favor-trig', true, q2, kNeg, 16, 600), small);
  assert.ok(pos < trig / 10, `positive MSE ${pos} far below trigonometric ${trig}`);
});

test('kernelError: figures against softmax; the FAVOR+ error falls as m grows', () => {
  const [n, d] = [48, 16];
  const q = matrix(n, d, 71, 0.8), k = matrix(n, d, 72, 0.8);
  const e = A.kernelError(q, k, { feature: 'favor+', features: 64 });
  const P = A.softmaxWeights(q, k), W = A.kernelWeights(q, k, { feature: 'favor+', features: 64 });
  let maxAbs = 0, sq = 0, refSq = 0;
  for (let i = 0; i < n * n; i++) {
    const err = W.data[i] - P.data[i];
    assert.equal(e.error.data[i], Math.fround(err));
    maxAbs = Math.max(maxAbs, Math.abs(err));
    sq += err * err;
    refSq += P.data[i] ** 2;
  }
  assert.equal(e.maxAbs, maxAbs);
  assert.ok(Math.abs(e.relFrobenius - Math.sqrt(sq / refSq)) < F64_ABS);
  assert.ok(e.klPerRow.every((x) => x >= -KL_FLOOR) && e.meanKL > 0);
  const sweep = A.kernelErrorSweep(q, k, { features: [8, 32, 128, 512], trials: 6,
    variants: [{ feature: 'favor+', orthogonal: true }, { feature: 'favor+', orthogonal: false }] });
  for (const orthogonal of [true, false]) {
    const curve = sweep.filter((r) => r.orthogonal === orthogonal).map((r) => r.relFrobenius);
    for (let i = 1; i < curve.length; i++) assert.ok(curve[i] < curve[i - 1], `falls with m: ${curve}`);
  }
  assert.ok(Math.abs(e.mse - sq / (n * n)) < F64_ABS && Math.abs(e.meanAbs * n * n - e.error.data.reduce((a, b) => a + Math.abs(b), 0)) < F32_FEW_OPS);
  const exactSoftmax = A.kernelError(q, k, { feature: 'favor+', features: 4096 });
  assert.ok(exactSoftmax.relFrobenius < 0.1, `many features approach softmax (${exactSoftmax.relFrobenius})`);
});

test('bad feature options throw AttnError with their codes', () => {
  const q = matrix(4, 3, 1), k = matrix(5, 3, 2), v = matrix(5, 2, 3);
  const cases = [
    [() => A.kernelWeights(q, k, { feature: 'cosine' }), 'ERR_KIND'],
    [() => A.kernelWeights(q, k, { feature: 3 }), 'ERR_TYPE'],
    [() => A.linearAttention(q, k, v, { feature: 'favor+', features: 0 }), 'ERR_RANGE'],
    [() => A.linearAttention(q, k, v, { feature: 'favor+', features: 2.5 }), 'ERR_RANGE'],
    [() => A.featureMap(q, { feature: 'dpfp', nu: 0 }), 'ERR_RANGE'],
    [() => A.featureMap(q, { feature: 'dpfp', nu: 6 }), 'ERR_RANGE'],
    [() => A.featureMap(q, { feature: 'favor+', projection: matrix(8, 4, 1) }), 'ERR_SHAPE'],
    [() => A.featureMap(q, { feature: 'favor+', projection: matrix(8, 3, 1), features: 16 }), 'ERR_SHAPE'],
    [() => A.featureMap(q, { feature: 'favor+', projection: { rows: 1, cols: 3, data: [0, NaN, 1] } }), 'ERR_NONFINITE'],
    [() => A.featureMap({ rows: 1, cols: 3, data: [0, NaN, 1] }, { feature: 'elu+1' }), 'ERR_NONFINITE'],
    [() => A.featureMap(q, { feature: 'elu+1', role: 'value' }), 'ERR_KIND'],
    [() => A.featureMap(q, { feature: 'elu+1', normalize: 'l1' }), 'ERR_KIND'],
    [() => A.featureMap(q, { feature: 'relu', kernelEpsilon: -1 }), 'ERR_RANGE'],
    [() => A.linearAttention(q, k, v, { eps: -1 }), 'ERR_RANGE'],
    [() => A.linearAttention(q, k, matrix(4, 2, 3)), 'ERR_SHAPE'],
    [() => A.linearAttention(q, k), 'ERR_TYPE'],
    [() => A.kernelWeights(matrix(65536, 3, 1), matrix(65536, 3, 2)), 'ERR_MEMORY'],
    [() => A.randomFeatures(0, 3), 'ERR_SHAPE'],
    [() => A.randomFeatures(3, 3, { orthogonal: 'yes' }), 'ERR_TYPE'],
  ];
  for (const [call, code] of cases) {
    assert.throws(call, (err) => err instanceof AttnError && err.code === code, `expected ${code}: ${call}`);
  }
  assert.equal(A.linearAttention(q, k, v).rows, 4, 'the instance still works');
});

test('the sweep shows the Performer paper\'s ordering: positive beats trigonometric, orthogonal beats i.i.d.', () => {
  // Unit-variance entries, as attention inputs are: logits q.k/sqrt(d) have
  // unit variance, so most softmax kernel values are small, the regime where
  // the paper shows positive features win. (With much smaller inputs the
  // kernel is near 1 everywhere and trigonometric features can do better:
  // MSE_trig carries (1 - exp(-|x - y|^2))^2, which vanishes there.)
  const [n, d] = [64, 16];
  const q = matrix(n, d, 81, Math.sqrt(3)), k = matrix(n, d, 82, Math.sqrt(3));
  const sizes = [16, 64, 256];
  const rows = A.kernelErrorSweep(q, k, { features: sizes, trials: 8 });
  const at = (feature, orthogonal, m) => rows.find((r) => r.feature === feature && r.orthogonal === orthogonal && r.features === m);
  let orth = 0, iid = 0;
  for (const m of sizes) {
    for (const o of [true, false]) {
      assert.ok(at('favor+', o, m).mse < at('favor-trig', o, m).mse / 4, `m=${m} orth=${o}: positive far below trig`);
    }
    orth += at('favor+', true, m).mse;
    iid += at('favor+', false, m).mse;
  }
  assert.ok(orth < iid, `orthogonal ${orth} below i.i.d. ${iid} over the curve`);
  assert.equal(rows.length, 4 * sizes.length);
});
