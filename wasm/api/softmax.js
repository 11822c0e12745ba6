// Softmax attention (src/softmax.c): the n x m weights, and the outputs
// computed streaming so the weights are never stored.
import { checkBytes, derivedDefault, fail, run, shapeOf } from './core.js';
import { optBool, optNumber, options, toMask, toQKV } from './args.js';

export const SOFTMAX_KEYS = ['scale', 'causal', 'mask'];

/** Validates q, k (and v) and the options shared by weights and outputs. */
function softmaxArgs(c, where, q, k, v, opts) {
  const { Q, K, V } = toQKV(where, q, k, v);
  const o = options(where, opts, SOFTMAX_KEYS);
  const scale = optNumber(where, 'scale', o.scale, derivedDefault(c, where, 'scale', Q.cols));
  const causal = optBool(where, 'causal', o.causal, false);
  const mask = o.mask === undefined || o.mask === null ? null : toMask(where, 'mask', o.mask, Q.rows, K.rows);
  return { Q, K, V, scale, causal, mask };
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

/** softmaxWeights(q, k) * v, streaming: the n x m matrix is never stored. */
export function softmaxAttention(c, q, k, v, opts, where = 'softmaxAttention') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  const { Q, K, V, scale, causal, mask } = softmaxArgs(c, where, q, k, v, opts);
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  checkBytes(where, 'the output', n * dv, 4);
  return run(c, where, (heap) => {
    const what = describe(Q, K, V, scale, causal, mask);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v');
    const pmask = mask ? heap.u8(mask.data, 'mask') : 0;
    const out = heap.alloc(n * dv * 4, 'the output');
    const work = heap.workspace('softmax_attention_workspace', what, n, m, d, dv);
    heap.call('softmax_attention', what, n, m, d, dv, pq, pk, pv, scale, causal ? 1 : 0, pmask, out, work.ptr, work.floats);
    return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
  });
}
