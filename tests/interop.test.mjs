// Interop (issue 13 item 6): matrices from other libraries' layouts —
// { shape, data }, onnxruntime's { dims, data }, tensors with shape and
// dataSync() (tf.Tensor), strided views (ndarray) read in the right order —
// give the same results as the plain Matrix; anything not 2-D is refused
// with a message saying what is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { matrix } from './reference.mjs';

const A = await createAttn();
const q = matrix(4, 3, 1), k = matrix(5, 3, 2);
const want = A.softmaxWeights(q, k);

/** The transpose of a Matrix, computed here. */
const transpose = (M) => ({
  rows: M.cols, cols: M.rows, data: Float32Array.from({ length: M.data.length }, (_, t) => M.data[(t % M.rows) * M.cols + Math.floor(t / M.rows)]),
});

test('{ shape: [r, c], data } and { dims: [r, c], data } read as row-major matrices', () => {
  assert.deepEqual(A.softmaxWeights({ shape: [4, 3], data: q.data }, k).data, want.data);
  assert.deepEqual(A.softmaxWeights({ shape: [4, 3], data: Array.from(q.data) }, { dims: [5, 3], data: k.data }).data, want.data);
  assert.deepEqual(A.softmaxWeights(q, { dims: [5n, 3n], data: Float64Array.from(k.data) }).data, want.data, 'BigInt dims, float64 data');
  const mask = A.softmaxWeights(q, k, { mask: { shape: [4, 5], data: Array.from({ length: 20 }, (_, t) => t % 5 <= t / 5) } });
  assert.deepEqual(mask.data, A.softmaxWeights(q, k, { causal: true }).data, 'a { shape, data } mask');
});

test('onnxruntime Tensors are read through dims and data', async () => {
  const ort = await import('onnxruntime-web');
  const Q = new ort.Tensor('float32', q.data, [4, 3]), K = new ort.Tensor('float32', k.data, [5, 3]);
  assert.deepEqual(A.softmaxWeights(Q, K).data, want.data);
  assert.throws(() => A.softmaxWeights(new ort.Tensor('float32', new Float32Array(12), [2, 2, 3]), k),
    (err) => err instanceof AttnError && err.code === 'ERR_SHAPE' && /must be 2-D/.test(err.message));
});

test('tensors with shape and dataSync(): a fake one and tf.Tensor', async () => {
  const fake = (M) => ({ shape: [M.rows, M.cols], dataSync: () => M.data, data: async () => M.data });
  assert.deepEqual(A.softmaxWeights(fake(q), fake(k)).data, want.data);
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const Q = tf.tensor2d(q.data, [4, 3]), K = tf.tensor2d(k.data, [5, 3]);
  assert.deepEqual(A.softmaxWeights(Q, K).data, want.data);
  // A transposed tf.Tensor is its transpose, whatever its storage.
  const Kt = tf.transpose(tf.tensor2d(transpose(k).data, [3, 5]));
  assert.deepEqual(A.softmaxWeights(Q, Kt).data, want.data);
  assert.throws(() => A.softmaxWeights(tf.tensor3d(q.data, [1, 4, 3]), K),
    (err) => err.code === 'ERR_SHAPE' && /^softmaxWeights: q must be 2-D, got a 3-D shape \[1, 4, 3\]; accepted: /.test(err.message));
  const gone = tf.tensor2d(q.data, [4, 3]);
  gone.dispose();
  assert.throws(() => A.softmaxWeights(gone, K), (err) => err instanceof AttnError && err.code === 'ERR_TYPE' && /q\.dataSync\(\)/.test(err.message));
});

test('strided views are read in the right order: a transposed view gives the transpose', () => {
  // k's transpose stored row-major [3, 5]; the view with stride [1, 5] is k itself.
  const kt = transpose(k);
  const view = { shape: [5, 3], stride: [1, 5], offset: 0, data: kt.data };
  assert.deepEqual(A.softmaxWeights(q, view).data, want.data);
  // Row-major with an offset and padding: rows 1..4 of a [6, 4] buffer, columns 1..3.
  const padded = new Float32Array(6 * 4).fill(99);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) padded[(i + 1) * 4 + j + 1] = q.data[i * 3 + j];
  assert.deepEqual(A.softmaxWeights({ shape: [4, 3], stride: [4, 1], offset: 5, data: padded }, k).data, want.data);
  // Negative strides (rows flipped, as ndarray's step(-1)) and a plain-array buffer.
  const flipped = { shape: [4, 3], stride: [-3, 1], offset: 9, data: Array.from(q.data) };
  const rowsFlipped = A.softmaxWeights(flipped, k);
  for (let i = 0; i < 4; i++) assert.deepEqual(rowsFlipped.data.slice(i * 5, i * 5 + 5), want.data.slice((3 - i) * 5, (3 - i) * 5 + 5));
  // A transposed view as a mask: the causal mask's transpose is the anti-causal one.
  const causal = A.mask('causal', 5);
  const up = A.softmaxWeights(k, k, { mask: { shape: [5, 5], stride: [1, 5], data: causal.data } });
  const upWant = A.softmaxWeights(k, k, { mask: transpose({ ...causal, data: Float32Array.from(causal.data) }) });
  assert.deepEqual(up.data, upWant.data);
});

test('what is not a 2-D matrix is refused, saying what is accepted', () => {
  const refuses = (x, code, pattern) => assert.throws(() => A.softmaxWeights(x, k), (err) => {
    assert.ok(err instanceof AttnError, `${err}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, /^softmaxWeights: q/);
    assert.match(err.message, pattern);
    return true;
  });
  refuses({ shape: [1, 4, 3], data: q.data }, 'ERR_SHAPE', /3-D shape .*accepted: .*\{ shape: \[rows, cols\], data \}/);
  refuses({ shape: [12], data: q.data }, 'ERR_SHAPE', /1-D shape \[12\]; accepted/);
  refuses({ dims: [2, 2, 3], data: q.data }, 'ERR_SHAPE', /3-D/);
  refuses([[[1, 2, 3]]], 'ERR_SHAPE', /not 2-D.*accepted/);
  refuses({ shape: [4, 3], data: new Float32Array(11) }, 'ERR_SHAPE', /11 entries/);
  refuses({ shape: [0, 3], data: [] }, 'ERR_SHAPE', /shape\[0\]/);
  refuses({ shape: [4, 3], stride: [3, 1], offset: 1, data: q.data }, 'ERR_SHAPE', /reach entries 1\.\.12 of data with 12/);
  refuses({ shape: [4, 3], stride: [3, 0.5], data: q.data }, 'ERR_TYPE', /stride/);
  refuses({ shape: [4, 3], stride: [3, 1], offset: -1, data: q.data }, 'ERR_TYPE', /offset/);
  refuses({ shape: [4, 3], data: 'abc' }, 'ERR_TYPE', /q\.data must be an array/);
  refuses({ shape: [4, 3], data: Array(12).fill('1') }, 'ERR_TYPE', /q\.data\[0\] is string/);
  refuses({ shape: [4, 3], data: Float32Array.from(q.data, (x, i) => (i === 5 ? NaN : x)) }, 'ERR_NONFINITE', /row 1, column 2/);
  refuses({ shape: [4, 3], dataSync: 3 }, 'ERR_TYPE', /accepted/);
  refuses(new Map(), 'ERR_TYPE', /accepted/);
  assert.equal(A.softmaxWeights(q, k).rows, 4, 'the instance keeps working');
});
