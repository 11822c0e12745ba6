// Every mask kind against an independent construction from its rule (attn.h
// and docs/mechanisms.md, "Sparse attention"), CSR against dense, the data-driven
// kinds, maskInfo / maskCompose / maskLayers, and sparse attention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { matrix, softmaxWeightsRef, outputsExcess } from './reference.mjs';
import { F32_REL, PATHS_AGREE } from './tolerances.mjs';

const A = await createAttn();
const B = A.MASK_BITS;

/** Asserts mask[i][j] === rule(i, j) for all cells (rule returns the bits, 0 when blocked). */
function expectRule(mask, n, rule, what) {
  assert.deepEqual([mask.rows, mask.cols, mask.data.length], [n, n, n * n], what);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const want = rule(i, j);
      if (mask.data[i * n + j] !== want) assert.fail(`${what}: (${i}, ${j}) is ${mask.data[i * n + j]}, rule says ${want}`);
    }
  }
}

const bit = (cond, b) => (cond ? b : 0);
const mod = (a, b) => ((a % b) + b) % b;

for (const n of [1, 7, 64, 100, 1000]) {
  test(`deterministic kinds follow their rules at n=${n}`, () => {
    const root = Math.max(1, Math.round(Math.sqrt(n)));
    expectRule(A.mask('full', n), n, () => B.local, 'full');
    expectRule(A.mask('causal', n), n, (i, j) => bit(j <= i, B.local), 'causal');
    for (const window of [0, 1, 3, 200]) {
      expectRule(A.mask('local', n, { window }), n, (i, j) => bit(Math.abs(i - j) <= window, B.local), `local ${window}`);
      expectRule(A.mask('local', n, { window, causal: true }), n, (i, j) => bit(i - j >= 0 && i - j <= window, B.local),
        `causal local ${window}`);
    }
    expectRule(A.mask('local', n), n, (i, j) => bit(Math.abs(i - j) <= Math.floor(Math.sqrt(n)), B.local), 'local default');
    for (const stride of [1, 3, root]) {
      expectRule(A.mask('strided', n, { stride }), n, (i, j) => bit(mod(i - j, stride) === 0, B.strided), `strided ${stride}`);
      expectRule(A.mask('strided', n, { stride, causal: true }), n, (i, j) => bit(j <= i && (i - j) % stride === 0, B.strided),
        `causal strided ${stride}`);
      // Sparse Transformer "strided": causal local(l - 1) and causal strided(l).
      expectRule(A.mask('sparse-transformer', n, { stride }), n,
        (i, j) => bit(i - j >= 0 && i - j <= stride - 1, B.local) | bit(j <= i && (i - j) % stride === 0, B.strided),
        `sparse-transformer ${stride}`);
    }
    for (const [window, dilation] of [[0, 1], [2, 2], [3, 5]]) {
      const dil = (i, j, causal) => {
        const diff = i - j;
        return diff % dilation === 0 && Math.abs(diff / dilation) <= window && (!causal || diff >= 0);
      };
      expectRule(A.mask('dilated', n, { window, dilation }), n, (i, j) => bit(dil(i, j, false), B.local), `dilated ${window},${dilation}`);
      expectRule(A.mask('dilated', n, { window, dilation, causal: true }), n, (i, j) => bit(dil(i, j, true), B.local),
        `causal dilated ${window},${dilation}`);
      const tokens = n > 5 ? [0, 5] : [0];
      const g = (i, j) => tokens.includes(i) || tokens.includes(j);
      expectRule(A.mask('longformer', n, { window, dilation, tokens }), n,
        (i, j) => bit(dil(i, j, false), B.local) | bit(g(i, j), B.global), `longformer ${window},${dilation}`);
      expectRule(A.mask('global', n, { tokens }), n, (i, j) => bit(g(i, j), B.global), 'global');
    }
    for (const [block, summary] of [[1, 1], [4, 1], [4, 2], [root, 1], [8, 8]]) {
      expectRule(A.mask('fixed', n, { block, summary }), n,
        (i, j) => bit(j <= i && Math.floor(j / block) === Math.floor(i / block), B.local)
          | bit(j <= i && j % block >= block - summary, B.strided), `fixed ${block},${summary}`);
    }
  });
}

/** BigBird: checks global, window and random parts of a mask from its rule. */
function checkBigBird(mask, n, { block, windowBlocks = 3, globalBlocks = 1, randomBlocks = 3 }) {
  const nb = n / block, half = (windowBlocks - 1) / 2;
  const isGlobal = (c) => c < globalBlocks || c >= nb - globalBlocks;
  const randomOf = [];
  for (let bi = 0; bi < nb; bi++) {
    const candidates = [];
    for (let c = 0; c < nb; c++) if (!isGlobal(c) && Math.abs(c - bi) > half) candidates.push(c);
    const chosen = [];
    for (let c = 0; c < nb; c++) {
      // A random block is filled for every row of the block-row, with the random bit only.
      const rows = Array.from({ length: block }, (_, r) => bi * block + r);
      const cells = rows.flatMap((i) => Array.from({ length: block }, (_, t) => mask.data[i * n + c * block + t]));
      if (cells.some((v) => v & B.random)) {
        assert.ok(cells.every((v) => v === cells[0]), `block (${bi}, ${c}) is filled uniformly`);
        chosen.push(c);
      }
    }
    if (isGlobal(bi)) assert.deepEqual(chosen, [], `global block-row ${bi} has no random blocks`);
    else {
      assert.equal(chosen.length, Math.min(randomBlocks, candidates.length), `block-row ${bi}: min(r, available) random blocks`);
      for (const c of chosen) assert.ok(candidates.includes(c), `block-row ${bi}: random block ${c} is outside window and global`);
    }
    randomOf.push(chosen);
  }
  expectRule(mask, n, (i, j) => {
    const bi = Math.floor(i / block), bj = Math.floor(j / block);
    // a window cell in a global row or column carries both bits, as in Longformer
    return bit(isGlobal(bi) || isGlobal(bj), B.global) | bit(Math.abs(bi - bj) <= half, B.local)
      | bit(randomOf[bi].includes(bj), B.random);
  }, `bigbird block ${block}`);
}

test('bigbird: global blocks, window band, min(r, available) random blocks per middle block-row', () => {
  for (const [n, opts] of [[64, { block: 8 }], [100, { block: 10, randomBlocks: 2 }], [1000, { block: 40, randomBlocks: 3, seed: 5 }],
    [96, { block: 8, windowBlocks: 5, globalBlocks: 2, randomBlocks: 1 }], [7, { block: 7 }], [1, { block: 1 }],
    [64, { block: 4, randomBlocks: 100 }]]) {
    checkBigBird(A.mask('bigbird', n, opts), n, opts);
  }
  const a = A.mask('bigbird', 256, { block: 16, seed: 1 }), b = A.mask('bigbird', 256, { block: 16, seed: 2 });
  assert.deepEqual(A.mask('bigbird', 256, { block: 16, seed: 1 }).data, a.data, 'reproducible');
  assert.notDeepEqual(a.data, b.data, 'another seed, other random blocks');
});

test('random: exactly r distinct keys per row (causal: among j <= i), reproducible, seed-dependent', () => {
  for (const n of [1, 7, 64, 100, 1000]) {
    for (const perRow of [0, 1, 5]) {
      for (const causal of [false, true]) {
        const m = A.mask('random', n, { perRow, seed: 3, causal });
        for (let i = 0; i < n; i++) {
          const row = m.data.subarray(i * n, (i + 1) * n);
          const allowed = [...row.keys()].filter((j) => row[j]);
          assert.equal(allowed.length, Math.min(perRow, causal ? i + 1 : n), `n=${n} r=${perRow} row ${i}`);
          assert.ok(allowed.every((j) => row[j] === B.random && (!causal || j <= i)));
        }
        assert.deepEqual(A.mask('random', n, { perRow, seed: 3, causal }).data, m.data);
      }
    }
  }
  assert.notDeepEqual(A.mask('random', 100, { perRow: 3, seed: 1 }).data, A.mask('random', 100, { perRow: 3, seed: 2 }).data);
  // Uniform: over many rows every key is drawn about equally often.
  const n = 50, m = A.mask('random', n, { perRow: 5, seed: 9 });
  const big = A.mask('random', 2000, { perRow: 5, seed: 9, format: 'csr' });
  const hits = new Array(2000).fill(0);
  for (const j of big.indices) hits[j]++;
  const mean = 5, chi2 = hits.reduce((a, h) => a + (h - mean) ** 2 / mean, 0);
  assert.ok(chi2 < 2000 + 5 * Math.sqrt(2 * 2000), `chi-square ${chi2} for uniform keys`);
  assert.equal(m.data.length, n * n);
});

test('lsh and kmeans: assignments partition the tokens; the mask is "same bucket in any round"', () => {
  const n = 120, d = 8;
  const x = matrix(n, d, 91);
  for (let l = 0; l < d; l++) {
    x.data[17 * d + l] = x.data[4 * d + l];          // duplicate of row 4
    x.data[30 * d + l] = 3 * x.data[4 * d + l];      // same direction as row 4
  }
  const lsh = A.mask('lsh', n, { x, buckets: 6, hashes: 3, seed: 2 });
  assert.equal(lsh.assignments.length, 3 * n);
  for (let r = 0; r < 3; r++) {
    const a = lsh.assignments.subarray(r * n, (r + 1) * n);
    assert.ok(a.every((b) => b >= 0 && b < 6), 'buckets in range');
    assert.equal(a[17], a[4], 'duplicates share a bucket');
    assert.equal(a[30], a[4], 'x/|x| is hashed: scaled copies share a bucket');
  }
  expectRule(lsh, n, (i, j) => bit([0, 1, 2].some((r) => lsh.assignments[r * n + i] === lsh.assignments[r * n + j]), B.cluster), 'lsh rule');
  assert.deepEqual(A.lshBuckets(x, { buckets: 6, hashes: 3, seed: 2 }), lsh.assignments);

  const km = A.mask('kmeans', n, { x, clusters: 7, iterations: 5, seed: 4 });
  assert.equal(km.assignments.length, n);
  assert.ok(km.assignments.every((c) => c >= 0 && c < 7));
  assert.equal(km.assignments[17], km.assignments[4]);
  assert.equal(km.assignments[30], km.assignments[4]);
  expectRule(km, n, (i, j) => bit(km.assignments[i] === km.assignments[j], B.cluster), 'kmeans rule');
});

test('kmeans (k-means++ seeding) recovers well-separated directions', () => {
  // Three clusters of unit directions e_0, e_1, e_2 with small noise, shuffled.
  const n = 90, d = 6, truth = [];
  const x = { rows: n, cols: d, data: new Float32Array(n * d) };
  const noise = matrix(n, d, 93, 0.05);
  for (let i = 0; i < n; i++) {
    const c = (i * 7) % 3;
    truth.push(c);
    for (let l = 0; l < d; l++) x.data[i * d + l] = (l === c ? 1 : 0) + noise.data[i * d + l];
  }
  const a = A.kmeans(x, { clusters: 3, iterations: 10, seed: 1 });
  const label = new Map();
  for (let i = 0; i < n; i++) {
    if (!label.has(truth[i])) label.set(truth[i], a[i]);
    assert.equal(a[i], label.get(truth[i]), `point ${i} is with its cluster`);
  }
  assert.equal(new Set(label.values()).size, 3);
});

test('CSR masks list the same cells as dense ones, with their bits', () => {
  const x = matrix(64, 4, 95);
  for (const [kind, opts] of [['local', { window: 3 }], ['bigbird', { block: 8 }], ['longformer', { tokens: [0, 9] }],
    ['random', { perRow: 4 }], ['fixed', { block: 8 }], ['lsh', { x }], ['kmeans', { x }], ['global', {}]]) {
    const dense = A.mask(kind, 64, opts), csr = A.mask(kind, 64, { ...opts, format: 'csr' });
    assert.equal(csr.format, 'csr');
    assert.equal(csr.nnz, A.maskInfo(dense).nnz, kind);
    for (let i = 0; i < 64; i++) {
      const row = [];
      for (let j = 0; j < 64; j++) if (dense.data[i * 64 + j]) row.push([j, dense.data[i * 64 + j]]);
      const got = [];
      for (let t = csr.indptr[i]; t < csr.indptr[i + 1]; t++) got.push([csr.indices[t], csr.bits[t]]);
      assert.deepEqual(got, row, `${kind} row ${i}`);
    }
  }
});

test('maskInfo, maskCompose and maskLayers', () => {
  const n = 40;
  const local = A.mask('local', n, { window: 2 }), glob = A.mask('global', n, { tokens: [3] });
  const info = A.maskInfo(local);
  assert.deepEqual(info, { nnz: 5 * n - 6, density: (5 * n - 6) / (n * n), perRow: { min: 3, max: 5, mean: (5 * n - 6) / n } });
  assert.deepEqual(A.maskInfo(A.mask('local', n, { window: 2, format: 'csr' })), info);
  const { counts } = A.maskInfo(local, { counts: true });
  assert.deepEqual(counts, Array.from({ length: n }, (_, i) => Math.min(i, 2) + 1 + Math.min(n - 1 - i, 2)), 'keys per row');
  const u = A.maskCompose(local, glob, 'union'), x = A.maskCompose(local, glob, 'intersection');
  expectRule(u, n, (i, j) => bit(Math.abs(i - j) <= 2, B.local) | bit(i === 3 || j === 3, B.global), 'union');
  expectRule(x, n, (i, j) => (Math.abs(i - j) <= 2 && (i === 3 || j === 3) ? B.local | B.global : 0), 'intersection');

  // Layers against a breadth-first search written here.
  const bfsLayers = (mask) => {
    let worst = 0, total = 0;
    for (let s = 0; s < n; s++) {
      const dist = new Array(n).fill(Infinity);
      dist[s] = 0;
      let frontier = [s];
      for (let L = 1; frontier.length; L++) {
        const next = [];
        for (const i of frontier) for (let j = 0; j < n; j++) if (mask.data[i * n + j] && dist[j] === Infinity) { dist[j] = L; next.push(j); }
        frontier = next;
      }
      for (const dd of dist) if (dd < Infinity) { worst = Math.max(worst, dd); total++; }
    }
    return { worst, total };
  };
  for (const mask of [local, A.mask('local', n, { window: 3, causal: true }), A.mask('bigbird', n, { block: 4 }),
    A.mask('sparse-transformer', n, { stride: 6 }), A.mask('strided', n, { stride: 4 }), u]) {
    const got = A.maskLayers(mask);
    const want = bfsLayers(mask);
    assert.equal(got.layers, Math.max(1, want.worst), `layers of ${mask.kind}`);
    assert.equal(got.reached[got.reached.length - 1], want.total);
    assert.equal(got.complete, want.total === n * n);
    for (let L = 1; L < got.reached.length; L++) assert.ok(got.reached[L] >= got.reached[L - 1], 'monotone');
  }
  assert.equal(A.maskLayers(local).layers, Math.ceil((n - 1) / 2), 'a window of 2 per side needs (n-1)/2 layers');
  assert.equal(A.maskLayers(A.mask('strided', n, { stride: 4 })).complete, false, 'a strided mask alone splits tokens by residue');
  assert.equal(A.maskLayers(local, { maxLayers: 3 }).layers, 0, 'still growing after 3 layers');
});

test('sparseAttention equals softmaxAttention with the same mask (dense and CSR), against float64', () => {
  const [n, d, dv] = [130, 16, 7];
  const q = matrix(n, d, 101), k = matrix(n, d, 102), v = matrix(n, dv, 103);
  const x = matrix(n, d, 104);
  for (const [kind, opts] of [['local', { window: 5 }], ['bigbird', { block: 10 }], ['longformer', { window: 4, dilation: 2, tokens: [0, 64] }],
    ['random', { perRow: 6, causal: true }], ['lsh', { x, buckets: 4, hashes: 2 }], ['sparse-transformer', { stride: 11 }]]) {
    const mask = A.mask(kind, n, opts);
    const ref = softmaxWeightsRef(q, k, { mask });
    const viaDense = A.sparseAttention(q, k, v, mask);
    const viaCSR = A.sparseAttention(q, k, v, A.mask(kind, n, { ...opts, format: 'csr' }));
    assert.equal(outputsExcess(viaDense, ref, v, F32_REL), 0, kind);
    assert.deepEqual(viaCSR, viaDense, `${kind}: CSR and dense`);
    const streaming = A.softmaxAttention(q, k, v, { mask });
    assert.ok(viaDense.data.every((y, i) => Math.abs(y - streaming.data[i]) < PATHS_AGREE), `${kind}: = softmaxAttention`);
  }
  // n != m, an empty row, a custom scale.
  const k2 = matrix(50, d, 105), v2 = matrix(50, dv, 106);
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: 50 }, (_, j) => (i !== 3 && (i + j) % 7 === 0 ? 1 : 0)));
  const ref = softmaxWeightsRef(q, k2, { scale: 0.3, mask: { rows: n, cols: 50, data: Uint8Array.from(rows.flat()) } });
  const y = A.sparseAttention(q, k2, v2, rows, { scale: 0.3 });
  assert.equal(outputsExcess(y, ref, v2, F32_REL), 0);
  assert.deepEqual([...y.data.subarray(3 * dv, 4 * dv)], new Array(dv).fill(0));
});

test('bad mask options and sparse inputs throw AttnError with their codes', () => {
  const x = matrix(16, 4, 1);
  const q = matrix(16, 4, 2), v = matrix(16, 3, 3);
  const cases = [
    [() => A.mask('local', 16, { window: -1 }), 'ERR_RANGE'],
    [() => A.mask('strided', 16, { stride: 0 }), 'ERR_RANGE'],
    [() => A.mask('sparse-transformer', 16, { stride: 0 }), 'ERR_RANGE'],
    [() => A.mask('dilated', 16, { dilation: 0 }), 'ERR_RANGE'],
    [() => A.mask('fixed', 16, { block: 4, summary: 5 }), 'ERR_RANGE'],
    [() => A.mask('bigbird', 16, { block: 5 }), 'ERR_RANGE'],
    [() => A.mask('bigbird', 16, { block: 4, windowBlocks: 2 }), 'ERR_RANGE'],
    [() => A.mask('global', 16, { tokens: [16] }), 'ERR_RANGE'],
    [() => A.mask('global', 16, { tokens: [-1] }), 'ERR_RANGE'],
    [() => A.mask('longformer', 16, { tokens: [1.5] }), 'ERR_RANGE'],
    [() => A.mask('global', 16, { tokens: 3 }), 'ERR_TYPE'],
    [() => A.mask('lsh', 16, { x, buckets: 5 }), 'ERR_RANGE'],
    [() => A.mask('lsh', 16, { x, hashes: 0 }), 'ERR_RANGE'],
    [() => A.mask('lsh', 16), 'ERR_TYPE'],
    [() => A.mask('lsh', 8, { x }), 'ERR_SHAPE'],
    [() => A.mask('kmeans', 16, { x, clusters: 17 }), 'ERR_RANGE'],
    [() => A.mask('kmeans', 16, { x: { rows: 16, cols: 4, data: new Float32Array(64).fill(NaN) } }), 'ERR_NONFINITE'],
    [() => A.mask('random', 16, { perRow: -2 }), 'ERR_RANGE'],
    [() => A.mask('local', 16, { format: 'coo' }), 'ERR_KIND'],
    [() => A.mask('reformer', 16), 'ERR_KIND'],
    [() => A.maskCompose(A.mask('full', 4), A.mask('full', 5)), 'ERR_SHAPE'],
    [() => A.maskCompose(A.mask('full', 4), A.mask('full', 4), 'xor'), 'ERR_KIND'],
    [() => A.maskLayers(A.mask('full', 4), { maxLayers: 0 }), 'ERR_RANGE'],
    [() => A.sparseAttention(q, q, v, A.mask('full', 15)), 'ERR_SHAPE'],
    [() => A.sparseAttention(q, q, v, { rows: 16, cols: 16, format: 'csr', indptr: [0], indices: [] }), 'ERR_SHAPE'],
    [() => A.sparseAttention(q, q, v, { rows: 16, cols: 16, format: 'csr', indptr: new Array(17).fill(0).map((_, i) => (i ? 1 : 0)), indices: [16] }), 'ERR_RANGE'],
    [() => A.sparseAttention(q, q, v, 'local'), 'ERR_TYPE'],
    [() => A.sparseAttention(q, q, v, A.mask('full', 16), { scale: NaN }), 'ERR_RANGE'],
  ];
  for (const [call, code] of cases) {
    assert.throws(call, (err) => err instanceof AttnError && err.code === code, `expected ${code}: ${call}`);
  }
  assert.equal(A.mask('local', 16).rows, 16, 'the instance still works');
});

test('MASK_BITS are the components the masks set, and MASK_KINDS lists every kind', () => {
  assert.deepEqual({ ...A.MASK_BITS }, { local: 1, strided: 2, global: 4, random: 8, cluster: 16 });
  assert.deepEqual([...A.MASK_KINDS].sort(), ['bigbird', 'causal', 'dilated', 'fixed', 'full', 'global', 'kmeans', 'local',
    'longformer', 'lsh', 'random', 'sparse-transformer', 'strided'].sort());
});
