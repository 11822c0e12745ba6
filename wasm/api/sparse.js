// Sparse attention (src/sparse.c): softmax over the allowed keys of a dense
// or CSR mask only, in O(nnz d), and its gradients in O(nnz d).
import { checkBytes, checkPlan, derivedDefault, fail, run, shapeOf } from './core.js';
import { isCSR, optNumber, options, toCSR, toMask, toMatrix, toQKV } from './args.js';

/** The mask as CSR or dense, with its count of allowed cells. */
function sparseMask(where, mask, n, m) {
  if (mask === undefined || mask === null) fail('ERR_TYPE', where, 'mask is required (a dense mask or a CSR mask)');
  const csr = isCSR(mask) ? toCSR(where, mask, n, m) : null;
  const dense = csr ? null : toMask(where, 'mask', mask, n, m);
  let nnz = csr ? csr.indices.length : 0;
  if (dense) for (let i = 0; i < dense.data.length; i++) nnz += dense.data[i] !== 0;
  return { csr, dense, nnz };
}

/** The mask's indptr and indices in wasm memory (a dense mask converted by the core). */
function maskToHeap(heap, { csr, dense, nnz }, n, m) {
  if (csr) return { indptr: heap.i32(csr.indptr, 'mask.indptr'), indices: heap.i32(csr.indices, 'mask.indices') };
  const indptr = heap.alloc((n + 1) * 4, 'the mask indptr');
  const indices = heap.alloc(nnz * 4, 'the mask indices');
  heap.call('dense_to_csr', `mask [${n}x${m}]`, n, m, heap.u8(dense.data, 'mask'), nnz, indptr, indices);
  return { indptr, indices };
}

/** softmax attention over the allowed keys of a mask (dense or CSR). */
export function sparseAttention(c, q, k, v, mask, opts, where = 'sparseAttention') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  const { Q, K, V } = toQKV(where, q, k, v);
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  const scale = optNumber(where, 'scale', options(where, opts, ['scale']).scale, derivedDefault(c, where, 'scale', d));
  checkBytes(where, 'the output', n * dv, 4);
  const M = sparseMask(where, mask, n, m);
  checkPlan(where, [['q', n * d, 4], ['k', m * d, 4], ['v', m * dv, 4], ['the output', n * dv, 4],
    ['the mask indices', M.nnz, 4], ['the mask', M.dense ? n * m : 0, 1]]);
  return run(c, where, (heap) => {
    const what = `${shapeOf('q', Q)}, ${shapeOf('k', K)}, ${shapeOf('v', V)}, mask with ${M.nnz} allowed cells, scale ${scale}`;
    const { indptr, indices } = maskToHeap(heap, M, n, m);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v');
    const out = heap.alloc(n * dv * 4, 'the output');
    const work = heap.alloc(m * 4, 'the workspace');
    heap.call('sparse_attention', what, n, m, d, dv, pq, pk, pv, scale, indptr, indices, out, work, m);
    return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
  });
}

/**
 * The gradients of sparseAttention(q, k, v, mask, options) for an upstream
 * gradient dy = dL/dY [n, dv]: { dq, dk, dv }, in O(nnz (d + dv)).
 */
export function sparseAttentionBackward(c, q, k, v, mask, dy, opts, where = 'sparseAttentionBackward') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  if (dy === undefined) fail('ERR_TYPE', where, 'dy is required');
  const { Q, K, V } = toQKV(where, q, k, v);
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  const scale = optNumber(where, 'scale', options(where, opts, ['scale']).scale, derivedDefault(c, where, 'scale', d));
  const M = sparseMask(where, mask, n, m);
  const DY = toMatrix(where, 'dy', dy);
  if (DY.rows !== n || DY.cols !== dv) fail('ERR_SHAPE', where, `dy is [${DY.rows}x${DY.cols}], the output is [${n}x${dv}]`);
  checkPlan(where, [['q', n * d, 4], ['k', m * d, 4], ['v', m * dv, 4], ['dy', n * dv, 4], ['dq', n * d, 4],
    ['dk', m * d, 4], ['dv', m * dv, 4], ['the mask indices', M.nnz, 4], ['the mask', M.dense ? n * m : 0, 1],
    ['the workspace', 2 * m, 4]]);
  return run(c, where, (heap) => {
    const what = `${shapeOf('q', Q)}, ${shapeOf('k', K)}, ${shapeOf('v', V)}, mask with ${M.nnz} allowed cells, ` +
      `${shapeOf('dy', DY)}, scale ${scale}`;
    const { indptr, indices } = maskToHeap(heap, M, n, m);
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v'), pdy = heap.f32(DY.data, 'dy');
    const [gq, gk, gv] = [['dq', n * d], ['dk', m * d], ['dv', m * dv]].map(([name, count]) => heap.alloc(count * 4, name));
    const work = heap.alloc(2 * m * 4, 'the workspace');
    heap.call('sparse_attention_backward', what, n, m, d, dv, pq, pk, pv, scale, indptr, indices, pdy, gq, gk, gv, work, 2 * m);
    return {
      dq: { rows: n, cols: d, data: heap.readF32(gq, n * d) },
      dk: { rows: m, cols: d, data: heap.readF32(gk, m * d) },
      dv: { rows: m, cols: dv, data: heap.readF32(gv, m * dv) },
    };
  });
}
