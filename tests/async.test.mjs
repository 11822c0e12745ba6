// createAttnWorker: the same results as an in-process instance, the caller's
// event loop free while the worker computes, errors with their codes, abort,
// progress, and dispose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAttn } from '../wasm/attn.js';
import { createAttnWorker } from '../wasm/async.js';
import { RSS_AFTER_DISPOSE_MIB } from './tolerances.mjs';

const A = await createAttn();

test('worker results are the in-process results, bit for bit', async () => {
  const W = await createAttnWorker();
  try {
    assert.equal(W.version, A.version);
    assert.equal(W.simd, A.simd);
    const q = A.randn(300, 16, { seed: 1 }), k = A.randn(300, 16, { seed: 2 }), v = A.randn(300, 8, { seed: 3 });
    for (const causal of [false, true]) {
      const here = A.softmaxAttention(q, k, v, { causal });
      const there = await W.softmaxAttention(q, k, v, { causal });
      assert.deepEqual(there, here);
    }
    assert.deepEqual(await W.mask('bigbird', 64, { block: 8 }), A.mask('bigbird', 64, { block: 8 }));
    // The inputs were copied, not transferred: the caller still has them.
    assert.equal(q.data.length, 300 * 16);
  } finally {
    W.dispose();
  }
});

test('the event loop runs while the worker computes', async () => {
  const W = await createAttnWorker();
  try {
    const q = A.randn(4096, 64, { seed: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let ticksWhenDone;
    await W.softmaxAttention(q, q, q).then(() => { ticksWhenDone = ticks; });
    clearInterval(timer);
    // n = 4096 takes over 100 ms; a blocked loop would run no timer callback until it returned.
    assert.ok(ticksWhenDone > 0, `no timer callback ran during the call (${ticksWhenDone})`);
  } finally {
    W.dispose();
  }
});

test('errors come back as AttnError with their code, and the worker keeps working', async () => {
  const W = await createAttnWorker();
  try {
    await assert.rejects(W.softmaxAttention([[1]], [[1, 2]], [[1]]),
      (e) => e.name === 'AttnError' && e.code === 'ERR_SHAPE' && /^softmaxAttention: /.test(e.message));
    assert.equal((await W.randn(2, 2, { seed: 5 })).data.length, 4);
  } finally {
    W.dispose();
  }
});

test('abort: a running call rejects at once and a fresh worker serves the next call; a queued call is dropped', async () => {
  const W = await createAttnWorker();
  try {
    const controller = new AbortController();
    const long = W.capacity({ sizes: [600, 600, 600, 600, 600, 600], rule: 'delta', trials: 20, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(long, (e) => e.name === 'AbortError');
    assert.equal((await W.randn(1, 2, { seed: 1 })).data.length, 2);

    const first = W.randn(1, 3, { seed: 2 });
    const queuedController = new AbortController();
    const queued = W.randn(1, 3, { seed: 3, signal: queuedController.signal });
    queuedController.abort();
    await assert.rejects(queued, (e) => e.name === 'AbortError');
    assert.deepEqual(await first, A.randn(1, 3, { seed: 2 }));
    // An already aborted signal never starts the call.
    await assert.rejects(W.randn(1, 1, { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  } finally {
    W.dispose();
  }
});

test('dispose: pending and later calls reject with ERR_DISPOSED', async () => {
  const W = await createAttnWorker();
  const q = A.randn(2048, 64, { seed: 1 });
  const pending = W.softmaxAttention(q, q, q);
  W.dispose();
  await assert.rejects(pending, (e) => e.code === 'ERR_DISPOSED');
  await assert.rejects(W.randn(1, 1), (e) => e.code === 'ERR_DISPOSED' && /^randn: /.test(e.message));
});

test('dispose returns the memory: RSS back within 10 MiB after a 4096 x 4096 weights call', () => {
  const script = `
    import { createAttnWorker } from ${JSON.stringify(fileURLToPath(new URL('../wasm/async.js', import.meta.url)))};
    const rss = () => process.memoryUsage().rss / 2 ** 20;
    const settle = async () => { for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 100)); gc(); } };
    const warm = await createAttnWorker(); await warm.randn(1, 1); warm.dispose(); await settle();
    const before = rss();
    const W = await createAttnWorker();
    const q = { rows: 4096, cols: 64, data: new Float32Array(4096 * 64).fill(0.01) };
    let P = await W.softmaxWeights(q, q);
    const during = rss();
    P = null; W.dispose(); await settle();
    console.log(JSON.stringify({ before, during, after: rss() }));`;
  // A file, not `node -e`: workers inherit the flags, and --input-type is refused there.
  const file = join(mkdtempSync(join(tmpdir(), 'attnlab-')), 'rss.mjs');
  writeFileSync(file, script);
  const run = spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const { before, during, after } = JSON.parse(run.stdout);
  assert.ok(during - before > 64, `the call should have held its 64 MiB result (+${(during - before).toFixed(1)} MiB)`);
  assert.ok(after - before < RSS_AFTER_DISPOSE_MIB, `RSS ${before.toFixed(1)} → ${after.toFixed(1)} MiB after dispose`);
});

test('progress: capacity, kernelErrorSweep and benchmark report each step, in process and from the worker', async () => {
  const seen = [];
  const points = A.capacity({ sizes: [4, 8, 12], trials: 1, onProgress: (p) => seen.push(p) });
  assert.deepEqual(seen, points.map((p, i) => ({ done: i + 1, total: 3, ...p })));
  const q = A.randn(16, 8, { seed: 1 });
  const sweep = [];
  A.kernelErrorSweep(q, q, { features: [4, 8], trials: 1, variants: [{ feature: 'favor+', orthogonal: true }], onProgress: (p) => sweep.push(p.done) });
  assert.deepEqual(sweep, [1, 2]);
  const runs = [];
  A.benchmark('matmul', { n: 8, k: 8, m: 8, runs: 3, onProgress: (p) => runs.push(p.done) });
  assert.deepEqual(runs, [1, 2, 3]);

  const W = await createAttnWorker();
  try {
    const remote = [];
    const result = await W.capacity({ sizes: [4, 8, 12], trials: 1, onProgress: (p) => remote.push(p) });
    assert.deepEqual(result, points);
    assert.deepEqual(remote, seen);
  } finally {
    W.dispose();
  }
});

test('an aborted signal stops a long call in process between its steps', () => {
  const controller = new AbortController();
  let steps = 0;
  assert.throws(() => A.capacity({ sizes: [4, 8, 12, 16], trials: 1, signal: controller.signal,
    onProgress: () => { if (++steps === 2) controller.abort(); } }), (e) => e.name === 'AbortError');
  assert.equal(steps, 2);
  assert.throws(() => A.capacity({ onProgress: 5 }), (e) => e.code === 'ERR_TYPE' && /onProgress/.test(e.message));
  assert.throws(() => A.capacity({ signal: {} }), (e) => e.code === 'ERR_TYPE' && /signal/.test(e.message));
});

test('dispose in process: later calls throw ERR_DISPOSED naming the call', async () => {
  const B = await createAttn();
  assert.equal(B.randn(1, 2).data.length, 2);
  B.dispose();
  assert.throws(() => B.randn(1, 2), (e) => e.code === 'ERR_DISPOSED' && /^randn: /.test(e.message));
  assert.throws(() => B.softmaxAttention([[1]], [[1]], [[1]]), (e) => e.code === 'ERR_DISPOSED');
});
