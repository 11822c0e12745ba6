// Sparse attention (src/sparse.c): softmax over the allowed keys of a dense
// or CSR mask only, in O(nnz d).
import { checkBytes, checkPlan, derivedDefault, fail, run, shapeOf } from './core.js';
import { isCSR, optNumber, options, toCSR, toMask, toQKV } from './args.js';

/** softmax attention over the allowed keys of a mask (dense or CSR). */
export function sparseAttention(c, q, k, v, mask, opts, where = 'sparseAttention') {
  if (v === undefined) fail('ERR_TYPE', where, 'v is required');
  const { Q, K, V } = toQKV(where, q, k, v);
  const [n, m, d, dv] = [Q.rows, K.rows, Q.cols, V.cols];
  const scale = optNumber(where, 'scale', options(where, opts, ['scale']).scale, derivedDefault(c, where, 'scale', d));
  checkBytes(where, 'the output', n * dv, 4);
  if (mask === undefined || mask === null) fail('ERR_TYPE', where, 'mask is required (a dense mask or a CSR mask)');
  const csr = isCSR(mask) ? toCSR(where, mask, n, m) : null;
  const dense = csr ? null : toMask(where, 'mask', mask, n, m);
  let nnz = csr ? csr.indices.length : 0;
  if (dense) for (let i = 0; i < dense.data.length; i++) nnz += dense.data[i] !== 0;
  checkPlan(where, [['q', n * d, 4], ['k', m * d, 4], ['v', m * dv, 4], ['the output', n * dv, 4],
    ['the mask indices', nnz, 4], ['the mask', dense ? n * m : 0, 1]]);
  return run(c, where, (heap) => {
    const what = `${shapeOf('q', Q)}, ${shapeOf('k', K)}, ${shapeOf('v', V)}, mask with ${nnz} allowed cells, scale ${scale}`;
    let indptr, indices;
    if (csr) {
      indptr = heap.i32(csr.indptr, 'mask.indptr');
      indices = heap.i32(csr.indices, 'mask.indices');
    } else {
      indptr = heap.alloc((n + 1) * 4, 'the mask indptr');
      indices = heap.alloc(nnz * 4, 'the mask indices');
      heap.call('dense_to_csr', `mask [${n}x${m}]`, n, m, heap.u8(dense.data, 'mask'), nnz, indptr, indices);
    }
    const pq = heap.f32(Q.data, 'q'), pk = heap.f32(K.data, 'k'), pv = heap.f32(V.data, 'v');
    const out = heap.alloc(n * dv * 4, 'the output');
    const work = heap.alloc(m * 4, 'the workspace');
    heap.call('sparse_attention', what, n, m, d, dv, pq, pk, pv, scale, indptr, indices, out, work, m);
    return { rows: n, cols: dv, data: heap.readF32(out, n * dv) };
  });
}
