// Every bad input of API.md throws AttnError with its code, and the instance
// keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { matrix } from './reference.mjs';
import { SHORT_ROW_SUM } from './tolerances.mjs';

const A = await createAttn();
const q = matrix(4, 3, 1), k = matrix(5, 3, 2), v = matrix(5, 2, 3);
const withNaN = { rows: 4, cols: 3, data: Float32Array.from(q.data, (x, i) => (i === 7 ? NaN : x)) };
const withInf = { rows: 5, cols: 2, data: Float32Array.from(v.data, (x, i) => (i === 0 ? -Infinity : x)) };

const cases = [
  // [description, call, code]
  ['q not a matrix', () => A.softmaxWeights('q', k), 'ERR_TYPE'],
  ['q null', () => A.softmaxWeights(null, k), 'ERR_TYPE'],
  ['empty nested array', () => A.softmaxWeights([], k), 'ERR_TYPE'],
  ['ragged nested array', () => A.softmaxWeights([[1, 2, 3], [1, 2]], k), 'ERR_SHAPE'],
  ['string entry', () => A.softmaxWeights([[1, 2, 'x']], k), 'ERR_TYPE'],
  ['data length mismatch', () => A.softmaxWeights({ rows: 4, cols: 3, data: new Float32Array(11) }, k), 'ERR_SHAPE'],
  ['rows 0', () => A.softmaxWeights({ rows: 0, cols: 3, data: new Float32Array(0) }, k), 'ERR_SHAPE'],
  ['rows fractional', () => A.softmaxWeights({ rows: 1.5, cols: 2, data: new Float32Array(3) }, k), 'ERR_SHAPE'],
  ['d mismatch', () => A.softmaxWeights(q, matrix(5, 4, 2)), 'ERR_SHAPE'],
  ['v rows mismatch', () => A.softmaxAttention(q, k, matrix(4, 2, 3)), 'ERR_SHAPE'],
  ['v missing', () => A.softmaxAttention(q, k), 'ERR_TYPE'],
  ['NaN in q', () => A.softmaxAttention(withNaN, k, v), 'ERR_NONFINITE'],
  ['-Infinity in v', () => A.softmaxAttention(q, k, withInf), 'ERR_NONFINITE'],
  ['beyond float32 range', () => A.softmaxWeights([[1e39, 0, 0]], k), 'ERR_NONFINITE'],
  ['scale NaN', () => A.softmaxWeights(q, k, { scale: NaN }), 'ERR_RANGE'],
  ['scale Infinity', () => A.softmaxAttention(q, k, v, { scale: Infinity }), 'ERR_RANGE'],
  ['scale a string', () => A.softmaxWeights(q, k, { scale: '1' }), 'ERR_TYPE'],
  ['causal not boolean', () => A.softmaxWeights(q, k, { causal: 1 }), 'ERR_TYPE'],
  ['options not an object', () => A.softmaxWeights(q, k, 3), 'ERR_TYPE'],
  ['mask of the wrong shape', () => A.softmaxWeights(q, k, { mask: A.mask('full', 4) }), 'ERR_SHAPE'],
  ['mask not a mask', () => A.softmaxAttention(q, k, v, { mask: 'causal' }), 'ERR_TYPE'],
  ['weights too large for memory', () => A.softmaxWeights(matrix(65536, 1, 1), matrix(65536, 1, 2)), 'ERR_MEMORY'],
  ['randn too large for memory', () => A.randn(65536, 65536), 'ERR_MEMORY'],
  ['randn rows 0', () => A.randn(0, 3), 'ERR_SHAPE'],
  ['randn cols not a number', () => A.randn(3, '3'), 'ERR_TYPE'],
  ['randn negative seed', () => A.randn(2, 2, { seed: -1 }), 'ERR_RANGE'],
  ['randn fractional seed', () => A.randn(2, 2, { seed: 0.5 }), 'ERR_RANGE'],
  ['randn seed beyond 2^53', () => A.randn(2, 2, { seed: 2 ** 54 }), 'ERR_RANGE'],
  ['unknown mask kind', () => A.mask('banded', 4), 'ERR_KIND'],
  ['mask kind not a string', () => A.mask(3, 4), 'ERR_TYPE'],
  ['mask n 0', () => A.mask('full', 0), 'ERR_SHAPE'],
  ['mask window negative', () => A.mask('local', 8, { window: -1 }), 'ERR_RANGE'],
  ['mask window fractional', () => A.mask('local', 8, { window: 1.5 }), 'ERR_RANGE'],
  ['mask too large for memory', () => A.mask('full', 65536), 'ERR_MEMORY'],
];

for (const [what, call, code] of cases) {
  test(`${what} throws AttnError ${code}, and the instance keeps working`, () => {
    assert.throws(call, (err) => {
      assert.ok(err instanceof AttnError, `an AttnError, got ${err}`);
      assert.equal(err.name, 'AttnError');
      assert.equal(err.code, code, err.message);
      assert.match(err.message, /^\w+: /, 'the message names the function');
      return true;
    });
    const P = A.softmaxWeights(q, k);
    assert.ok(Math.abs(P.data.slice(0, 5).reduce((a, b) => a + b) - 1) < SHORT_ROW_SUM);
  });
}

test('createAttn rejects unknown kernels', async () => {
  await assert.rejects(createAttn({ kernels: 'gpu' }), (err) => err instanceof AttnError && err.code === 'ERR_KIND');
});

test('the codes thrown are the core\'s status codes', () => {
  const thrown = new Set(cases.map(([, , code]) => code));
  for (const code of thrown) assert.ok(A.STATUS_CODES.includes(code), `${code} is in the core's list`);
  assert.equal(A.STATUS_CODES[0], 'OK');
});

test('a check in the core names the one argument at fault, not every argument of the call', () => {
  // causal n = 65536: n (n + 1) / 2 allowed cells, more than int32 CSR indices address;
  // attn_mask_spec_check finds the spec valid, and attn.h puts a cell count past memory on n.
  assert.throws(() => A.mask('causal', 65536, { format: 'csr' }), (err) => {
    assert.equal(err.code, 'ERR_MEMORY');
    assert.equal(err.message, 'mask: n 65536: the sizes do not fit in memory');
    return true;
  });
  // a C failure the spec checks do not explain still lists the arguments and the core function
  assert.throws(() => A.softmaxWeights([[1e20]], [[1e20]], { scale: 1 }),
    (err) => err.code === 'ERR_OVERFLOW' && /^softmaxWeights: q \[1x1\], k \[1x1\], scale 1: .+ \(attn_softmax_weights\)$/.test(err.message));
});
