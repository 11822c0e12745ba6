// Strict options (issue 13): every public function declares its option keys;
// an unknown key throws AttnError ERR_OPTION naming the key and the nearest
// valid one, and every documented key (attn.d.ts) is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttn, AttnError } from '../wasm/attn.js';
import { matrix } from './reference.mjs';

const A = await createAttn();
const q = matrix(8, 4, 1), k = matrix(8, 4, 2), v = matrix(8, 3, 3);
const x = matrix(16, 4, 4);

const FEATURE = ['feature', 'features', 'seed', 'orthogonal', 'projection', 'nu', 'normalize', 'kernelEpsilon', 'stabilize'];

/**
 * [function, call(options), the documented option keys (attn.d.ts), a
 * misspelt key, the key it should suggest].
 */
const FUNCTIONS = [
  ['softmaxWeights', (o) => A.softmaxWeights(q, k, o), ['scale', 'causal', 'mask'], 'casual', 'causal'],
  ['softmaxAttention', (o) => A.softmaxAttention(q, k, v, o), ['scale', 'causal', 'mask', 'lse'], 'scael', 'scale'],
  ['softmaxAttentionBackward', (o) => A.softmaxAttentionBackward(q, k, v, matrix(8, 3, 7), o),
    ['scale', 'causal', 'mask', 'out', 'lse'], 'casual', 'causal'],
  ['sparseAttentionBackward', (o) => A.sparseAttentionBackward(q, k, v, A.mask('local', 8), matrix(8, 3, 7), o), ['scale'],
    'scal', 'scale'],
  ['sparseAttention', (o) => A.sparseAttention(q, k, v, A.mask('local', 8), o), ['scale'], 'scal', 'scale'],
  ['randn', (o) => A.randn(2, 2, o), ['seed'], 'sed', 'seed'],
  ['randomFeatures', (o) => A.randomFeatures(4, 4, o), ['seed', 'orthogonal'], 'orthogonl', 'orthogonal'],
  ['mask', (o) => A.mask('local', 16, o), ['format', 'causal', 'window', 'dilation', 'stride', 'block', 'summary', 'tokens',
    'perRow', 'windowBlocks', 'globalBlocks', 'randomBlocks', 'seed', 'x', 'buckets', 'hashes', 'clusters', 'iterations'],
  'windows', 'window'],
  ['lshBuckets', (o) => A.lshBuckets(x, o), ['buckets', 'hashes', 'seed'], 'bucket', 'buckets'],
  ['kmeans', (o) => A.kmeans(x, o), ['clusters', 'iterations', 'seed'], 'iteration', 'iterations'],
  ['maskInfo', (o) => A.maskInfo(A.mask('local', 8), o), ['counts'], 'count', 'counts'],
  ['maskLayers', (o) => A.maskLayers(A.mask('local', 8), o), ['maxLayers'], 'maxlayers', 'maxLayers'],
  ['featureMap', (o) => A.featureMap(q, o), [...FEATURE, 'role'], 'rol', 'role'],
  ['kernelWeights', (o) => A.kernelWeights(q, k, o), [...FEATURE, 'causal', 'eps'], 'feature_map', 'feature'],
  ['linearAttention', (o) => A.linearAttention(q, k, v, o), [...FEATURE, 'causal', 'eps'], 'epsilon', 'eps'],
  ['kernelError', (o) => A.kernelError(q, k, o), [...FEATURE, 'causal', 'eps'], 'normalise', 'normalize'],
  ['kernelErrorSweep', (o) => A.kernelErrorSweep(q, k, { features: [4], trials: 1, ...o }),
    ['features', 'variants', 'trials', 'seed', 'causal'], 'trial', 'trials'],
  ['fastWeights', (o) => A.fastWeights({ keys: q, values: v, ...o }), ['keys', 'values', 'queries', 'rule', 'beta', 'alpha',
    'record', 'errors', ...FEATURE], 'rules', 'rule'],
  ['capacity', (o) => A.capacity({ sizes: [4], trials: 1, dKey: 8, ...o }), ['dKey', 'sizes', 'rule', 'beta', 'trials', 'seed',
    ...FEATURE], 'dkey', 'dKey'],
  ['matmul', (o) => A.matmul(q, matrix(4, 2, 5), o), ['alpha'], 'aplha', 'alpha'],
  ['sinkhorn', (o) => A.sinkhorn(matrix(4, 4, 6), o), ['iterations', 'tau', 'causal'], 'temperature', 'iterations'],
  ['linformer', (o) => A.linformer(q, k, v, o), ['rank', 'seed', 'E', 'F', 'shareKV', 'scale'], 'sharekv', 'shareKV'],
  ['compressedAttention', (o) => A.compressedAttention(q, k, v, o), ['factor', 'kernel', 'kernelK', 'kernelV', 'causal', 'scale'],
    'kernelQ', 'kernel'],
  ['synthesizer', (o) => A.synthesizer(q, v, o), ['mode', 'seed', 'logits', 'factors', 'mix', 'q', 'k', 'scale', 'causal'],
    'modes', 'mode'],
  ['sinkhornAttention', (o) => A.sinkhornAttention(q, k, v, { block: 2, ...o }), ['block', 'iterations', 'tau', 'seed', 'causal',
    'sortcut', 'scale'], 'sortCut', 'sortcut'],
  ['funnelAttention', (o) => A.funnelAttention(q, k, v, o), ['stride', 'scale'], 'strides', 'stride'],
  ['benchmark', (o) => A.benchmark('matmul', { n: 2, k: 2, m: 2, ...o }), ['n', 'k', 'm', 'runs'], 'run', 'runs'],
];

test('softmaxAttention(q, k, v, { casual: true }) names the key and suggests causal', () => {
  assert.throws(() => A.softmaxAttention(q, k, v, { casual: true }), (err) => {
    assert.ok(err instanceof AttnError);
    assert.equal(err.code, 'ERR_OPTION');
    assert.equal(err.message, "softmaxAttention: unknown option 'casual' (did you mean 'causal'?)");
    return true;
  });
});

for (const [fn, call, keys, wrong, suggestion] of FUNCTIONS) {
  test(`${fn}: an unknown option is ERR_OPTION naming it and '${suggestion}'; every documented key is accepted`, () => {
    assert.ok(!keys.includes(wrong));
    assert.throws(() => call({ [wrong]: 1 }), (err) => {
      assert.ok(err instanceof AttnError, `${err}`);
      assert.equal(err.code, 'ERR_OPTION', err.message);
      assert.equal(err.message, `${fn}: unknown option '${wrong}' (did you mean '${suggestion}'?)`);
      return true;
    });
    // A key given as undefined takes its default: each documented key is known.
    for (const key of keys) {
      try {
        call({ [key]: undefined });
      } catch (err) {
        assert.notEqual(err.code, 'ERR_OPTION', `${fn} refuses its documented option ${key}: ${err.message}`);
      }
    }
    assert.equal(A.randn(1, 1).rows, 1, 'the instance keeps working');
  });
}

test('benchmark declares its options per op', () => {
  assert.throws(() => A.benchmark('kernel', { n: 4 }), (err) => err.code === 'ERR_OPTION' && /'n'/.test(err.message));
  assert.throws(() => A.benchmark('softmax', { n: 4, d: 4, reps: 2 }), (err) => err.code === 'ERR_OPTION' && /'reps'/.test(err.message));
});

test('options must be an object; functions without options refuse them', () => {
  assert.throws(() => A.softmaxWeights(q, k, [true]), (err) => err.code === 'ERR_TYPE' && /^softmaxWeights: options/.test(err.message));
  assert.throws(() => A.softmaxWeights(q, k, 'causal'), (err) => err.code === 'ERR_TYPE');
  assert.deepEqual(A.softmaxWeights(q, k, null).data, A.softmaxWeights(q, k).data, 'null is no options');
});

test('createAttn refuses an unknown option', async () => {
  await assert.rejects(createAttn({ kernel: 'scalar' }), (err) => err instanceof AttnError && err.code === 'ERR_OPTION'
    && err.message === "createAttn: unknown option 'kernel' (did you mean 'kernels'?)");
});

test('the web page passes only declared options (its calls, as in web/src)', () => {
  const n = 64;
  // views/masks.js passes every mask option to every kind.
  for (const kind of A.MASK_KINDS) {
    const m = A.mask(kind, n, {
      window: 3, stride: 8, dilation: 2, block: 8, summary: 1, tokens: [0], perRow: 3, windowBlocks: 3, globalBlocks: 1,
      randomBlocks: 2, buckets: 8, hashes: 1, clusters: 8, seed: 1,
      x: ['lsh', 'kmeans'].includes(kind) ? A.randn(n, 4, { seed: 1 }) : undefined,
    });
    assert.equal(m.rows, n);
  }
  // views/fastweights.js and jobs.js.
  const keys = A.randn(6, 4, { seed: 1 }), values = A.randn(6, 3, { seed: 2 });
  const common = { keys, values, feature: 'dpfp', nu: 1, normalize: 'sum', record: 'all', errors: true, features: 8, seed: 1 };
  assert.equal(A.fastWeights({ ...common, rule: 'delta', beta: 0.5 }).outputs.rows, 6);
  assert.equal(A.capacity({ dKey: 8, sizes: [4], feature: 'dpfp', nu: 1, rule: 'sum', trials: 1, seed: 0, features: 16 }).length, 1);
  assert.equal(A.kernelErrorSweep(q, k, { features: [8], trials: 1, seed: 0, variants: [{ feature: 'favor+', orthogonal: true }] }).length, 1);
});
