// Defaults come from the core (issue 13 item 2): the API applies, for every
// omitted option, the value the core reports (attn_default_name/value, the
// derived attn_default_* functions, attn_mask_spec_get), so native callers,
// Node and browsers share one set. Property: a call without the option equals
// the call with the option set to the core's value, asked of the core
// directly (not through wasm/build/defaults.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import createAttnCore from '../wasm/build/attn-core.mjs';
import { createAttn, FEATURES, MASK_KINDS, RULES } from '../wasm/attn.js';
import { DEFAULTS } from '../wasm/build/defaults.js';
import { ROOT } from '../tools/source-hash.mjs';
import { matrix } from './reference.mjs';

const A = await createAttn();
const core = await createAttnCore();
const named = {};
for (let id = 0, p; (p = core._attn_default_name(id)) !== 0; id++) named[core.UTF8ToString(p)] = core._attn_default_value(id);
const NORMALIZE = [];
for (let id = 0, p; (p = core._attn_normalize_name(id)) !== 0; id++) NORMALIZE.push(core.UTF8ToString(p));

const q = matrix(8, 4, 1), k = matrix(8, 4, 2), v = matrix(8, 3, 3);
const x = matrix(16, 4, 4), values16 = matrix(16, 3, 5);
const scale4 = core._attn_default_scale(4);

/** [label, call(options), option, the core's value]: call({}) must equal call({ option: value }). */
const CASES = [
  ['softmaxWeights', (o) => A.softmaxWeights(q, k, o), 'scale', scale4],
  ['softmaxAttention', (o) => A.softmaxAttention(q, k, v, o), 'scale', scale4],
  ['sparseAttention', (o) => A.sparseAttention(q, k, v, A.mask('local', 8, { window: 2 }), o), 'scale', scale4],
  ['randn', (o) => A.randn(3, 3, o), 'seed', named.seed],
  ['randomFeatures', (o) => A.randomFeatures(6, 4, o), 'seed', named.seed],
  ['randomFeatures', (o) => A.randomFeatures(6, 4, o), 'orthogonal', named['feature.orthogonal'] === 1],
  ['lshBuckets', (o) => A.lshBuckets(x, o), 'buckets', named['lsh.buckets']],
  ['lshBuckets', (o) => A.lshBuckets(x, o), 'hashes', named['lsh.hashes']],
  ['lshBuckets', (o) => A.lshBuckets(x, o), 'seed', named.seed],
  ['kmeans', (o) => A.kmeans(x, o), 'clusters', core._attn_default_root(16)],
  ['kmeans', (o) => A.kmeans(x, o), 'iterations', named['kmeans.iterations']],
  ['maskLayers', (o) => A.maskLayers(A.mask('local', 16, { window: 1 }), o), 'maxLayers', core._attn_default_max_layers(16)],
  ['featureMap', (o) => A.featureMap(x, o), 'feature', FEATURES[named['linear.feature']]],
  ['featureMap', (o) => A.featureMap(x, o), 'normalize', NORMALIZE[named['linear.normalize']]],
  ['featureMap favor+', (o) => A.featureMap(x, { feature: 'favor+', ...o }), 'features', named['feature.features']],
  ['featureMap favor+', (o) => A.featureMap(x, { feature: 'favor+', ...o }), 'stabilize', named['feature.stabilize'] === 1],
  ['featureMap favor+', (o) => A.featureMap(x, { feature: 'favor+', ...o }), 'orthogonal', named['feature.orthogonal'] === 1],
  ['featureMap dpfp', (o) => A.featureMap(x, { feature: 'dpfp', ...o }), 'nu', named['feature.nu']],
  ['featureMap relu', (o) => A.featureMap(x, { feature: 'relu', ...o }), 'kernelEpsilon', Math.fround(named['feature.kernelEpsilon'])],
  ['kernelWeights', (o) => A.kernelWeights(q, k, o), 'eps', named['linear.eps']],
  ['linearAttention', (o) => A.linearAttention(q, k, v, o), 'eps', named['linear.eps']],
  ['linearAttention', (o) => A.linearAttention(q, k, v, o), 'feature', FEATURES[named['linear.feature']]],
  ['fastWeights', (o) => A.fastWeights({ keys: x, values: values16, ...o }), 'feature', FEATURES[named['fastWeights.feature']]],
  ['fastWeights', (o) => A.fastWeights({ keys: x, values: values16, ...o }), 'normalize', NORMALIZE[named['fastWeights.normalize']]],
  ['fastWeights', (o) => A.fastWeights({ keys: x, values: values16, ...o }), 'rule', RULES[named['fastWeights.rule']]],
  ['fastWeights delta', (o) => A.fastWeights({ keys: x, values: values16, rule: 'delta', ...o }), 'beta', named['fastWeights.beta']],
  ['fastWeights gated', (o) => A.fastWeights({ keys: x, values: values16, rule: 'gated-delta', beta: 0.5, ...o }), 'alpha',
    named['fastWeights.alpha']],
  ['capacity', (o) => A.capacity({ sizes: [4, 8], trials: 1, ...o }), 'dKey', named['capacity.dKey']],
  ['capacity', (o) => A.capacity({ dKey: 8, sizes: [4, 8], trials: 1, ...o }), 'feature', FEATURES[named['capacity.feature']]],
  ['capacity', (o) => A.capacity({ dKey: 8, sizes: [4, 8], trials: 1, ...o }), 'normalize', NORMALIZE[named['capacity.normalize']]],
  ['capacity', (o) => A.capacity({ dKey: 8, sizes: [4, 8], trials: 1, ...o }), 'rule', RULES[named['capacity.rule']]],
  ['capacity delta', (o) => A.capacity({ dKey: 8, sizes: [4, 8], trials: 1, rule: 'delta', ...o }), 'beta', named['capacity.beta']],
  ['capacity', (o) => A.capacity({ dKey: 8, sizes: [4], ...o }), 'trials', named['capacity.trials']],
  ['capacity', (o) => A.capacity({ dKey: 4, trials: 1, ...o }), 'sizes',
    Array.from({ length: named['capacity.sizeCount'] }, (_, i) => named['capacity.sizeStep'] * (i + 1))],
  ['kernelErrorSweep', (o) => A.kernelErrorSweep(q, k, { trials: 1, variants: [{ feature: 'favor+' }], ...o }), 'features',
    Array.from({ length: named['kernelErrorSweep.featuresCount'] }, (_, i) => named['kernelErrorSweep.featuresMin'] * 2 ** i)],
  ['kernelErrorSweep', (o) => A.kernelErrorSweep(q, k, { features: [4], variants: [{ feature: 'favor+' }], ...o }), 'trials',
    named['kernelErrorSweep.trials']],
  ['matmul', (o) => A.matmul(q, matrix(4, 3, 6), o), 'alpha', named['matmul.alpha']],
  ['sinkhorn', (o) => A.sinkhorn(matrix(6, 6, 7), o), 'iterations', named['sinkhorn.iterations']],
  ['sinkhorn', (o) => A.sinkhorn(matrix(6, 6, 7), o), 'tau', named['sinkhorn.tau']],
  ['linformer', (o) => A.linformer(q, k, v, o), 'rank', core._attn_default_rank(8)],
  ['linformer', (o) => A.linformer(q, k, v, o), 'scale', scale4],
  ['linformer', (o) => A.linformer(q, k, v, o), 'seed', named.seed],
  ['compressedAttention', (o) => A.compressedAttention(q, k, v, o), 'factor', named['compressedAttention.factor']],
  ['compressedAttention', (o) => A.compressedAttention(q, k, v, o), 'scale', scale4],
  ['synthesizer', (o) => A.synthesizer(q, v, { mode: 'factorized', ...o }), 'factors', named['synthesizer.factors']],
  ['synthesizer', (o) => A.synthesizer(q, v, { q, k, ...o }), 'mix', named['synthesizer.mix']],
  ['synthesizer', (o) => A.synthesizer(q, v, o), 'seed', named.seed],
  ['sinkhornAttention', (o) => A.sinkhornAttention(matrix(16, 4, 8), x, values16, o), 'block', named['sinkhornAttention.block']],
  ['sinkhornAttention', (o) => A.sinkhornAttention(matrix(16, 4, 8), x, values16, o), 'iterations',
    named['sinkhornAttention.iterations']],
  ['sinkhornAttention', (o) => A.sinkhornAttention(matrix(16, 4, 8), x, values16, o), 'tau', named['sinkhornAttention.tau']],
  ['sinkhornAttention', (o) => A.sinkhornAttention(matrix(16, 4, 8), x, values16, o), 'sortcut',
    named['sinkhornAttention.sortcut']],
  ['sinkhornAttention', (o) => A.sinkhornAttention(matrix(16, 4, 8), x, values16, o), 'scale', scale4],
  ['funnelAttention', (o) => A.funnelAttention(q, k, v, o), 'stride', named['funnelAttention.stride']],
  ['funnelAttention', (o) => A.funnelAttention(q, k, v, o), 'scale', scale4],
  ['benchmark kernel', (o) => A.benchmark('kernel', { reps: 1, ...o }).ms.length, 'runs', named['benchmark.runs']],
  ['benchmark kernel', (o) => A.benchmark('kernel', o).flops, 'reps', named['benchmark.reps']],
];

test('a call without an option equals the call with the core\'s default for it', () => {
  for (const [label, call, option, value] of CASES) {
    assert.ok(value !== undefined && !Number.isNaN(value), `${label} ${option}: the core has a default`);
    assert.deepEqual(call({}), call({ [option]: value }), `${label}: ${option} = ${value}`);
  }
});

test('a different value of each option changes the result (the cases can fail)', () => {
  const other = (value) => (typeof value === 'boolean' ? !value : typeof value === 'string' ? null : undefined);
  const changed = CASES.filter(([label, call, option, value]) => {
    if (typeof value !== 'boolean') return false;
    return JSON.stringify(call({})) !== JSON.stringify(call({ [option]: other(value) }));
  });
  assert.ok(changed.length >= 2, 'flipping a boolean default changes randomFeatures and favor+ results');
  assert.notDeepEqual(A.softmaxWeights(q, k), A.softmaxWeights(q, k, { scale: 2 * scale4 }));
  assert.notDeepEqual(A.kmeans(x), A.kmeans(x, { clusters: core._attn_default_root(16) + 1 }));
});

/** The core's resolved spec fields for a mask kind and n (attn_mask_spec_get). */
function coreMaskFields(kind, n) {
  const CORE_KINDS = [];
  for (let id = 0, p; (p = core._attn_mask_kind_name(id)) !== 0; id++) CORE_KINDS.push(core.UTF8ToString(p));
  const spec = core._malloc(core._attn_mask_spec_size()), out = core._malloc(8);
  try {
    assert.equal(core._attn_mask_spec_init(spec, CORE_KINDS.indexOf(kind), n), 0);
    const fields = {};
    for (let id = 0, p; (p = core._attn_mask_field_name(id)) !== 0; id++) {
      assert.equal(core._attn_mask_spec_get(spec, id, out), 0);
      fields[core.UTF8ToString(p)] = core.HEAPF64[out >>> 3];
    }
    return fields;
  } finally {
    core._free(spec);
    core._free(out);
  }
}

test('every mask kind: no options equals every field set to the core\'s resolved value', () => {
  for (const n of [24, 60, 97]) {
    for (const kind of MASK_KINDS.filter((name) => name !== 'lsh' && name !== 'kmeans')) {
      const f = coreMaskFields(kind, n);
      const given = {
        window: f.window, dilation: f.dilation || 1, stride: f.stride || 1, block: f.block || 1, summary: f.summary,
        perRow: f.perRow, windowBlocks: f.windowBlocks || 1, globalBlocks: f.globalBlocks, randomBlocks: f.randomBlocks,
        seed: f.seed, ...(f.nTokens ? { tokens: [named['mask.token']] } : {}),
      };
      if (kind === 'bigbird') assert.equal(n % f.block, 0, `bigbird n ${n}: the default block ${f.block} divides n`);
      assert.deepEqual(A.mask(kind, n), A.mask(kind, n, given), `${kind} n ${n}: ${JSON.stringify(f)}`);
    }
  }
  // The derived values against their definitions, worked by hand.
  assert.equal(coreMaskFields('local', 24).window, 4);
  assert.equal(coreMaskFields('strided', 60).stride, 8);
  assert.equal(coreMaskFields('bigbird', 60).block, 6);
  assert.equal(coreMaskFields('bigbird', 97).block, 1);
  assert.equal(coreMaskFields('random', 2).perRow, 2);
  assert.equal(coreMaskFields('dilated', 24).dilation, named['mask.dilation']);
  assert.equal(coreMaskFields('longformer', 24).dilation, named['mask.longformerDilation']);
});

test('wasm/build/defaults.js is the core\'s list, and wasm/api writes no numeric default', () => {
  assert.deepEqual({ ...DEFAULTS }, named);
  const fallback = /\bopt(?:Int|Number|IntList)\(\s*where,\s*[^,]+,\s*[^,]+,\s*(-?[\d.]+(?:e-?\d+)?|\[\s*\d)/g;
  for (const file of readdirSync(join(ROOT, 'wasm/api'))) {
    const text = readFileSync(join(ROOT, 'wasm/api', file), 'utf8');
    assert.deepEqual([...text.matchAll(fallback)].map((m) => m[0]), [], `${file}: numeric defaults`);
    assert.doesNotMatch(text, /\bopt(?:Int|Number)\(\s*where,\s*[^,]+,\s*[^,]+,\s*[^,]*Math\./, `${file}: a derived default formula`);
  }
});
