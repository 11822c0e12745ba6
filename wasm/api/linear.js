// Kernel (linear) attention (src/features.c, src/linear.c): feature maps phi,
// the n x m matrix a map applies implicitly, and outputs in O(n).
import { DEFAULTS, checkBytes, checkPlan, fail, run, shapeOf } from './core.js';
import { optBool, optInt, optKind, optNumber, options, toMatrix, toQKV } from './args.js';
import { randomFeatures } from './rng.js';

import { FEATURES, FEATURE_USES, NORMALIZE } from '../build/names.js';

/** Feature maps phi and feature normalisations, in the core's numbering (read from the core at build time). */
export { FEATURES, NORMALIZE };
/** The maps that take a random projection (Performer). */
const PERFORMER = new Set(FEATURES.filter((name) => name.startsWith('favor')));

/** The options of a feature map, shared by every function that takes one. */
export const FEATURE_KEYS = ['feature', 'features', 'seed', 'orthogonal', 'projection', 'nu', 'normalize',
  'kernelEpsilon', 'stabilize'];
export const LINEAR_KEYS = [...FEATURE_KEYS, 'causal', 'eps'];

/**
 * Reads the feature options (o, already checked for unknown keys) for
 * inputs of width d; draws the projection when needed. `use` ('linear',
 * 'fastWeights' or 'capacity') picks the core's defaults of feature and
 * normalize ("linear.feature", ...).
 */
export function featureOptions(c, where, o, d, use = 'linear') {
  const feature = optKind(where, 'feature', o.feature, FEATURES[DEFAULTS[`${use}.feature`]], FEATURES);
  const index = FEATURES.indexOf(feature);
  let projection = null;
  let m = optInt(where, 'features', o.features, DEFAULTS['feature.features'], 1, 1 << 20);
  if (PERFORMER.has(feature)) {
    if (o.projection !== undefined && o.projection !== null) {
      projection = toMatrix(where, 'projection', o.projection);
      if (projection.cols !== d) fail('ERR_SHAPE', where, `projection has ${projection.cols} columns, the inputs ${d}`);
      if (o.features !== undefined && o.features !== projection.rows) {
        fail('ERR_SHAPE', where, `features is ${o.features} but projection has ${projection.rows} rows`);
      }
      m = projection.rows;
    } else {
      projection = randomFeatures(c, m, d, { seed: o.seed, orthogonal: o.orthogonal }, where);
    }
  }
  const nu = optInt(where, 'nu', o.nu, DEFAULTS['feature.nu'], 1, Math.max(1, 2 * d - 1));
  const kernelEpsilon = optNumber(where, 'kernelEpsilon', o.kernelEpsilon, DEFAULTS['feature.kernelEpsilon'], { min: 0 });
  const stabilize = optBool(where, 'stabilize', o.stabilize, DEFAULTS['feature.stabilize'] === 1);
  const normalize = optKind(where, 'normalize', o.normalize, NORMALIZE[DEFAULTS[`${use}.normalize`]], NORMALIZE);
  return { feature, index, m, projection, nu, kernelEpsilon, stabilize, normalize, use };
}

/** "feature 'favor+', m 64, ..." for messages. */
export const describeFeature = (f) => `feature '${f.feature}'${f.projection ? `, features ${f.m}` : ''}`
  + `${f.feature === 'dpfp' ? `, nu ${f.nu}` : ''}${f.normalize !== 'none' ? `, normalize '${f.normalize}'` : ''}`;

/**
 * The description of a failed call with feature spec `spec` on inputs of
 * width d, for heap.call: the field the core names (attn_feature_spec_check),
 * else `everything`.
 */
export const explainFeature = (heap, spec, f, d, everything) => () => {
  const name = heap.argument('feature_spec_check', spec, FEATURE_USES.indexOf(f.use), d);
  const value = { feature: `'${f.feature}'`, features: f.m, nu: f.nu, kernelEpsilon: f.kernelEpsilon,
    normalize: `'${f.normalize}'`, d };
  if (name === null || !(name in value)) return name === 'projection' ? { argument: 'projection' } : everything;
  return { argument: `${name} ${value[name]}` };
};

/** Writes a feature spec into wasm memory; returns its pointer. */
export function featureSpec(heap, mod, f) {
  const spec = heap.alloc(mod._attn_feature_spec_size(), 'the feature spec');
  const proj = f.projection ? heap.f32(f.projection.data, 'projection') : 0;
  heap.call('feature_spec_set', describeFeature(f), spec, f.index, f.m, proj, f.nu, f.kernelEpsilon,
    f.stabilize ? 1 : 0, NORMALIZE.indexOf(f.normalize));
  return spec;
}

/** phi(x) row by row (role 'query' or 'key'): Matrix n x dim. */
export function featureMap(c, x, opts, where = 'featureMap') {
  const X = toMatrix(where, 'x', x);
  const o = options(where, opts, [...FEATURE_KEYS, 'role']);
  const role = optKind(where, 'role', o.role, 'query', ['query', 'key']);
  const f = featureOptions(c, where, o, X.cols);
  return run(c, where, (heap, mod) => {
    const what = `${shapeOf('x', X)}, ${describeFeature(f)}`;
    const spec = featureSpec(heap, mod, f);
    const explained = explainFeature(heap, spec, f, X.cols, what);
    const dim = heap.size('feature_dim', explained, spec, X.cols);
    checkBytes(where, 'the features', X.rows * dim, 4);
    const px = heap.f32(X.data, 'x');
    const out = heap.alloc(X.rows * dim * 4, 'the features');
    const work = heap.workspace('feature_map_workspace', explained, spec, X.cols);
    heap.call('feature_map', explained, spec, role === 'key' ? 1 : 0, X.rows, X.cols, px, out, work.ptr, work.floats);
    return { rows: X.rows, cols: dim, data: heap.readF32(out, X.rows * dim) };
  });
}

/** Validates the arguments of kernelWeights / linearAttention / kernelError. */
export function linearArgs(c, where, q, k, v, opts) {
  const { Q, K, V } = toQKV(where, q, k, v);
  const o = options(where, opts, LINEAR_KEYS);
  const causal = optBool(where, 'causal', o.causal, false);
  const eps = optNumber(where, 'eps', o.eps, DEFAULTS['linear.eps'], { min: 0 });
  const f = featureOptions(c, where, o, Q.cols);
  if (causal && f.feature === 'efficient') {
    fail('ERR_RANGE', where, "causal with feature 'efficient': efficient attention has no causal form: "
      + 'its key softmax runs over all positions');
  }
  return { Q, K, V, causal, eps, f };
}

const describe = (Q, K, V, a) => [shapeOf('q', Q), shapeOf('k', K), ...(V ? [shapeOf('v', V)] : []),
  describeFeature(a.f), ...(a.causal ? ['causal'] : []), `eps ${a.eps}`].join(', ');

/** The n x m matrix that kernel attention applies implicitly, from checked arguments. */
export function kernelWeightsOf(c, where, a) {
  const { Q, K, causal, eps, f } = a;
  const [n, m, d] = [Q.rows, K.rows, Q.cols];
  checkBytes(where, 'the weights', n * m, 4);
  return run(c, where, (heap, mod) => {
    const what = describe(Q, K, null, a);
    const spec = featureSpec(heap, mod, f);
    const explained = explainFeature(heap, spec, f, d, what);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k');
    const out = heap.alloc(n * m * 4, 'the weights');
    const work = heap.workspace('linear_workspace', explained, spec, n, m, d, 1);
    heap.call('kernel_weights', explained, spec, n, m, d, pq, pk, causal ? 1 : 0, eps, out, work.ptr, work.floats);
    return { rows: n, cols: m, data: heap.readF32(out, n * m) };
  });
}

/** The n x m matrix that kernel (linear) attention applies implicitly. */
export function kernelWeights(c, q, k, opts, where = 'kernelWeights') {
  return kernelWeightsOf(c, where, linearArgs(c, where, q, k, undefined, opts));
}

/** kernelWeights(q, k) * v in O(n) time and memory (running sums when causal). */
export function linearAttention(c, q, k, v, opts, where = 'linearAttention') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  const a = linearArgs(c, where, q, k, v, opts);
  const { Q, K, V, causal, eps, f } = a;
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  checkBytes(where, 'the output', n * dv, 4);
  return run(c, where, (heap, mod) => {
    const what = describe(Q, K, V, a);
    const spec = featureSpec(heap, mod, f);
    const explained = explainFeature(heap, spec, f, d, what);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v');
    const out = heap.alloc(n * dv * 4, 'the output');
    const work = heap.workspace('linear_workspace', explained, spec, n, m, d, dv);
    heap.call('linear_attention', explained, spec, n, m, d, dv, pq, pk, pv, causal ? 1 : 0, eps, out, work.ptr, work.floats);
    return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
  });
}

/**
 * The gradients of L with respect to q, k and v, given dy = dL/dY for
 * Y = linearAttention(q, k, v, opts) with the same options (the Performer
 * projection and stabilizers held constant; src/linear_backward.c).
 */
export function linearAttentionBackward(c, q, k, v, dy, opts, where = 'linearAttentionBackward') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  if (dy === undefined) fail('ERR_TYPE', where, 'dy is required');
  const a = linearArgs(c, where, q, k, v, opts);
  const { Q, K, V, causal, eps, f } = a;
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  const DY = toMatrix(where, 'dy', dy);
  if (DY.rows !== n || DY.cols !== dv) {
    fail('ERR_SHAPE', where, `dy is ${DY.rows}x${DY.cols}, the output is ${n}x${dv} (q rows x v columns)`);
  }
  checkPlan(where, [['dq', n * d, 4], ['dk', m * d, 4], ['dv', m * dv, 4]]);
  return run(c, where, (heap, mod) => {
    const what = `${describe(Q, K, V, a)}, ${shapeOf('dy', DY)}`;
    const spec = featureSpec(heap, mod, f);
    const explained = explainFeature(heap, spec, f, d, what);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v');
    const pdy = heap.f32(DY.data, 'dy');
    const dq = heap.alloc(n * d * 4, 'dq'), dk = heap.alloc(m * d * 4, 'dk'), dvOut = heap.alloc(m * dv * 4, 'dv');
    const work = heap.workspace('linear_attention_backward_workspace', explained, spec, n, m, d, dv);
    heap.call('linear_attention_backward', explained, spec, n, m, d, dv, pq, pk, pv, causal ? 1 : 0, eps, pdy,
      dq, dk, dvOut, work.ptr, work.floats);
    return {
      dq: { rows: n, cols: d, data: heap.readF32(dq, n * d) },
      dk: { rows: m, cols: d, data: heap.readF32(dk, m * d) },
      dv: { rows: m, cols: dv, data: heap.readF32(dvOut, m * dv) },
    };
  });
}
