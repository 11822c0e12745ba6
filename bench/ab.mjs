// node bench/ab.mjs <git revision>: streaming softmax attention of the core
// committed at <revision> against the working tree's wasm/attn-core.mjs, timed
// interleaved round by round in one process (the only fair comparison on a
// machine whose speed drifts). d = 64; median ms, GFLOP/s (4 n^2 d) and speedup.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../tools/source-hash.mjs';

const rev = process.argv[2];
if (!rev) {
  console.error('usage: node bench/ab.mjs <git revision>');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'attnlab-ab-'));
const oldPath = join(dir, 'old-core.mjs');
/** The built core committed at rev (wasm/build/ since the API split; wasm/ before). */
const gitShowCore = (r) => {
  for (const path of ['wasm/build/attn-core.mjs', 'wasm/attn-core.mjs']) {
    try {
      return execFileSync('git', ['show', `${r}:${path}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
    } catch { /* not at this path in that revision */ }
  }
  throw new Error(`ab.mjs: no built core at ${r}`);
};
writeFileSync(oldPath, gitShowCore(rev));
const cores = {
  [rev]: await (await import(pathToFileURL(oldPath).href)).default(),
  'working tree': await (await import(pathToFileURL(join(ROOT, 'wasm/build/attn-core.mjs')).href)).default(),
};
rmSync(dir, { recursive: true, force: true });

/** A closure running attn_softmax_attention on seeded inputs inside core M. */
function setup(M, n, d) {
  const buf = (floats) => M._malloc(floats * 4) >>> 0;
  const rng = M._malloc(M._attn_rng_size());
  M._attn_rng_seed(rng, 1, 0);
  const [q, k, v, o] = [buf(n * d), buf(n * d), buf(n * d), buf(n * d)];
  for (const p of [q, k, v]) M._attn_randn(rng, n * d, p);
  const size = M._malloc(4);
  M._attn_softmax_attention_workspace(n, n, d, d, size);
  const floats = M.HEAPU32[size >> 2], work = buf(floats);
  return () => {
    const status = M._attn_softmax_attention(n, n, d, d, q, k, v, 1 / Math.sqrt(d), 0, 0, o, work, floats);
    if (status !== 0) throw new Error(`status ${status}`);
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const d = 64;
console.log(`streaming softmax attention, d = ${d}: ${rev} vs working tree`);
for (const n of [1024, 4096]) {
  const runs = Object.fromEntries(Object.entries(cores).map(([key, M]) => [key, setup(M, n, d)]));
  const times = Object.fromEntries(Object.keys(cores).map((key) => [key, []]));
  for (let r = 0; r < (n > 2000 ? 7 : 21); r++) {
    for (const [key, run] of Object.entries(runs)) {
      const t0 = performance.now();
      run();
      times[key].push(performance.now() - t0);
    }
  }
  const [a, b] = Object.keys(cores).map((key) => median(times[key]));
  const gflop = 4 * n * n * d / 1e6;
  console.log(`  n = ${n}: ${a.toFixed(1)} ms (${(gflop / a).toFixed(1)} GFLOP/s) -> ${b.toFixed(1)} ms ` +
    `(${(gflop / b).toFixed(1)} GFLOP/s), speedup ${(a / b).toFixed(2)}x`);
}
