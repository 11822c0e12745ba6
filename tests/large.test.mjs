// n = 65536, d = 64 streaming softmax attention: it runs, its memory stays
// O(n) (the n x n weights would be 16 GiB), and sampled rows match float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn } from '../wasm/attn.js';
import { attentionRowsRef } from './reference.mjs';
import { F32_REL, STREAMING_GROWTH_MIB } from './tolerances.mjs';

test('n = 65536, d = 64 streams in O(n) memory and matches float64 on sampled rows', async () => {
  const A = await createAttn();
  const [n, d] = [65536, 64];
  const q = A.randn(n, d, { seed: 1 }), k = A.randn(n, d, { seed: 2 }), v = A.randn(n, d, { seed: 3 });
  const rssBefore = process.memoryUsage().rss;
  const y = A.softmaxAttention(q, k, v);
  const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  // Inputs, output and the transposed keys are 16 MiB each, in JS and in wasm.
  assert.ok(grownMiB < STREAMING_GROWTH_MIB, `the process grew by ${grownMiB.toFixed(0)} MiB`);
  assert.deepEqual([y.rows, y.cols], [n, d]);
  const rows = [0, 1, 4095, 32768, 65535];
  for (const [r, { y: ref, mag }] of attentionRowsRef(q, k, v, rows).entries()) {
    for (let c = 0; c < d; c++) {
      const got = y.data[rows[r] * d + c];
      assert.ok(Math.abs(got - ref[c]) <= F32_REL * mag[c], `row ${rows[r]} col ${c}: ${got} vs ${ref[c]}`);
    }
  }
});
