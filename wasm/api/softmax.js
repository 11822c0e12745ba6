// Softmax attention (src/softmax.c): the n x m weights, and the outputs
// computed streaming so the weights are never stored; their gradients
// (src/softmax_backward.c), streaming too.
import { checkBytes, checkPlan, derivedDefault, fail, run, shapeOf } from './core.js';
import { optBool, optNumber, options, toMask, toMatrix, toQKV } from './args.js';

export const SOFTMAX_KEYS = ['scale', 'causal', 'mask'];

/** Validates q, k (and v) and the options shared by weights and outputs. */
function softmaxArgs(c, where, q, k, v, opts, keys = SOFTMAX_KEYS) {
  const { Q, K, V } = toQKV(where, q, k, v);
  const o = options(where, opts, keys);
  const scale = optNumber(where, 'scale', o.scale, derivedDefault(c, where, 'scale', Q.cols));
  const causal = optBool(where, 'causal', o.causal, false);
  const mask = o.mask === undefined || o.mask === null ? null : toMask(where, 'mask', o.mask, Q.rows, K.rows);
  return { Q, K, V, scale, causal, mask, o };
}

const describe = (Q, K, V, scale, causal, mask) => [shapeOf('q', Q), shapeOf('k', K), ...(V ? [shapeOf('v', V)] : []),
  `scale ${scale}`, ...(causal ? ['causal'] : []), ...(mask ? ['mask'] : [])].join(', ');

/** The n x m softmax attention weights; rows sum to 1 (0 where nothing is allowed). */
export function softmaxWeights(c, q, k, opts, where = 'softmaxWeights') {
  const { Q, K, scale, causal, mask } = softmaxArgs(c, where, q, k, undefined, opts);
  const [n, m, d] = [Q.rows, K.rows, Q.cols];
  checkBytes(where, 'the weights', n * m, 4);
  return run(c, where, (heap) => {
    const what = describe(Q, K, null, scale, causal, mask);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k');
    const pmask = mask ? heap.u8(mask.data, 'mask') : 0;
    const out = heap.alloc(n * m * 4, 'the weights');
    const work = heap.workspace('softmax_weights_workspace', what, n, m, d);
    heap.call('softmax_weights', what, n, m, d, pq, pk, scale, causal ? 1 : 0, pmask, out, work.ptr, work.floats);
    return { rows: n, cols: m, data: heap.readF32(out, n * m) };
  });
}

/**
 * softmaxWeights(q, k) * v, streaming: the n x m matrix is never stored.
 * { lse: true } also returns the row log-sum-exp of the logits as `lse`
 * (Float32Array [n]; 0 for a row with no allowed key), which
 * softmaxAttentionBackward can take instead of recomputing it.
 */
export function softmaxAttention(c, q, k, v, opts, where = 'softmaxAttention') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  const { Q, K, V, scale, causal, mask, o } = softmaxArgs(c, where, q, k, v, opts, [...SOFTMAX_KEYS, 'lse']);
  const wantLse = optBool(where, 'lse', o.lse, false);
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  checkBytes(where, 'the output', n * dv, 4);
  return run(c, where, (heap) => {
    const what = describe(Q, K, V, scale, causal, mask);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v');
    const pmask = mask ? heap.u8(mask.data, 'mask') : 0;
    const out = heap.alloc(n * dv * 4, 'the output');
    const work = heap.workspace('softmax_attention_workspace', what, n, m, d, dv);
    if (!wantLse) {
      heap.call('softmax_attention', what, n, m, d, dv, pq, pk, pv, scale, causal ? 1 : 0, pmask, out, work.ptr, work.floats);
      return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
    }
    const lse = heap.alloc(n * 4, 'the lse');
    heap.call('softmax_attention_lse', what, n, m, d, dv, pq, pk, pv, scale, causal ? 1 : 0, pmask, out, lse, work.ptr, work.floats);
    return { rows: n, cols: dv, data: heap.readF32(out, n * dv), lse: heap.readF32(lse, n) };
  });
}

/** The forward's row log-sum-exp, as given to softmaxAttentionBackward: n finite numbers. */
function toLse(where, x, n) {
  const ok = x instanceof Float32Array || x instanceof Float64Array || Array.isArray(x);
  if (!ok) fail('ERR_TYPE', where, `lse must be a Float32Array, Float64Array or array of numbers, got ${x === null ? 'null' : typeof x}`);
  if (x.length !== n) fail('ERR_SHAPE', where, `lse has ${x.length} entries, q has ${n} rows`);
  const out = Float32Array.from(x, (y) => (typeof y === 'number' ? y : NaN));
  const bad = out.findIndex((y) => !Number.isFinite(y));
  if (bad >= 0) fail(typeof x[bad] === 'number' ? 'ERR_NONFINITE' : 'ERR_TYPE', where, `lse has ${x[bad]} at ${bad}`);
  return out;
}

/**
 * The gradients of softmaxAttention(q, k, v, options) for an upstream
 * gradient dy = dL/dY [n, dv]: { dq, dk, dv }, streaming (FlashAttention-2's
 * backward: scores recomputed tile by tile from the row log-sum-exp), O(n)
 * memory. Options: scale, causal, mask as the forward; out and lse, the
 * forward's output and its lse (softmaxAttention(..., { lse: true })), or
 * neither: then both are recomputed.
 */
export function softmaxAttentionBackward(c, q, k, v, dy, opts, where = 'softmaxAttentionBackward') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  if (dy === undefined) fail('ERR_TYPE', where, 'dy is required');
  const { Q, K, V, scale, causal, mask, o } = softmaxArgs(c, where, q, k, v, opts, [...SOFTMAX_KEYS, 'out', 'lse']);
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  const DY = toMatrix(where, 'dy', dy);
  if (DY.rows !== n || DY.cols !== dv) fail('ERR_SHAPE', where, `dy is [${DY.rows}x${DY.cols}], the output is [${n}x${dv}]`);
  const given = (x) => x !== undefined && x !== null;
  if (given(o.out) !== given(o.lse)) fail('ERR_OPTION', where, 'out and lse go together: give both (from softmaxAttention(..., { lse: true })) or neither');
  let OUT = null, lse = null;
  if (given(o.lse)) {
    OUT = toMatrix(where, 'out', o.out);
    if (OUT.rows !== n || OUT.cols !== dv) fail('ERR_SHAPE', where, `out is [${OUT.rows}x${OUT.cols}], the output is [${n}x${dv}]`);
    lse = toLse(where, o.lse, n);
  }
  checkPlan(where, [['q', n * d, 4], ['k', m * d, 4], ['v', m * dv, 4], ['dy', n * dv, 4], ['out', OUT ? n * dv : 0, 4],
    ['dq', n * d, 4], ['dk', m * d, 4], ['dv', m * dv, 4], ['the mask', mask ? n * m : 0, 1]]);
  return run(c, where, (heap) => {
    const what = `${describe(Q, K, V, scale, causal, mask)}, ${shapeOf('dy', DY)}${lse ? ', out and lse given' : ''}`;
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v'), pdy = heap.f32(DY.data, 'dy');
    const pmask = mask ? heap.u8(mask.data, 'mask') : 0;
    const pout = OUT ? heap.f32(OUT.data, 'out') : 0, plse = lse ? heap.f32(lse, 'lse') : 0;
    const [gq, gk, gv] = [['dq', n * d], ['dk', m * d], ['dv', m * dv]].map(([name, count]) => heap.alloc(count * 4, name));
    const work = heap.workspace('softmax_attention_backward_workspace', what, n, m, d, dv);
    heap.call('softmax_attention_backward', what, n, m, d, dv, pq, pk, pv, scale, causal ? 1 : 0, pmask, pout, plse, pdy,
      gq, gk, gv, work.ptr, work.floats);
    return {
      dq: { rows: n, cols: d, data: heap.readF32(gq, n * d) },
      dk: { rows: m, cols: d, data: heap.readF32(gk, m * d) },
      dv: { rows: m, cols: dv, data: heap.readF32(gv, m * dv) },
    };
  });
}
