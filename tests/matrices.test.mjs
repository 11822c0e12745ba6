// The Matrices view's sparse mechanism and its fast path (web/src/approximate.js),
// against float64 recomputations written here from the definitions: a mask's
// weights are softmax over the kept keys (renormalised), the mass it keeps is
// Σ_j P_ij over them, the summary figures are those of compareWeights, and a
// pooled picture shows the entry of largest magnitude of each block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMatrices, summarize } from '../web/src/approximate.js';
import { parseState } from '../web/src/state.js';
import { VIRIDIS, PUOR } from '../web/src/colors.js';
import { createAttn } from '../wasm/attn.js';
import { softmaxWeightsRef } from './reference.mjs';

const A = await createAttn();
const run = (hash, extra = {}) => computeMatrices(A, { state: parseState(hash), ...extra }, async () => {});
const relClose = (got, want, rel, what) => assert.ok(Math.abs(got - want) <= rel * Math.abs(want) + 1e-9, `${what}: ${got} vs ${want}`);

/** Float64 figures of a mask on the view's inputs: masked weights, kept mass per row, errors. */
function sparseRef(q, k, v, mask) {
  const [n, dv] = [q.rows, v.cols];
  const P = softmaxWeightsRef(q, k), W = softmaxWeightsRef(q, k, { mask });
  const kept = new Float64Array(n);
  let num = 0, den = 0, yNum = 0, yDen = 0, nnz = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const at = i * n + j;
      if (mask.data[at]) { kept[i] += P[at]; nnz++; }
      num += (W[at] - P[at]) ** 2;
      den += P[at] ** 2;
    }
    for (let c = 0; c < dv; c++) {
      let y = 0, ys = 0;
      for (let j = 0; j < n; j++) { y += P[i * n + j] * v.data[j * dv + c]; ys += W[i * n + j] * v.data[j * dv + c]; }
      yNum += (ys - y) ** 2;
      yDen += y * y;
    }
  }
  return { P, W, kept, nnz, relFrobenius: Math.sqrt(num / den), yErr: Math.sqrt(yNum / yDen) };
}

test('sparse: a local window keeps most softmax mass on local inputs, little on clustered or random ones; the figures equal a float64 recomputation', async () => {
  const [n, d, window, seed] = [96, 32, 4, 2];
  const kept = {};
  for (const inputs of ['local', 'clustered', 'random']) {
    const r = await run(`#view=matrices&scale=1&mechanism=sparse&kind=local&window=${window}&inputs=${inputs}&n=${n}&d=${d}&seed=${seed}`);
    kept[inputs] = r.sparse.kept.mean;
    // The mask is the local window by definition: |i - j| <= window.
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      assert.equal(Boolean(r.sparse.mask[i * n + j]), Math.abs(i - j) <= window, `mask (${i}, ${j})`);
    }
    const made = inputs === 'random'
      ? { q: A.randn(n, d, { seed }), k: A.randn(n, d, { seed: seed + 1 }) } : A.inputs(inputs, n, d, { seed, scale: 1 });
    const ref = sparseRef(made.q, made.k, made.v ?? made.k, { data: r.sparse.mask });
    assert.equal(r.sparse.nnz, ref.nnz);
    assert.equal(r.sparse.density, ref.nnz / (n * n));
    let worst = 0;
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(r.sparse.keptPerRow[i] - ref.kept[i]) <= 1e-5, `${inputs}: kept mass of row ${i}`);
      for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(r.W.data[i * n + j] - ref.W[i * n + j]));
    }
    assert.ok(worst <= 1e-5, `${inputs}: masked weights within 1e-5 of float64 (worst ${worst})`);
    const mean = ref.kept.reduce((a, b) => a + b, 0) / n, min = Math.min(...ref.kept);
    relClose(r.sparse.kept.mean, mean, 1e-5, `${inputs}: mean kept`);
    relClose(r.sparse.kept.min, min, 1e-4, `${inputs}: min kept`);
    assert.equal(r.sparse.kept.argmin, ref.kept.indexOf(min));
    relClose(r.relFrobenius, ref.relFrobenius, 1e-4, `${inputs}: relative Frobenius error`);
    if (inputs === 'random') assert.equal(r.yErr, null, 'random inputs have no V of their own');
    else relClose(r.yErr, ref.yErr, 1e-3, `${inputs}: output error (V from the generator)`);
  }
  // The lesson: the window holds a local head's mass (the generator puts ~98 % within width 4) and little else's.
  assert.ok(kept.local > 0.9, `local inputs: ${kept.local}`);
  assert.ok(kept.clustered < 0.3 && kept.random < 0.3, `clustered ${kept.clustered}, random ${kept.random}`);
  assert.ok(kept.local > kept.random + 0.5, 'higher on local inputs than on random ones');
});

test('sparse: every mask kind of the brief runs on structured inputs; kept mass in [0, 1] and 1 where the mask is full', async () => {
  for (const kind of ['local', 'strided', 'longformer', 'bigbird', 'lsh', 'kmeans', 'full']) {
    const r = await run(`#view=matrices&scale=1&mechanism=sparse&kind=${kind}&inputs=mixture&n=64&d=16&block=8`);
    assert.ok(r.sparse.density > 0 && r.sparse.density <= 1, kind);
    for (const x of r.sparse.keptPerRow) assert.ok(x >= 0 && x <= 1 + 1e-6, `${kind}: kept ${x}`);
    assert.ok(r.sparse.kept.min <= r.sparse.kept.mean, kind);
    if (kind === 'full') {
      assert.ok(Math.abs(r.sparse.kept.mean - 1) <= 1e-5 && r.maxAbs <= 1e-6, 'a full mask is softmax itself');
    }
  }
  // Causal: the mask allows no key after its query, and the reference is causal softmax.
  const c = await run('#view=matrices&scale=1&mechanism=sparse&kind=local&window=3&causal=1&inputs=local&n=32&d=16');
  for (let i = 0; i < 32; i++) for (let j = i + 1; j < 32; j++) assert.equal(c.sparse.mask[i * 32 + j], 0);
  assert.equal(c.P.data[5], 0, 'causal softmax: row 0 sees key 0 only');
  // A mask is n × n: different numbers of queries and keys are the reader's to fix.
  const q = A.randn(6, 4, { seed: 1 }), k = A.randn(8, 4, { seed: 2 });
  await assert.rejects(computeMatrices(A, { state: parseState('#view=matrices&scale=1&mechanism=sparse&kind=local'), user: { q, k } }, async () => {}),
    /mask is n × n: it needs as many keys as queries \(Q has 6 rows, K 8\)/);
});

test('summarize: the one-pass figures equal a float64 comparison of the same matrices', async () => {
  const r = await run('#view=matrices&mechanism=kernel&feature=favor-trig&features=16&inputs=mixture&n=40&d=8&scale=0.5');
  const { P, W } = r;
  let maxAbs = 0, sumAbs = 0, sq = 0, ref = 0, kl = 0, top = 0, low = 0;
  for (let i = 0; i < P.data.length; i++) {
    const [p, w] = [P.data[i], W.data[i]], e = w - p;
    maxAbs = Math.max(maxAbs, Math.abs(e)); sumAbs += Math.abs(e); sq += e * e; ref += p * p;
    if (p > 0) kl += p * Math.log(p / Math.max(w, 1e-30));
    top = Math.max(top, p, w); low = Math.min(low, w);
    assert.equal(r.E.data[i], Math.fround(e), `error entry ${i}`);
  }
  assert.ok(low < 0, 'trigonometric features give negative weights here');
  const s = summarize(W, P);
  relClose(s.maxAbs, maxAbs, 1e-12, 'max |error|');
  relClose(s.meanAbs, sumAbs / P.data.length, 1e-9, 'mean |error|');
  relClose(s.relFrobenius, Math.sqrt(sq / ref), 1e-9, 'relative Frobenius');
  relClose(s.meanKL, kl / P.rows, 1e-9, 'mean KL');
  assert.equal(s.top, top);
  assert.equal(s.low, low);
  assert.deepEqual(r.scales[1], { lut: 'puor', min: -Math.max(top, -low), max: Math.max(top, -low) }, 'negative weights: diverging scale');
  // The API's compareWeights says the same.
  const api = A.compareWeights(W, P);
  relClose(s.relFrobenius, api.relFrobenius, 1e-12, 'as compareWeights');
  relClose(s.meanKL, api.meanKL, 1e-12, 'as compareWeights');
});

test('pictures shown smaller than the matrix: each pixel is the entry of largest magnitude in its block; the data stay whole', async () => {
  const [n, pixels] = [100, 32];
  const r = await run(`#view=matrices&mechanism=kernel&feature=relu&inputs=local&n=${n}&d=16`, { pixels });
  const pool = Math.ceil(n / pixels);
  assert.deepEqual(r.image, { rows: Math.ceil(n / pool), cols: Math.ceil(n / pool), pool });
  assert.equal(r.P.data.length, n * n);
  const colour = (lut, x) => { const c = Math.min(255, Math.max(0, Math.round(x * 255))); return [...lut.subarray(3 * c, 3 * c + 3), 255]; };
  const c = r.image.cols;
  for (let bi = 0; bi < r.image.rows; bi++) {
    for (let bj = 0; bj < c; bj++) {
      for (const [M, pixelsOf, toUnit, lut] of [[r.P, r.images[0], (x) => x / r.top, VIRIDIS],
        [r.E, r.images[2], (x) => (x + r.span) / (2 * r.span), PUOR]]) {
        let best = 0;
        for (let i = bi * pool; i < Math.min(n, (bi + 1) * pool); i++) {
          for (let j = bj * pool; j < Math.min(n, (bj + 1) * pool); j++) if (Math.abs(M.data[i * n + j]) > Math.abs(best)) best = M.data[i * n + j];
        }
        const at = 4 * (bi * c + bj);
        assert.deepEqual(Array.from(pixelsOf.subarray(at, at + 4)), colour(lut, toUnit(best)), `block (${bi}, ${bj})`);
      }
    }
  }
  // Without `pixels` (or when the matrix fits) one pixel per entry.
  const full = await run(`#view=matrices&mechanism=kernel&feature=relu&inputs=local&n=${n}&d=16`);
  assert.deepEqual(full.image, { rows: n, cols: n, pool: 1 });
});

test('the softmax reference is kept between jobs without being handed away: a transferred result leaves the next one whole', async () => {
  const hash = '#view=matrices&scale=1&mechanism=sparse&kind=local&inputs=local&n=48&d=16&seed=7';
  const first = await run(hash);
  const copy = Float32Array.from(first.P.data);
  // The worker transfers every buffer a result owns (web/src/worker.js): detach them here as it would.
  structuredClone(first, { transfer: [first.P.data.buffer, first.W.data.buffer, first.E.data.buffer] });
  assert.equal(first.P.data.length, 0, 'transferred');
  const second = await run(hash.replace('kind=local', 'kind=strided'));
  assert.deepEqual(second.P.data, copy, 'the same softmax weights, intact');
  const made = A.inputs('local', 48, 16, { seed: 7, scale: 1 });
  const ref = softmaxWeightsRef(made.q, made.k);
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(second.P.data[i] - ref[i]) <= 1e-5 * ref[i] + 1e-7, `P entry ${i}`);
  // A new seed makes new inputs (not the kept ones).
  const other = await run(hash.replace('seed=7', 'seed=8'));
  assert.notDeepEqual(other.P.data, copy);
});

test('sorted by bucket: k-means on clustered inputs finds the clusters (all the mass kept) and the pictures show tokens in bucket order', async () => {
  const n = 64;
  const r = await run(`#view=matrices&scale=1&mechanism=sparse&kind=kmeans&clusters=4&sorted=1&inputs=clustered&n=${n}&d=16&seed=3`);
  const { order } = r.sparse;
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), 'a permutation');
  const made = A.inputs('clustered', n, 16, { seed: 3, scale: 1 });
  // Tokens of one generator cluster are contiguous in the order (k-means found the clusters).
  const runs = order.reduce((count, t, i) => count + (i > 0 && made.meta.cluster[t] !== made.meta.cluster[order[i - 1]] ? 1 : 0), 1);
  assert.equal(runs, 4, 'four contiguous clusters');
  assert.ok(r.sparse.kept.min > 0.99, `every row keeps its mass: min ${r.sparse.kept.min}`);
  // Picture pixel (row, col) is the colour of P[order[row], order[col]]; the data stay in token order.
  const colour = (x) => { const c = Math.min(255, Math.max(0, Math.round((x / r.top) * 255))); return [...VIRIDIS.subarray(3 * c, 3 * c + 3), 255]; };
  for (let row = 0; row < n; row += 7) {
    for (let col = 0; col < n; col += 5) {
      const at = 4 * (row * n + col);
      assert.deepEqual(Array.from(r.images[0].subarray(at, at + 4)), colour(r.P.data[order[row] * n + order[col]]), `(${row}, ${col})`);
    }
  }
  const unsorted = await run(`#view=matrices&scale=1&mechanism=sparse&kind=kmeans&clusters=4&inputs=clustered&n=${n}&d=16&seed=3`);
  assert.equal(unsorted.sparse.order, null);
  assert.deepEqual(unsorted.P.data, r.P.data);
});
