// The gradients of softmax and sparse attention through the JS API
// (softmaxAttentionBackward, sparseAttentionBackward, softmaxAttention's lse):
// against a float64 gradient written here, itself checked against central
// differences of a float64 forward; the streaming backward at n = 16384 with a
// workspace linear in n; sparse (dense and CSR masks) against softmax with the
// same mask; errors. tests/native/test_backward_softmax.c does the same at
// every tile-boundary size with both kernel tables under ASan/UBSan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn } from '../wasm/attn.js';
import createAttnCore from '../wasm/build/attn-core.mjs';
import { matrix } from './reference.mjs';
import { GRAD_FD, GRAD_FD_H, GRADIENT_ROUNDINGS, U } from './tolerances.mjs';

/** The relative tolerance of a float32 gradient entry against float64, times its mag (tolerances.mjs). */
const gradientRel = ({ n, m, d, dv, amax, lseMax }) => GRADIENT_ROUNDINGS * U * (d * (1 + 2 * amax) + dv + n + m + lseMax + 8);

const simd = await createAttn();
const scalar = await createAttn({ kernels: 'scalar' });

const allowed = (i, j, m, causal, mask) => !(causal && j > i) && !(mask && !mask.data[i * m + j]);

/** L = sum dY o Y in float64 for float64 inputs (arrays), scale as given. */
function loss64(pb, q, k, v, dy) {
  const { n, m, d, dv, scale, causal, mask } = pb;
  let L = 0;
  const s = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let j = 0; j < m; j++) {
      if (!allowed(i, j, m, causal, mask)) continue;
      let acc = 0;
      for (let l = 0; l < d; l++) acc += q[i * d + l] * k[j * d + l];
      s[j] = scale * acc;
      mx = Math.max(mx, s[j]);
    }
    if (mx === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < m; j++) if (allowed(i, j, m, causal, mask)) sum += Math.exp(s[j] - mx);
    for (let j = 0; j < m; j++) {
      if (!allowed(i, j, m, causal, mask)) continue;
      let pv = 0;
      for (let c = 0; c < dv; c++) pv += dy[i * dv + c] * v[j * dv + c];
      L += (Math.exp(s[j] - mx) / sum) * pv;
    }
  }
  return L;
}

/**
 * The exact gradients in float64 (the formulas of src/attn.h, "backward"),
 * the magnitude sums of their terms (tolerances.mjs, gradientRel), lse, amax.
 */
function gradients64(pb, q, k, v, dy) {
  const { n, m, d, dv, scale, causal, mask } = pb;
  const as = Math.abs(scale);
  const R = {
    dq: new Float64Array(n * d), dk: new Float64Array(m * d), dv: new Float64Array(m * dv),
    aq: new Float64Array(n * d), ak: new Float64Array(m * d), av: new Float64Array(m * dv),
    lse: new Float64Array(n), amax: 0, lseMax: 0,
  };
  const p = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let j = 0; j < m; j++) {
      let acc = 0, a = 0;
      for (let l = 0; l < d; l++) {
        acc += q[i * d + l] * k[j * d + l];
        a += Math.abs(q[i * d + l] * k[j * d + l]);
      }
      R.amax = Math.max(R.amax, as * a);
      p[j] = allowed(i, j, m, causal, mask) ? scale * acc : -Infinity;
      mx = Math.max(mx, p[j]);
    }
    if (mx === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < m; j++) sum += p[j] === -Infinity ? 0 : Math.exp(p[j] - mx);
    R.lse[i] = mx + Math.log(sum);
    R.lseMax = Math.max(R.lseMax, Math.abs(R.lse[i]));
    for (let j = 0; j < m; j++) p[j] = p[j] === -Infinity ? 0 : Math.exp(p[j] - mx) / sum;
    let D = 0, Da = 0;
    for (let c = 0; c < dv; c++) {
      let y = 0, ya = 0;
      for (let j = 0; j < m; j++) {
        y += p[j] * v[j * dv + c];
        ya += p[j] * Math.abs(v[j * dv + c]);
      }
      D += dy[i * dv + c] * y;
      Da += Math.abs(dy[i * dv + c]) * ya;
    }
    for (let j = 0; j < m; j++) {
      if (p[j] === 0) continue;
      let dp = 0, dpa = 0;
      for (let c = 0; c < dv; c++) {
        dp += dy[i * dv + c] * v[j * dv + c];
        dpa += Math.abs(dy[i * dv + c] * v[j * dv + c]);
      }
      const ds = p[j] * (dp - D), t = p[j] * (dpa + Da);
      for (let l = 0; l < d; l++) {
        R.dq[i * d + l] += scale * ds * k[j * d + l];
        R.aq[i * d + l] += as * t * Math.abs(k[j * d + l]);
        R.dk[j * d + l] += scale * ds * q[i * d + l];
        R.ak[j * d + l] += as * t * Math.abs(q[i * d + l]);
      }
      for (let c = 0; c < dv; c++) {
        R.dv[j * dv + c] += p[j] * dy[i * dv + c];
        R.av[j * dv + c] += p[j] * Math.abs(dy[i * dv + c]);
      }
    }
  }
  return R;
}

/** A mask with about 60 % allowed and row 1 fully blocked. */
function someMask(n, m, seed) {
  const r = matrix(n, m, seed);
  return { rows: n, cols: m, data: Uint8Array.from(r.data, (x, idx) => (Math.floor(idx / m) === 1 ? 0 : x > -0.2 ? 1 : 0)) };
}

/** Largest |got - want| / (rel * mag) over a gradient (<= 1 passes). */
function excess(got, want, mag, rel) {
  let worst = 0;
  for (let x = 0; x < want.length; x++) {
    const err = Math.abs(got[x] - want[x]);
    if (!(err <= rel * mag[x])) worst = Math.max(worst, Number.isNaN(err) ? Infinity : err / (rel * mag[x] || Number.MIN_VALUE));
  }
  return worst;
}

const CASES = [[1, 1, 1], [4, 4, 8], [5, 17, 3], [17, 17, 8], [33, 33, 16], [40, 129, 64]];  // [n, m, d]

for (const [n, m, d] of CASES) {
  const dv = d === 8 ? 13 : d;
  test(`n=${n} m=${m} d=${d} dv=${dv}: softmaxAttentionBackward equals float64 (checked by central differences), causal, mask, lse given, both tables`, () => {
    const Q = matrix(n, d, 1, 1.5), K = matrix(m, d, 2, 1.5), V = matrix(m, dv, 3), DY = matrix(n, dv, 4);
    for (const causal of [false, true]) {
      for (const mask of [null, someMask(n, m, 5)]) {
        const scale = Math.fround(1 / Math.sqrt(d));
        const pb = { n, m, d, dv, scale, causal, mask };
        const [q, k, v, dy] = [Q, K, V, DY].map((x) => Float64Array.from(x.data));
        const R = gradients64(pb, q, k, v, dy);
        // the float64 gradient against central differences at sampled entries (first, last, a middle one)
        for (const [x, g, mag, name] of [[q, R.dq, R.aq, 'q'], [k, R.dk, R.ak, 'k'], [v, R.dv, R.av, 'v']]) {
          for (const at of new Set([0, x.length - 1, x.length >> 1, (x.length * 3) >> 2])) {
            const keep = x[at];
            x[at] = keep + GRAD_FD_H;
            const up = loss64(pb, q, k, v, dy);
            x[at] = keep - GRAD_FD_H;
            const down = loss64(pb, q, k, v, dy);
            x[at] = keep;
            const fd = (up - down) / (2 * GRAD_FD_H);
            assert.ok(Math.abs(fd - g[at]) <= GRAD_FD * (1 + mag[at]), `d${name}[${at}]: central difference ${fd}, exact ${g[at]}`);
          }
        }
        const rel = gradientRel({ n, m, d, dv, amax: R.amax, lseMax: R.lseMax });
        const opts = { causal, mask, scale };
        for (const A of [simd, scalar]) {
          const Y = A.softmaxAttention(Q, K, V, { ...opts, lse: true });
          assert.deepEqual(Y.data, A.softmaxAttention(Q, K, V, opts).data, 'lse: true changes nothing else');
          for (let i = 0; i < n; i++) {
            // lse: d-term logits, an m-term float32 sum, two roundings (as the native test)
            const tol = 2 ** -24 * ((d + 2) * R.amax + m + 2 * Math.abs(R.lse[i]) + 4);
            assert.ok(Math.abs(Y.lse[i] - R.lse[i]) <= tol, `lse[${i}] ${Y.lse[i]} vs ${R.lse[i]}`);
          }
          for (const extra of [{}, { out: Y, lse: Y.lse }]) {
            const G = A.softmaxAttentionBackward(Q, K, V, DY, { ...opts, ...extra });
            assert.deepEqual([G.dq.rows, G.dq.cols, G.dk.rows, G.dk.cols, G.dv.rows, G.dv.cols], [n, d, m, d, m, dv]);
            const how = `${A.kernels}, causal ${causal}, mask ${!!mask}, lse ${'lse' in extra ? 'given' : 'recomputed'}`;
            for (const [got, want, mag, name] of [[G.dq, R.dq, R.aq, 'dq'], [G.dk, R.dk, R.ak, 'dk'], [G.dv, R.dv, R.av, 'dv']]) {
              const e = excess(got.data, want, mag, rel);
              assert.ok(e <= 1, `${how}: ${name} off by ${e.toFixed(2)} x the tolerance`);
            }
          }
        }
      }
    }
  });
}

test('sparseAttentionBackward: dense mask = CSR mask (identical), = softmaxAttentionBackward with the same mask, = float64', () => {
  const n = 37, d = 16, dv = 9;
  const Q = matrix(n, d, 11, 1.5), K = matrix(n, d, 12, 1.5), V = matrix(n, dv, 13), DY = matrix(n, dv, 14);
  const scale = Math.fround(1 / Math.sqrt(d));
  for (const dense of [simd.mask('local', n, { window: 3 }), simd.mask('bigbird', 36, {}), someMask(n, n, 15)]) {
    const N = dense.rows;
    const [q, k, v, dy] = [Q, K, V, DY].map((x) => ({ rows: N, cols: x.cols, data: x.data.slice(0, N * x.cols) }));
    const csrOf = {
      format: 'csr', rows: N, cols: N,
      indptr: Int32Array.from({ length: N + 1 }, (_, i) => dense.data.slice(0, i * N).reduce((a, x) => a + (x !== 0), 0)),
      indices: Int32Array.from([...dense.data.keys()].filter((x) => dense.data[x] !== 0).map((x) => x % N)),
    };
    for (const A of [simd, scalar]) {
      const viaDense = A.sparseAttentionBackward(q, k, v, dense, dy);
      const viaCSR = A.sparseAttentionBackward(q, k, v, csrOf, dy);
      for (const g of ['dq', 'dk', 'dv']) assert.deepEqual(viaDense[g].data, viaCSR[g].data, `${g}: dense and CSR masks`);
      const streaming = A.softmaxAttentionBackward(q, k, v, dy, { mask: dense });
      const pb = { n: N, m: N, d, dv, scale, causal: false, mask: dense };
      const R = gradients64(pb, ...[q, k, v, dy].map((x) => Float64Array.from(x.data)));
      const rel = gradientRel({ n: N, m: N, d, dv, amax: R.amax, lseMax: R.lseMax });
      for (const [g, want, mag] of [['dq', R.dq, R.aq], ['dk', R.dk, R.ak], ['dv', R.dv, R.av]]) {
        assert.ok(excess(viaDense[g].data, want, mag, rel) <= 1, `${A.kernels} sparse ${g} against float64`);
        // both within rel * mag of float64, so within 2 rel * mag of each other
        const sparse64 = Float64Array.from(viaDense[g].data);
        assert.ok(excess(streaming[g].data, sparse64, mag, 2 * rel) <= 1, `${A.kernels} ${g}: sparse = streaming with the mask`);
      }
    }
  }
});

test('the streaming backward runs at n = 16384, d = 16, with a workspace linear in n (O(n) memory)', async () => {
  const mod = await createAttnCore();  // the workspace query, straight from the core
  const out = mod._malloc(4);
  const ws = (n, m) => {
    assert.equal(mod._attn_softmax_attention_backward_workspace(n, m, 16, 16, out), 0);
    return mod.HEAPU32[out >>> 2];
  };
  // independent of n for a fixed m, affine in n = m: O(n) memory, no n x m term
  assert.equal(ws(1024, 4096), ws(16384, 4096));
  const [a, b, c] = [4096, 8192, 16384].map((n) => ws(n, n));
  assert.equal(c - b, 2 * (b - a), 'workspace(n) is affine in n');
  assert.ok(c < 16384 * 16 * 8, `workspace ${c} floats: a few copies of K and V`);
  mod._free(out);

  const n = 16384, d = 16, scale = 0.25;
  const [k, v, dy] = [2, 3, 4].map((seed) => simd.randn(n, d, { seed }));
  const colAbs = (x, c) => x.data.reduce((acc, y, idx) => acc + (idx % d === c ? Math.abs(y) : 0), 0);
  const colSum = (x, c) => x.data.reduce((acc, y, idx) => acc + (idx % d === c ? y : 0), 0);

  // q = 0: every weight is 1/n, and the gradients have closed forms in O(n d^2):
  // dv_j = mean_i dy_i, dk = 0, dq_i = scale C dy_i with C = (1/n) sum_j k_j (v_j - mean v)^T
  const zero = { rows: n, cols: d, data: new Float32Array(n * d) };
  const G0 = simd.softmaxAttentionBackward(zero, k, v, dy);
  assert.ok(G0.dk.data.every((x) => x === 0), 'q = 0: dk = 0');
  const rel0 = gradientRel({ n, m: n, d, dv: d, amax: 0, lseMax: Math.log(n) });
  for (let c = 0; c < d; c++) {
    const want = colSum(dy, c) / n, mag = colAbs(dy, c) / n;
    for (let j = 0; j < n; j++) {
      assert.ok(Math.abs(G0.dv.data[j * d + c] - want) <= rel0 * mag, `q = 0: dv[${j}][${c}]`);
    }
  }
  const vbar = Array.from({ length: d }, (_, c) => colSum(v, c) / n), vabs = Array.from({ length: d }, (_, c) => colAbs(v, c) / n);
  const C = new Float64Array(d * d);
  for (let j = 0; j < n; j++) {
    for (let l = 0; l < d; l++) for (let c = 0; c < d; c++) C[l * d + c] += k.data[j * d + l] * (v.data[j * d + c] - vbar[c]) / n;
  }
  for (const i of [0, 1, n >> 1, n - 1]) {
    const g = dy.data.subarray(i * d, i * d + d);
    const gabs = g.reduce((acc, x, c) => acc + Math.abs(x) * vabs[c], 0);  // sum_c |dy_c| mean_j |v_jc|
    for (let l = 0; l < d; l++) {
      let want = 0, mag = 0;
      for (let c = 0; c < d; c++) want += scale * C[l * d + c] * g[c];
      for (let j = 0; j < n; j++) {  // |scale| sum_j P_ij T_ij |k_jl|
        let t = gabs;
        for (let c = 0; c < d; c++) t += Math.abs(g[c] * v.data[j * d + c]);
        mag += scale * t * Math.abs(k.data[j * d + l]) / n;
      }
      assert.ok(Math.abs(G0.dq.data[i * d + l] - want) <= rel0 * mag, `q = 0: dq[${i}][${l}] ${G0.dq.data[i * d + l]} vs ${want}`);
    }
  }

});

test('random q, k, v at n = 4096, causal: sum_j dv_j = sum_i dy_i (each row of P sums to 1)', () => {
  const n = 4096, d = 16, scale = 0.25;
  const [q, k, v, dy] = [5, 6, 7, 8].map((seed) => simd.randn(n, d, { seed }));
  const colAbs = (x, c) => x.data.reduce((acc, y, idx) => acc + (idx % d === c ? Math.abs(y) : 0), 0);
  const colSum = (x, c) => x.data.reduce((acc, y, idx) => acc + (idx % d === c ? y : 0), 0);
  const norms = (x) => Math.max(...Array.from({ length: n }, (_, i) => Math.hypot(...x.data.subarray(i * d, i * d + d))));
  const G = simd.softmaxAttentionBackward(q, k, v, dy, { causal: true });
  // within the bound with amax <= scale max|q_i| max|k_j| (Cauchy-Schwarz) and |lse| <= amax + log n
  const amax = scale * norms(q) * norms(k);
  const rel = gradientRel({ n, m: n, d, dv: d, amax, lseMax: amax + Math.log(n) });
  for (let c = 0; c < d; c++) {
    const got = colSum(G.dv, c), want = colSum(dy, c);
    assert.ok(Math.abs(got - want) <= rel * colAbs(dy, c), `column ${c}: sum of dv ${got}, of dy ${want}`);
  }
  for (const g of [G.dq, G.dk, G.dv]) assert.equal(g.data.length, n * d);
});

test('errors: stable codes and messages naming the function and the argument', () => {
  const q = matrix(4, 2, 1), k = matrix(4, 2, 2), v = matrix(4, 3, 3), dy = matrix(4, 3, 4);
  const A = simd;
  const throwsCode = (f, code, re) => assert.throws(f, (e) => e.name === 'AttnError' && e.code === code && re.test(e.message));
  throwsCode(() => A.softmaxAttentionBackward(q, k, v), 'ERR_TYPE', /^softmaxAttentionBackward: dy is required/);
  throwsCode(() => A.softmaxAttentionBackward(q, k, v, matrix(4, 2, 4)), 'ERR_SHAPE', /^softmaxAttentionBackward: dy is \[4x2\]/);
  throwsCode(() => A.softmaxAttentionBackward(q, k, v, dy, { casual: true }), 'ERR_OPTION', /did you mean 'causal'/);
  throwsCode(() => A.softmaxAttentionBackward(q, k, v, dy, { lse: [0, 0, 0, 0] }), 'ERR_OPTION', /out and lse go together/);
  const Y = A.softmaxAttention(q, k, v, { lse: true });
  throwsCode(() => A.softmaxAttentionBackward(q, k, v, dy, { out: Y, lse: [0, 0, 0] }), 'ERR_SHAPE', /lse has 3 entries/);
  throwsCode(() => A.softmaxAttentionBackward(q, k, v, dy, { out: Y, lse: [0, NaN, 0, 0] }), 'ERR_NONFINITE', /lse has NaN at 1/);
  throwsCode(() => A.softmaxAttentionBackward(q, k, v, dy, { out: Y, lse: 'x' }), 'ERR_TYPE', /lse must be/);
  const bad = { rows: 4, cols: 3, data: Float32Array.from(dy.data, (x, i) => (i === 5 ? Infinity : x)) };
  throwsCode(() => A.softmaxAttentionBackward(q, k, v, bad), 'ERR_NONFINITE', /^softmaxAttentionBackward: dy has Infinity/);
  const big = { rows: 4, cols: 2, data: new Float32Array(8).fill(1e20) };
  throwsCode(() => A.softmaxAttentionBackward(big, big, v, dy), 'ERR_OVERFLOW', /\(attn_softmax_attention_backward\)$/);
  throwsCode(() => A.softmaxWeights(q, k, { lse: true }), 'ERR_OPTION', /unknown option 'lse'/);
  throwsCode(() => A.sparseAttentionBackward(q, k, v, A.mask('local', 4), undefined), 'ERR_TYPE', /^sparseAttentionBackward: dy is required/);
  throwsCode(() => A.sparseAttentionBackward(q, k, v, null, dy), 'ERR_TYPE', /mask is required/);
  throwsCode(() => A.sparseAttentionBackward(big, big, v, A.mask('local', 4), dy), 'ERR_OVERFLOW', /\(attn_sparse_attention_backward\)$/);
  throwsCode(() => A.sparseAttentionBackward(q, k, v, A.mask('local', 4), dy, { causal: true }), 'ERR_OPTION', /unknown option 'causal'/);
  // the instance stays usable
  assert.equal(A.softmaxAttentionBackward(q, k, v, dy).dq.rows, 4);
});
