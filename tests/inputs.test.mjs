// Structured inputs (A.inputs): each kind's softmax weights, computed here in
// float64 by tests/reference.mjs from the generated q and k at scale 1/sqrt(d),
// concentrate where the generator says; same seed -> same bits; arguments
// are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createAttn } from '../wasm/attn.js';
import { softmaxWeightsRef } from './reference.mjs';

const A = await createAttn();
const B = await createAttn({ kernels: 'scalar' });
const KINDS = ['random', 'local', 'clustered', 'global', 'previous-token', 'mixture'];

const digest = (r) => createHash('sha256')
  .update(Buffer.from(r.q.data.buffer)).update(Buffer.from(r.k.data.buffer)).update(Buffer.from(r.v.data.buffer))
  .digest('hex');

/** For each row i of float64 weights P [n, n]: the mass on the keys j with inside(i, j). */
function rowMass(P, n, inside) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (inside(i, j)) out[i] += P[i * n + j];
  return out;
}
const mean = (x) => x.reduce((a, b) => a + b, 0) / x.length;
const min = (x) => x.reduce((a, b) => Math.min(a, b), Infinity);

const CASES = [[64, 32, 1], [129, 64, 2], [200, 64, 3]];  // n, d, seed

test('the kinds are the core\'s, mixture is the default, and the result has the shapes asked for', () => {
  for (const kind of KINDS) {
    const r = A.inputs(kind, 17, 5, { dv: 3 });
    assert.equal(r.kind, kind);
    assert.deepEqual([r.q.rows, r.q.cols, r.k.rows, r.k.cols, r.v.rows, r.v.cols], [17, 5, 17, 5, 17, 3]);
    for (const m of [r.q, r.k, r.v]) assert.ok(m.data instanceof Float32Array && m.data.every(Number.isFinite));
  }
  assert.equal(A.inputs(undefined, 8, 4).kind, 'mixture');
  assert.equal(digest(A.inputs(undefined, 8, 4, { seed: 3 })), digest(A.inputs('mixture', 8, 4, { seed: 3 })));
  assert.equal(A.inputs('local', 6, 4).v.cols, 4, 'dv defaults to d');
  assert.throws(() => A.inputs('mixed', 8, 4), (e) => e.code === 'ERR_KIND' && e.message.startsWith('inputs: kind must be one of ')
    && KINDS.every((k) => e.message.includes(k)));
});

test('the same seed gives the same bits in every instance; other seeds, other numbers', () => {
  for (const kind of KINDS) {
    for (const seed of [0, 1, 2 ** 32, 2 ** 53 - 1]) {
      const a = A.inputs(kind, 33, 9, { seed, dv: 2 }), b = B.inputs(kind, 33, 9, { seed, dv: 2 });
      assert.equal(digest(a), digest(b), `${kind} seed ${seed}: simd and scalar instances`);
      assert.deepEqual(a.meta, b.meta);
    }
    const seen = new Set([0, 1, 2 ** 32, 2 ** 32 + 1].map((seed) => digest(A.inputs(kind, 16, 8, { seed }))));
    assert.equal(seen.size, 4, `${kind}: four seeds, four results`);
  }
  // V comes first from the seed: the same whatever the kind.
  const v = A.inputs('random', 20, 6, { seed: 4 }).v.data;
  for (const kind of KINDS) assert.deepEqual(A.inputs(kind, 20, 6, { seed: 4 }).v.data, v, kind);
});

test('small and tile-boundary sizes: finite, right shapes, meta as documented', () => {
  const sizes = [1, 3, 4, 5, 17, 64, 129];
  for (const kind of KINDS) {
    for (const n of sizes) {
      for (const d of sizes) {
        const r = A.inputs(kind, n, d, { seed: n + d, dv: 1 + ((n + d) % 5) });
        assert.equal(r.q.data.length, n * d);
        assert.equal(r.k.data.length, n * d);
        assert.equal(r.v.data.length, n * (1 + ((n + d) % 5)));
        assert.ok(r.q.data.every(Number.isFinite) && r.k.data.every(Number.isFinite), `${kind} n ${n} d ${d}`);
        assert.equal(r.meta.seed, n + d);
        if (kind === 'local' || kind === 'mixture') assert.equal(r.meta.width, Math.min(4, n));
        if (kind === 'global' || kind === 'mixture') assert.deepEqual(r.meta.tokens, n >= 2 ? [0, 1] : [0]);
        if (kind === 'clustered') {
          const k = Math.min(4, n);
          assert.equal(r.meta.clusters, k);
          const counts = new Array(k).fill(0);
          for (const z of r.meta.cluster) counts[z]++;
          for (const c of counts) assert.ok(c === Math.floor(n / k) || c === Math.ceil(n / k), `n ${n}: sizes ${counts}`);
        } else {
          assert.equal(r.meta.cluster, undefined);
        }
      }
    }
  }
});

test('local: most of every row\'s softmax mass lies within |i - j| <= width', () => {
  for (const [n, d, seed] of CASES) {
    for (const width of [2, 4, 8]) {
      const r = A.inputs('local', n, d, { seed, width });
      assert.equal(r.meta.width, width);
      const inWindow = rowMass(softmaxWeightsRef(r.q, r.k), n, (i, j) => Math.abs(i - j) <= width);
      assert.ok(mean(inWindow) >= 0.9, `n ${n} d ${d} width ${width}: mean window mass ${mean(inWindow)}`);
      assert.ok(min(inWindow) >= 0.8, `n ${n} d ${d} width ${width}: least window mass ${min(inWindow)}`);
      // ...and it is a band, not a spike: the window beyond the diagonal holds mass too.
      const offDiagonal = rowMass(softmaxWeightsRef(r.q, r.k), n, (i, j) => i !== j && Math.abs(i - j) <= width);
      assert.ok(mean(offDiagonal) >= 0.4, `width ${width}: off-diagonal window mass ${mean(offDiagonal)}`);
    }
  }
});

test('random: no such concentration', () => {
  for (const [n, d, seed] of CASES) {
    const r = A.inputs('random', n, d, { seed });
    const P = softmaxWeightsRef(r.q, r.k);
    const inWindow = rowMass(P, n, (i, j) => Math.abs(i - j) <= 4);
    const sinks = rowMass(P, n, (i, j) => j < 2);
    assert.ok(mean(inWindow) < 0.3, `window mass ${mean(inWindow)}`);
    assert.ok(mean(sinks) < 0.2, `first two columns ${mean(sinks)}`);
    let top = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) top += P[i * n + j] === Math.max(...P.subarray(i * n, i * n + n)) && j === i - 1 ? 1 : 0;
    assert.ok(top < 0.2 * n, `argmax at i - 1 in ${top} rows`);
  }
});

test('global: the sink columns hold most of every row', () => {
  for (const [n, d, seed] of CASES) {
    for (const tokens of [1, 2, 3]) {
      const r = A.inputs('global', n, d, { seed, tokens });
      assert.deepEqual(r.meta.tokens, Array.from({ length: tokens }, (_, t) => t));
      const sinks = rowMass(softmaxWeightsRef(r.q, r.k), n, (i, j) => j < tokens);
      assert.ok(min(sinks) >= 0.8, `n ${n} d ${d} tokens ${tokens}: least sink mass ${min(sinks)}`);
    }
  }
});

test('previous-token: the largest weight of row i is on key i - 1', () => {
  for (const [n, d, seed] of [...CASES, [100, 16, 4]]) {
    const r = A.inputs('previous-token', n, d, { seed });
    assert.equal(r.meta.offset, 1);
    const P = softmaxWeightsRef(r.q, r.k);
    let hits = 0;
    for (let i = 1; i < n; i++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (P[i * n + j] > P[i * n + best]) best = j;
      hits += best === i - 1;
    }
    assert.ok(hits >= 0.9 * (n - 1), `n ${n} d ${d}: ${hits} of ${n - 1} rows`);
  }
});

test('clustered: most of every row inside its own cluster, positions shuffled', () => {
  for (const [n, d, seed] of CASES) {
    for (const clusters of [2, 4, 7]) {
      const r = A.inputs('clustered', n, d, { seed, clusters });
      const z = r.meta.cluster;
      assert.ok(z instanceof Int32Array && z.length === n && r.meta.clusters === clusters);
      const own = rowMass(softmaxWeightsRef(r.q, r.k), n, (i, j) => z[i] === z[j]);
      assert.ok(min(own) >= 0.8, `n ${n} d ${d} clusters ${clusters}: least own-cluster mass ${min(own)}`);
      // Not contiguous: the label changes between neighbours about (1 - 1/clusters) n times, not clusters - 1.
      let changes = 0;
      for (let t = 1; t < n; t++) changes += z[t] !== z[t - 1];
      assert.ok(changes > n / 4, `clusters ${clusters}: ${changes} label changes along the sequence`);
    }
  }
  // More clusters than dimensions: centres are no longer orthogonal, the blocks still hold most of the mass.
  const r = A.inputs('clustered', 129, 8, { seed: 5, clusters: 12 });
  const own = rowMass(softmaxWeightsRef(r.q, r.k), 129, (i, j) => r.meta.cluster[i] === r.meta.cluster[j]);
  assert.ok(mean(own) >= 0.8, `12 clusters in d = 8: mean own-cluster mass ${mean(own)}`);
});

test('mixture: every row splits its mass between the sinks and its window', () => {
  for (const [n, d, seed] of CASES) {
    const r = A.inputs('mixture', n, d, { seed });
    const { width, tokens } = r.meta;
    const P = softmaxWeightsRef(r.q, r.k);
    const sinks = rowMass(P, n, (i, j) => j < tokens.length);
    const window = rowMass(P, n, (i, j) => j >= tokens.length && Math.abs(i - j) <= width);
    const both = sinks.map((s, i) => s + window[i]);
    assert.ok(min(both) >= 0.8, `n ${n} d ${d}: least sink + window mass ${min(both)}`);
    assert.ok(mean(sinks) >= 0.15 && mean(sinks) <= 0.75, `mean sink share ${mean(sinks)}`);
    assert.ok(mean(window) >= 0.2, `mean window share ${mean(window)}`);
  }
});

test('scale multiplies q and k, so a smaller scale flattens the structure', () => {
  for (const kind of KINDS) {
    const one = A.inputs(kind, 40, 16, { seed: 6 }), half = A.inputs(kind, 40, 16, { seed: 6, scale: 0.5 });
    for (const name of ['q', 'k']) {
      const err = one[name].data.reduce((w, x, t) => Math.max(w, Math.abs(half[name].data[t] - 0.5 * x)), 0);
      assert.ok(err <= 1e-6 * 16, `${kind} ${name}: ${err}`);
    }
    assert.deepEqual(half.v.data, one.v.data, 'v is not scaled');
  }
  const mass = (scale) => mean(rowMass(softmaxWeightsRef(...(({ q, k }) => [q, k])(A.inputs('global', 100, 64, { seed: 1, scale }))), 100, (i, j) => j < 2));
  assert.ok(mass(0.25) < 0.5 && mass(1) > 0.9, `sink mass ${mass(0.25)} at scale 0.25, ${mass(1)} at scale 1`);
});

test('bad arguments: AttnError naming the function and the argument', () => {
  const bad = [
    [() => A.inputs(3, 8, 4), 'ERR_TYPE', /^inputs: kind must be a string/],
    [() => A.inputs('nope', 8, 4), 'ERR_KIND', /^inputs: kind must be one of .*got 'nope'/],
    [() => A.inputs('local', 0, 4), 'ERR_SHAPE', /^inputs: n must be a positive integer/],
    [() => A.inputs('local', 8, 1.5), 'ERR_SHAPE', /^inputs: d must be a positive integer/],
    [() => A.inputs('local', 8, '4'), 'ERR_TYPE', /^inputs: d must be a number/],
    [() => A.inputs('local', 8, 4, { dv: 0 }), 'ERR_RANGE', /^inputs: dv /],
    [() => A.inputs('local', 8, 4, { seed: -1 }), 'ERR_RANGE', /^inputs: seed /],
    [() => A.inputs('local', 8, 4, { scale: 0 }), 'ERR_RANGE', /^inputs: scale must be > 0/],
    [() => A.inputs('local', 8, 4, { scale: NaN }), 'ERR_RANGE', /^inputs: scale must be finite/],
    [() => A.inputs('local', 8, 4, { scale: '1' }), 'ERR_TYPE', /^inputs: scale must be a number/],
    [() => A.inputs('local', 8, 4, { width: 0 }), 'ERR_RANGE', /^inputs: width /],
    [() => A.inputs('clustered', 8, 4, { clusters: 9 }), 'ERR_RANGE', /^inputs: clusters must be an integer in \[1, 8\]/],
    [() => A.inputs('global', 8, 4, { tokens: 0 }), 'ERR_RANGE', /^inputs: tokens /],
    [() => A.inputs('local', 8, 4, { widht: 2 }), 'ERR_OPTION', /^inputs: unknown option 'widht' \(did you mean 'width'\?\)/],
    [() => A.inputs('local', 8, 4, []), 'ERR_TYPE', /^inputs: options must be an object/],
    [() => A.inputs('local', 8, 4, { scale: 1e39 }), 'ERR_OVERFLOW', /^inputs: kind 'local', n 8, d 4, dv 4: .*\(attn_inputs\)/],
    [() => A.inputs('random', 8, 4, { scale: 1e300 }), 'ERR_OVERFLOW', /\(attn_inputs\)/],
    [() => A.inputs('local', 2 ** 20, 2 ** 12), 'ERR_MEMORY', /^inputs: /],
  ];
  for (const [call, code, message] of bad) {
    assert.throws(call, (e) => e.name === 'AttnError' && e.code === code && message.test(e.message), String(call));
  }
  assert.equal(A.inputs('local', 8, 4, { width: 100 }).meta.width, 8, 'a window wider than n is all of it');
});
