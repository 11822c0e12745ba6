// Issue 12's JS-side reproducers (sizes that could wrap, JS allocations
// without a bound, malformed input, errors naming another function): each
// gives the right answer or an AttnError with a stable code whose message
// starts with the function the user called and names the argument, and the
// instance keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import createAttnCore from '../wasm/build/attn-core.mjs';
import { createAttn, AttnError } from '../wasm/attn.js';
import { check, createCore } from '../wasm/api/core.js';
import { matrix } from './reference.mjs';
import { ROW_SUM, SHORT_ROW_SUM } from './tolerances.mjs';

const A = await createAttn();
const q = matrix(4, 3, 1), k = matrix(5, 3, 2), v = matrix(5, 2, 3);

/** The instance still computes: a row of softmax weights sums to 1. */
function stillWorks() {
  const P = A.softmaxWeights(q, k);
  assert.ok(Math.abs(P.data.slice(0, 5).reduce((a, b) => a + b) - 1) < SHORT_ROW_SUM, 'the instance keeps working');
}

/** call() throws AttnError `code`, its message starts with "fn: " and mentions each of `names`. */
function refuses(call, code, fn, ...names) {
  assert.throws(call, (err) => {
    assert.ok(err instanceof AttnError, `an AttnError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.startsWith(`${fn}: `), `"${err.message}" starts with ${fn}`);
    for (const name of names) assert.ok(err.message.includes(name), `"${err.message}" names ${name}`);
    return true;
  });
  stillWorks();
}

/** Allowed cells of a dense mask. */
const cells = (mask) => mask.data.reduce((s, x) => s + (x !== 0), 0);

test('mask options of 2^32 and beyond mean "at most n" and are clamped, not wrapped', () => {
  const n = 16;
  // A window, stride or dilation past the sequence is the sequence: the same mask as n.
  for (const [kind, name] of [['local', 'window'], ['dilated', 'window'], ['dilated', 'dilation'], ['longformer', 'window'],
    ['strided', 'stride'], ['sparse-transformer', 'stride'], ['random', 'perRow']]) {
    for (const big of [2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 60]) {
      const got = A.mask(kind, n, { [name]: big });
      const want = A.mask(kind, n, { [name]: n });
      assert.deepEqual(got.data, want.data, `${kind} ${name} ${big}`);
    }
  }
  assert.equal(cells(A.mask('local', n, { window: 2 ** 32 })), n * n, 'a window of 2^32 covers every key');
  assert.equal(cells(A.mask('random', n, { perRow: 2 ** 32 })), n * n, 'perRow 2^32: every key of every row');
  assert.equal(cells(A.mask('random', n, { perRow: 2 ** 32, causal: true })), (n * (n + 1)) / 2, 'causal: every earlier key');
  // BigBird with n = 64 and blocks of 8: every block global covers everything.
  assert.equal(cells(A.mask('bigbird', 64, { block: 8, globalBlocks: 2 ** 32 })), 64 * 64);
  assert.equal(cells(A.mask('bigbird', 64, { block: 8, windowBlocks: 2 ** 32 + 1, globalBlocks: 0, randomBlocks: 0 })), 64 * 64,
    'an odd window of 2^32 + 1 blocks covers every block');
  assert.deepEqual(A.mask('bigbird', 64, { block: 8, randomBlocks: 2 ** 32, seed: 3 }).data,
    A.mask('bigbird', 64, { block: 8, randomBlocks: 8, seed: 3 }).data, 'randomBlocks past the blocks there are');
  stillWorks();
});

test('mask options without an "at most" meaning are refused past their range, before any conversion', () => {
  refuses(() => A.mask('fixed', 16, { block: 2 ** 32 }), 'ERR_RANGE', 'mask', 'block');
  refuses(() => A.mask('local', 16, { window: '3' }), 'ERR_TYPE', 'mask', 'window');
  refuses(() => A.mask('local', 16, { window: NaN }), 'ERR_RANGE', 'mask', 'window');
  refuses(() => A.mask('local', 16, { window: Infinity }), 'ERR_RANGE', 'mask', 'window');
  refuses(() => A.mask('random', 16, { seed: 2 ** 53 }), 'ERR_RANGE', 'mask', 'seed');
  refuses(() => A.mask('bigbird', 64, { block: 8, windowBlocks: 2 ** 32 }), 'ERR_RANGE', 'mask', 'windowBlocks');
  refuses(() => A.mask('random', 16, { perRow: 1.5 }), 'ERR_RANGE', 'mask', 'perRow');
  refuses(() => A.mask('lsh', 16, { x: matrix(16, 4, 5), buckets: 2 ** 32 }), 'ERR_RANGE', 'mask', 'buckets');
  refuses(() => A.mask('kmeans', 16, { x: matrix(16, 4, 5), iterations: 2 ** 32 }), 'ERR_RANGE', 'mask', 'iterations');
});

test('a CSR mask with 2^32 cells or more is ERR_MEMORY, not a wrapped count', () => {
  refuses(() => A.mask('full', 65536, { format: 'csr' }), 'ERR_MEMORY', 'mask');
  refuses(() => A.mask('causal', 65536, { format: 'csr' }), 'ERR_MEMORY', 'mask', 'n 65536');
});

test('allocations made in JS go through the size check: compressedAttention, sinkhornAttention, fastWeights', () => {
  // softmaxWeights refuses n = m = 23171 (23171^2 floats > 2^31 bytes); so does the effective matrix.
  const long = matrix(23171, 1, 7);
  refuses(() => A.softmaxWeights(long, long), 'ERR_MEMORY', 'softmaxWeights', 'weights');
  refuses(() => A.compressedAttention(long, long, long, { factor: 23171 }), 'ERR_MEMORY', 'compressedAttention', 'effective');
  refuses(() => A.compressedAttention(long, long, long), 'ERR_MEMORY', 'compressedAttention', 'effective');
  refuses(() => A.sinkhornAttention(long, long, long, { block: 1 }), 'ERR_MEMORY', 'sinkhornAttention');
  // dv x dim floats of the final state: 64 x (2 * 2048 * 4095) floats is 4.3 GB.
  const keys = matrix(2, 2048, 8), values = matrix(2, 64, 9);
  refuses(() => A.fastWeights({ keys, values, feature: 'dpfp', nu: 4095 }), 'ERR_MEMORY', 'fastWeights');
  refuses(() => A.synthesizer(long, long), 'ERR_MEMORY', 'synthesizer', 'logits');
});

test('maskLayers: the core bounds the work, a full 2048 mask still runs (one layer)', () => {
  // One layer of a full 8192 mask is (n + nnz) ceil(n / 64) = 8.6e9 word operations, past 2^32.
  refuses(() => A.maskLayers(A.mask('full', 8192)), 'ERR_RANGE', 'maskLayers', 'maxLayers');
  const r = A.maskLayers(A.mask('full', 2048));
  assert.equal(r.layers, 1, 'a full mask reaches everything in one layer');
  assert.equal(r.complete, true);
});

test('maskInfo on a nested-array or { shape, data } mask gives the density', () => {
  assert.deepEqual(A.maskInfo([[1, 0], [0, 1]]), { nnz: 2, density: 0.5, perRow: { min: 1, max: 1, mean: 1 } });
  assert.deepEqual(A.maskInfo([[true, true, false]]), { nnz: 2, density: 2 / 3, perRow: { min: 2, max: 2, mean: 2 } });
  assert.equal(A.maskInfo({ shape: [2, 2], data: [1, 1, 0, 1] }).density, 0.75);
});

test('kernelErrorSweep validates its variants and sizes', () => {
  refuses(() => A.kernelErrorSweep(q, k, { variants: 5 }), 'ERR_TYPE', 'kernelErrorSweep', 'variants');
  refuses(() => A.kernelErrorSweep(q, k, { variants: [null] }), 'ERR_TYPE', 'kernelErrorSweep', 'variants[0]');
  refuses(() => A.kernelErrorSweep(q, k, { variants: [{}] }), 'ERR_KIND', 'kernelErrorSweep', 'variants[0].feature');
  refuses(() => A.kernelErrorSweep(q, k, { variants: [{ feature: 'favor+', orthogonal: 'yes' }] }), 'ERR_TYPE',
    'kernelErrorSweep', 'orthogonal');
  refuses(() => A.kernelErrorSweep(q, k, { variants: [{ feature: 'favor+', ortho: true }] }), 'ERR_OPTION',
    'kernelErrorSweep', "'ortho'", "'orthogonal'");
  refuses(() => A.kernelErrorSweep(q, k, { features: [8, 0] }), 'ERR_RANGE', 'kernelErrorSweep', 'features[1]');
  refuses(() => A.kernelErrorSweep(q, k, { features: [8], variants: [{ feature: 'favor+' }], seed: -1 }), 'ERR_RANGE',
    'kernelErrorSweep', 'seed');
  const rows = A.kernelErrorSweep(q, k, { features: [8], variants: [{ feature: 'favor+' }], trials: 1 });
  assert.equal(rows.length, 1);
  assert.equal(rows[0].orthogonal, true, 'orthogonal defaults to true');
});

test('CSR masks: duplicate or unsorted indices, non-integer or NaN indptr are refused', () => {
  const qq = matrix(2, 3, 1), kk = matrix(2, 3, 2), vv = matrix(2, 2, 3);
  const csr = (indptr, indices) => ({ rows: 2, cols: 2, format: 'csr', indptr, indices });
  for (const fn of ['sparseAttention', 'maskInfo']) {
    const call = (mask) => (fn === 'maskInfo' ? () => A.maskInfo(mask) : () => A.sparseAttention(qq, kk, vv, mask));
    refuses(call(csr([0, 2, 3], [0, 0, 1])), 'ERR_RANGE', fn, 'mask.indices', 'duplicate');
    refuses(call(csr([0, 2, 3], [1, 0, 1])), 'ERR_RANGE', fn, 'mask.indices', 'unsorted');
    refuses(call(csr([0, NaN, 2], [0, 1])), 'ERR_TYPE', fn, 'mask.indptr[1]');
    refuses(call(csr([0, 1.5, 2], [0, 1])), 'ERR_TYPE', fn, 'mask.indptr[1]');
    refuses(call(csr([0, 1, 2], [0, '1'])), 'ERR_TYPE', fn, 'mask.indices[1]');
  }
  // A valid CSR mask gives the dense mask's answer.
  const Y = A.sparseAttention(qq, kk, vv, csr([0, 1, 3], [0, 0, 1]));
  const Z = A.sparseAttention(qq, kk, vv, [[1, 0], [1, 1]]);
  assert.deepEqual(Y.data, Z.data);
});

test('{ data: [null] } is refused like [[null]], for matrices and masks', () => {
  refuses(() => A.softmaxWeights([[null]], [[1]]), 'ERR_TYPE', 'softmaxWeights', 'q');
  refuses(() => A.softmaxWeights({ rows: 1, cols: 1, data: [null] }, [[1]]), 'ERR_TYPE', 'softmaxWeights', 'q.data[0]');
  refuses(() => A.softmaxWeights({ rows: 1, cols: 2, data: [1, '2'] }, [[1, 2]]), 'ERR_TYPE', 'softmaxWeights', 'q.data[1]');
  refuses(() => A.softmaxWeights(q, k, { mask: { rows: 4, cols: 5, data: new Array(20).fill(null) } }), 'ERR_TYPE',
    'softmaxWeights', 'mask.data[0]');
  refuses(() => A.maskInfo({ rows: 1, cols: 1, data: [{}] }), 'ERR_TYPE', 'maskInfo', 'mask.data[0]');
});

test('sinkhornAttention refuses tau <= 0 like sinkhorn', () => {
  const x = matrix(8, 3, 4);
  refuses(() => A.sinkhorn(matrix(4, 4, 1), { tau: -1 }), 'ERR_RANGE', 'sinkhorn', 'tau');
  refuses(() => A.sinkhornAttention(x, x, x, { block: 2, tau: -1 }), 'ERR_RANGE', 'sinkhornAttention', 'tau');
  refuses(() => A.sinkhornAttention(x, x, x, { block: 2, tau: 0 }), 'ERR_RANGE', 'sinkhornAttention', 'tau');
});

test('efficient attention with causal is refused: its key softmax runs over all positions', () => {
  for (const [fn, call] of [
    ['linearAttention', () => A.linearAttention(q, k, v, { feature: 'efficient', causal: true })],
    ['kernelWeights', () => A.kernelWeights(q, k, { feature: 'efficient', causal: true })],
    ['kernelError', () => A.kernelError(q, k, { feature: 'efficient', causal: true })],
    ['kernelErrorSweep', () => A.kernelErrorSweep(q, k, { causal: true, variants: [{ feature: 'efficient' }], features: [4] })],
  ]) refuses(call, 'ERR_RANGE', fn, 'causal', 'efficient', 'no causal form');
  // Without causal it still runs; rows sum to 1.
  const W = A.kernelWeights(q, k, { feature: 'efficient' });
  assert.ok(Math.abs(W.data.slice(0, 5).reduce((a, b) => a + b) - 1) < ROW_SUM);
});

test('errors name the function the user called, not the one it calls inside', () => {
  const x = matrix(16, 4, 5), sq = matrix(8, 3, 6);
  const cases = [
    ['kernelError', () => A.kernelError(q, k, { feature: 'cosine' }), 'ERR_KIND', 'feature'],
    ['kernelError', () => A.kernelError(q, k, { features: 0, feature: 'favor+' }), 'ERR_RANGE', 'features'],
    ['kernelError', () => A.kernelError(q, k, { seed: -1, feature: 'favor+' }), 'ERR_RANGE', 'seed'],
    ['kernelErrorSweep', () => A.kernelErrorSweep(q, matrix(5, 4, 2)), 'ERR_SHAPE', 'k'],
    ['mask', () => A.mask('lsh', 16, { x, buckets: 5 }), 'ERR_RANGE', 'buckets'],
    ['mask', () => A.mask('lsh', 16, { x, hashes: 0 }), 'ERR_RANGE', 'hashes'],
    ['mask', () => A.mask('kmeans', 16, { x, clusters: 17 }), 'ERR_RANGE', 'clusters'],
    ['mask', () => A.mask('lsh', 8, { x }), 'ERR_SHAPE', 'x'],
    ['featureMap', () => A.featureMap(q, { feature: 'favor+', orthogonal: 'no' }), 'ERR_TYPE', 'orthogonal'],
    ['linearAttention', () => A.linearAttention(q, k, v, { feature: 'favor+', seed: 0.5 }), 'ERR_RANGE', 'seed'],
    ['fastWeights', () => A.fastWeights({ keys: q, values: q, feature: 'favor+', orthogonal: 1 }), 'ERR_TYPE', 'orthogonal'],
    ['capacity', () => A.capacity({ feature: 'favor+', seed: 'a', sizes: [4] }), 'ERR_TYPE', 'seed'],
    ['linformer', () => A.linformer(q, k, v, { scale: NaN }), 'ERR_RANGE', 'scale'],
    ['linformer', () => A.linformer(q, k, v, { seed: -2 }), 'ERR_RANGE', 'seed'],
    ['compressedAttention', () => A.compressedAttention(q, k, v, { scale: 'x' }), 'ERR_TYPE', 'scale'],
    ['synthesizer', () => A.synthesizer(q, matrix(4, 2, 3), { seed: -1 }), 'ERR_RANGE', 'seed'],
    ['synthesizer', () => A.synthesizer(q, matrix(4, 2, 3), { mix: 0.5, q: [[NaN, 0, 0]] }), 'ERR_NONFINITE', 'q'],
    ['sinkhornAttention', () => A.sinkhornAttention(sq, sq, sq, { block: 2, seed: 1.5 }), 'ERR_RANGE', 'seed'],
    ['sinkhornAttention', () => A.sinkhornAttention(sq, sq, sq, { block: 2, iterations: -1 }), 'ERR_RANGE', 'iterations'],
    ['funnelAttention', () => A.funnelAttention(q, k, v, { scale: Infinity }), 'ERR_RANGE', 'scale'],
  ];
  for (const [fn, call, code, name] of cases) refuses(call, code, fn, name);
});

test('a status from the core becomes an AttnError naming the call and its arguments', async () => {
  const c = createCore(await createAttnCore(), 'simd');
  const overflow = c.statusCodes.indexOf('ERR_OVERFLOW');
  assert.ok(overflow > 0, 'the core lists ERR_OVERFLOW');
  assert.throws(() => check(c, 'softmaxWeights', overflow, 'attn_softmax_weights', 'q [1x1], k [2x1], scale 1'), (err) => {
    assert.ok(err instanceof AttnError);
    assert.equal(err.code, 'ERR_OVERFLOW');
    assert.match(err.message, /^softmaxWeights: q \[1x1\], k \[2x1\], scale 1: .+ \(attn_softmax_weights\)$/);
    return true;
  });
  check(c, 'softmaxWeights', 0, 'attn_softmax_weights', '');  // OK does not throw
  // Every code the core lists maps to itself.
  for (let s = 1; s < c.statusCodes.length; s++) {
    assert.throws(() => check(c, 'f', s, 'attn_f', 'x'), (err) => err.code === c.statusCodes[s]);
  }
});
