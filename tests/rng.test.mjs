// randn: deterministic per seed, different across seeds, N(0, 1) moments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createAttn } from '../wasm/attn.js';
import { STANDARD_ERRORS } from './tolerances.mjs';

const A = await createAttn();
const B = await createAttn({ kernels: 'scalar' });

export const digest = (m) => createHash('sha256').update(Buffer.from(m.data.buffer)).digest('hex');

test('the same seed gives bit-identical samples, in any instance', () => {
  for (const seed of [0, 1, 42, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
    const a = A.randn(17, 5, { seed }), b = B.randn(17, 5, { seed });
    assert.equal(digest(a), digest(b), `seed ${seed}`);
    assert.deepEqual([a.rows, a.cols], [17, 5]);
  }
  assert.deepEqual(A.randn(3, 3), A.randn(3, 3, { seed: 0 }), 'seed defaults to 0');
});

test('different seeds, including ones differing only in the high 32 bits, differ', () => {
  const seen = new Set();
  for (const seed of [0, 1, 2, 2 ** 32, 2 ** 32 + 1, 2 ** 33]) seen.add(digest(A.randn(4, 4, { seed })));
  assert.equal(seen.size, 6);
});

test('a prefix of a longer draw is the shorter draw', () => {
  const long = A.randn(10, 10, { seed: 5 }), short = A.randn(3, 7, { seed: 5 });
  assert.deepEqual(short.data, long.data.subarray(0, 21));
});

test('samples have the moments of N(0, 1) (5 standard errors)', () => {
  const N = 400_000;
  const { data } = A.randn(N / 100, 100, { seed: 9 });
  let mean = 0;
  for (const x of data) mean += x;
  mean /= N;
  let m2 = 0, m3 = 0, m4 = 0;
  for (const x of data) {
    const c = x - mean;
    m2 += c * c; m3 += c * c * c; m4 += c * c * c * c;
  }
  m2 /= N; m3 /= N; m4 /= N;
  assert.ok(Math.abs(mean) < STANDARD_ERRORS / Math.sqrt(N), `mean ${mean}`);
  assert.ok(Math.abs(m2 - 1) < STANDARD_ERRORS * Math.sqrt(2 / N), `variance ${m2}`);
  assert.ok(Math.abs(m3 / m2 ** 1.5) < STANDARD_ERRORS * Math.sqrt(6 / N), `skewness ${m3}`);
  assert.ok(Math.abs(m4 / (m2 * m2) - 3) < STANDARD_ERRORS * Math.sqrt(24 / N), `kurtosis ${m4 / (m2 * m2)}`);
  // Tail mass beyond 3 sigma: 0.0027 for a normal.
  const tail = data.filter((x) => Math.abs(x) > 3).length / N;
  assert.ok(Math.abs(tail - 0.0027) < STANDARD_ERRORS * Math.sqrt(0.0027 / N), `tail ${tail}`);
});
