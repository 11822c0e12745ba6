// `npm run bench` itself is timed by hand, never in tests; this only checks
// that its quick mode still runs end to end: peers load, every output agrees
// with float64 (the script exits non-zero otherwise) and the tables print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../tools/source-hash.mjs';

test('bench/bench.mjs --quick runs, loads both peers and finds every output correct', () => {
  const out = execFileSync(process.execPath, ['bench/bench.mjs', '--quick'], { cwd: ROOT, encoding: 'utf8', timeout: 300000 });
  assert.match(out, /peers: onnxruntime-web [\d.]+, tfjs-wasm [\d.]+/);
  for (const n of [256, 1024]) assert.match(out, new RegExp(`^\\s+${n} │`, 'm'), `row n = ${n}`);
  assert.match(out, /faster than streaming softmax from n = /);
  assert.match(out, /softmax backward +[\d.]+ GFLOP\/s vs matmul +[\d.]+ GFLOP\/s/, 'section 5: the backward');
  assert.doesNotMatch(out, /problems:/);
});
