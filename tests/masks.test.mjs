// mask('full' | 'causal' | 'local') against their rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn } from '../wasm/attn.js';

const A = await createAttn();

function expectRule(mask, n, rule, what) {
  assert.deepEqual([mask.rows, mask.cols, mask.data.length], [n, n, n * n]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const got = mask.data[i * n + j];
      assert.equal(got !== 0, rule(i, j), `${what}: (${i}, ${j})`);
      if (got) assert.equal(got, A.MASK_BITS.local, 'allowed cells carry the local bit');
    }
  }
}

for (const n of [1, 7, 64, 100]) {
  test(`full, causal and local masks at n=${n}`, () => {
    expectRule(A.mask('full', n), n, () => true, 'full');
    expectRule(A.mask('causal', n), n, (i, j) => j <= i, 'causal');
    for (const window of [0, 1, 3, 200]) {
      expectRule(A.mask('local', n, { window }), n, (i, j) => Math.abs(i - j) <= window, `local ${window}`);
      expectRule(A.mask('local', n, { window, causal: true }), n, (i, j) => i - j >= 0 && i - j <= window,
        `causal local ${window}`);
    }
    const w = Math.floor(Math.sqrt(n));
    expectRule(A.mask('local', n), n, (i, j) => Math.abs(i - j) <= w, 'default window floor(sqrt(n))');
  });
}

test('a causal mask equals the causal flag', () => {
  const q = A.randn(33, 8, { seed: 1 }), k = A.randn(33, 8, { seed: 2 });
  assert.deepEqual(A.softmaxWeights(q, k, { mask: A.mask('causal', 33) }), A.softmaxWeights(q, k, { causal: true }));
});

test('MASK_BITS are the contract values', () => {
  assert.deepEqual({ ...A.MASK_BITS }, { local: 1, strided: 2, global: 4, random: 8, cluster: 16, block: 32 });
});
