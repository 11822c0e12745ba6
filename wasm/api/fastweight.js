// Fast weight memory (src/fastweight.c): causal linear attention as a memory
// W_t written one outer product per step (sum, delta, gated delta rules),
// and the capacity experiment.
import { DEFAULTS, checkPlan, fail, run, seedWords, shapeOf } from './core.js';
import { PROGRESS_KEYS, optBool, optInt, optIntList, optKind, optNumber, optProgress, options, toMatrix } from './args.js';
import { FEATURE_KEYS, describeFeature, explainFeature, featureOptions, featureSpec } from './linear.js';

import { RULES } from '../build/names.js';

/** Fast weight update rules, in the core's numbering (read from the core at build time). */
export { RULES };

const FAST_KEYS = ['keys', 'values', 'queries', 'rule', 'beta', 'alpha', 'record', 'errors', ...FEATURE_KEYS];
const CAPACITY_KEYS = ['dKey', 'sizes', 'rule', 'beta', 'trials', 'seed', ...FEATURE_KEYS, ...PROGRESS_KEYS];

/** beta or alpha: a number in [0, 1] or one per step (length T); { array, scalar } for the core. */
function unitOption(where, name, value, fallback, T) {
  if (value === undefined) return { array: null, scalar: fallback };
  if (typeof value === 'number') return { array: null, scalar: optNumber(where, name, value, fallback, { min: 0, max: 1 }) };
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) {
    fail('ERR_TYPE', where, `${name} must be a number or an array of ${T} numbers`);
  }
  if (value.length !== T) fail('ERR_SHAPE', where, `${name} has ${value.length} entries, there are ${T} steps`);
  const array = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const x = value[t];
    if (typeof x !== 'number') fail('ERR_TYPE', where, `${name}[${t}] is ${x === null ? 'null' : typeof x}, not a number`);
    if (!(x >= 0 && x <= 1)) fail('ERR_RANGE', where, `${name}[${t}] = ${x} is outside [0, 1]`);
    array[t] = x;
  }
  return { array, scalar: 0 };
}

/**
 * A fast weight memory written with keys and values step by step and read
 * with queries (default: the keys). Returns { outputs (T x dv), final
 * (dv x dim), dim, states? (Float32Array T*dv*dim, record: 'all'),
 * errors? (T x T, errors: true: 1/2 |v_s - W_t phi(k_s)|^2 for s <= t) }.
 */
export function fastWeights(c, opts, where = 'fastWeights') {
  const o = options(where, opts, FAST_KEYS);
  if (o.keys === undefined || o.values === undefined) fail('ERR_TYPE', where, 'keys and values are required');
  const K = toMatrix(where, 'keys', o.keys);
  const V = toMatrix(where, 'values', o.values);
  if (V.rows !== K.rows) fail('ERR_SHAPE', where, `values has ${V.rows} rows, keys has ${K.rows}`);
  let Q = null;
  if (o.queries !== undefined && o.queries !== null) {
    Q = toMatrix(where, 'queries', o.queries);
    if (Q.rows !== K.rows || Q.cols !== K.cols) fail('ERR_SHAPE', where, `queries is ${Q.rows}x${Q.cols}, keys is ${K.rows}x${K.cols}`);
  }
  const [T, d, dv] = [K.rows, K.cols, V.cols];
  const rule = RULES.indexOf(optKind(where, 'rule', o.rule, RULES[DEFAULTS['fastWeights.rule']], RULES));
  const beta = unitOption(where, 'beta', o.beta, DEFAULTS['fastWeights.beta'], T);
  const alpha = unitOption(where, 'alpha', o.alpha, DEFAULTS['fastWeights.alpha'], T);
  const record = optKind(where, 'record', o.record, 'none', ['none', 'all']);
  const errors = optBool(where, 'errors', o.errors, false);
  const f = featureOptions(c, where, o, d, 'fastWeights');
  return run(c, where, (heap, mod) => {
    const what = `${shapeOf('keys', K)}, ${shapeOf('values', V)}, rule '${RULES[rule]}', ${describeFeature(f)}`;
    const spec = featureSpec(heap, mod, f);
    const explained = explainFeature(heap, spec, f, d, what);
    const dim = heap.size('feature_dim', explained, spec, d);
    const floats = heap.size('fast_weights_workspace', explained, spec, T, d, dv);
    // Every size checked before the first large allocation.
    checkPlan(where, [['keys', T * d, 4], ['values', T * dv, 4], ['queries', Q ? T * d : 0, 4],
      ['the outputs', T * dv, 4], ['the final state (values.cols x feature dim)', dv * dim, 4],
      ['the recorded states', record === 'all' ? T * dv * dim : 0, 4], ['the errors', errors ? T * T : 0, 4],
      ['the workspace', floats, 4]]);
    const pk = heap.f32(K.data, 'keys'), pv = heap.f32(V.data, 'values'), pq = Q ? heap.f32(Q.data, 'queries') : 0;
    const pb = beta.array ? heap.f32(beta.array, 'beta') : 0, pa = alpha.array ? heap.f32(alpha.array, 'alpha') : 0;
    const out = heap.alloc(T * dv * 4, 'the outputs'), fin = heap.alloc(dv * dim * 4, 'the final state');
    const states = record === 'all' ? heap.alloc(T * dv * dim * 4, 'the recorded states') : 0;
    const errs = errors ? heap.alloc(T * T * 4, 'the errors') : 0;
    const work = heap.alloc(floats * 4, 'the workspace');
    heap.call('fast_weights', explained, spec, rule, T, d, dv, pk, pv, pq, pb, beta.scalar, pa, alpha.scalar,
      out, fin, states, errs, work, floats);
    const result = {
      outputs: { rows: T, cols: dv, data: heap.readF32(out, T * dv) },
      final: { rows: dv, cols: dim, data: heap.readF32(fin, dv * dim) },
      dim,
    };
    if (states) result.states = heap.readF32(states, T * dv * dim);
    if (errs) result.errors = { rows: T, cols: T, data: heap.readF32(errs, T * T) };
    return result;
  });
}

/**
 * The backward of fastWeights: given dOutputs = dL/d outputs (T x dv) for the
 * memory written and read with the same options, { dkeys, dvalues, dqueries
 * (null when the queries are the keys: their gradient is in dkeys), dbeta,
 * dalpha } (each a number for a scalar beta or alpha: the sum over the steps;
 * a Float32Array of T for per-step ones). The states are recomputed from
 * checkpoints every ceil(sqrt(T)) steps, never stored all.
 */
export function fastWeightsBackward(c, opts, dOutputs, where = 'fastWeightsBackward') {
  const o = options(where, opts, FAST_KEYS.filter((key) => key !== 'record' && key !== 'errors'));
  if (o.keys === undefined || o.values === undefined) fail('ERR_TYPE', where, 'keys and values are required');
  if (dOutputs === undefined) fail('ERR_TYPE', where, 'dOutputs is required');
  const K = toMatrix(where, 'keys', o.keys);
  const V = toMatrix(where, 'values', o.values);
  if (V.rows !== K.rows) fail('ERR_SHAPE', where, `values has ${V.rows} rows, keys has ${K.rows}`);
  let Q = null;
  if (o.queries !== undefined && o.queries !== null) {
    Q = toMatrix(where, 'queries', o.queries);
    if (Q.rows !== K.rows || Q.cols !== K.cols) fail('ERR_SHAPE', where, `queries is ${Q.rows}x${Q.cols}, keys is ${K.rows}x${K.cols}`);
  }
  const [T, d, dv] = [K.rows, K.cols, V.cols];
  const G = toMatrix(where, 'dOutputs', dOutputs);
  if (G.rows !== T || G.cols !== dv) fail('ERR_SHAPE', where, `dOutputs is ${G.rows}x${G.cols}, the outputs are ${T}x${dv}`);
  const rule = RULES.indexOf(optKind(where, 'rule', o.rule, RULES[DEFAULTS['fastWeights.rule']], RULES));
  const beta = unitOption(where, 'beta', o.beta, DEFAULTS['fastWeights.beta'], T);
  const alpha = unitOption(where, 'alpha', o.alpha, DEFAULTS['fastWeights.alpha'], T);
  const f = featureOptions(c, where, o, d, 'fastWeights');
  return run(c, where, (heap, mod) => {
    const what = `${shapeOf('keys', K)}, ${shapeOf('values', V)}, rule '${RULES[rule]}', ${describeFeature(f)}`;
    const spec = featureSpec(heap, mod, f);
    const explained = explainFeature(heap, spec, f, d, what);
    const floats = heap.size('fast_weights_backward_workspace', explained, spec, T, d, dv);
    checkPlan(where, [['keys', T * d, 4], ['values', T * dv, 4], ['queries', Q ? T * d : 0, 4], ['dOutputs', T * dv, 4],
      ['dkeys', T * d, 4], ['dvalues', T * dv, 4], ['dqueries', Q ? T * d : 0, 4], ['dbeta, dalpha', 2 * T, 4],
      ['the workspace', floats, 4]]);
    const pk = heap.f32(K.data, 'keys'), pv = heap.f32(V.data, 'values'), pq = Q ? heap.f32(Q.data, 'queries') : 0;
    const pb = beta.array ? heap.f32(beta.array, 'beta') : 0, pa = alpha.array ? heap.f32(alpha.array, 'alpha') : 0;
    const pg = heap.f32(G.data, 'dOutputs');
    const dk = heap.alloc(T * d * 4, 'dkeys'), dvals = heap.alloc(T * dv * 4, 'dvalues');
    const dq = Q ? heap.alloc(T * d * 4, 'dqueries') : 0;
    const db = heap.alloc(T * 4, 'dbeta'), da = heap.alloc(T * 4, 'dalpha');
    const work = heap.alloc(floats * 4, 'the workspace');
    heap.call('fast_weights_backward', explained, spec, rule, T, d, dv, pk, pv, pq, pb, beta.scalar, pa, alpha.scalar,
      pg, dk, dvals, dq, db, da, work, floats);
    // a scalar's gradient is the sum of the per-step ones (in double)
    const perStep = (p, option) => {
      const g = heap.readF32(p, T);
      return option.array ? g : g.reduce((sum, x) => sum + x, 0);
    };
    return {
      dkeys: { rows: T, cols: d, data: heap.readF32(dk, T * d) },
      dvalues: { rows: T, cols: dv, data: heap.readF32(dvals, T * dv) },
      dqueries: Q ? { rows: T, cols: d, data: heap.readF32(dq, T * d) } : null,
      dbeta: perStep(db, beta),
      dalpha: perStep(da, alpha),
    };
  });
}

/**
 * The capacity experiment: for each size S, store S random (key, one-hot
 * value) pairs, read every key back, and report the mean 1/2 |v - y|^2
 * averaged over trials (0.5 = total failure). Returns [{ size, error }].
 * Features default to L2 normalisation here: with random keys there is no
 * learned readout to undo the 1/|phi|_1^2 scale that sum normalisation
 * puts on every retrieval, while with L2 a single write stores its pair
 * exactly, so the curve shows interference alone.
 */
export function capacity(c, opts, where = 'capacity') {
  const o = options(where, opts, CAPACITY_KEYS);
  const dKey = optInt(where, 'dKey', o.dKey, DEFAULTS['capacity.dKey'], 1, 1 << 16);
  const sizes = optIntList(where, 'sizes', o.sizes,
    Array.from({ length: DEFAULTS['capacity.sizeCount'] }, (_, i) => DEFAULTS['capacity.sizeStep'] * (i + 1)), 1, 1 << 14);
  const rule = RULES.indexOf(optKind(where, 'rule', o.rule, RULES[DEFAULTS['capacity.rule']], RULES));
  const beta = optNumber(where, 'beta', o.beta, DEFAULTS['capacity.beta'], { min: 0, max: 1 });
  const trials = optInt(where, 'trials', o.trials, DEFAULTS['capacity.trials'], 1, 10000);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  const f = featureOptions(c, where, o, dKey, 'capacity');
  const progress = optProgress(where, o, sizes.length);
  return run(c, where, (heap, mod) => {
    const spec = featureSpec(heap, mod, f);
    const error = heap.alloc(8, 'the error');
    // One run per size, so each size's workspace is freed before the next.
    return sizes.map((size) => run(c, where, (inner) => {
      progress.check();
      const what = `dKey ${dKey}, size ${size}, rule '${RULES[rule]}', ${describeFeature(f)}`;
      const explained = explainFeature(inner, spec, f, dKey, what);
      const work = inner.workspace('capacity_workspace', explained, spec, dKey, size);
      inner.call('capacity', explained, spec, rule, dKey, size, beta, trials, ...seedWords(seed), error, work.ptr, work.floats);
      const point = { size, error: inner.readF64(error, 1)[0] };
      progress.step(point);
      return point;
    }));
  });
}
