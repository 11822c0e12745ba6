/*
 * sparse.c - softmax attention restricted to a sparse pattern, from its
 * compressed sparse rows: for query i only the listed keys are scored, so
 * the cost is O(nnz (d + dv)) instead of O(n m (d + dv)).
 */
#include "internal.h"

#include <math.h>

attn_status attn_sparse_attention(size_t n, size_t m, size_t d, size_t dv,
                                  const float *q,          // [n, d]
                                  const float *k,          // [m, d]
                                  const float *v,          // [m, dv]
                                  float scale,
                                  const int32_t *indptr,   // [n + 1]
                                  const int32_t *indices,  // [indptr[n]]
                                  float *out,              // [n, dv] output
                                  float *work, size_t work_floats) {  // [work_floats]
    if (!q || !k || !v || !indptr || !out) return ATTN_ERR_NULL;
    if (n == 0 || m == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    attn_status st;
    if ((st = attn__matrix_fits(n, d)) || (st = attn__matrix_fits(m, d)) || (st = attn__matrix_fits(m, dv)) ||
        (st = attn__matrix_fits(n, dv)))
        return st;
    if (!isfinite(scale)) return ATTN_ERR_RANGE;
    /* The pattern: rows non-decreasing from 0, keys in range. */
    if (indptr[0] != 0) return ATTN_ERR_RANGE;
    size_t widest = 0;
    for (size_t i = 0; i < n; i++) {
        if (indptr[i + 1] < indptr[i]) return ATTN_ERR_RANGE;
        widest = attn__maxsz(widest, (size_t)(indptr[i + 1] - indptr[i]));
    }
    if (indptr[n] > 0 && !indices) return ATTN_ERR_NULL;
    for (int32_t t = 0; t < indptr[n]; t++)
        if (indices[t] < 0 || (size_t)indices[t] >= m) return ATTN_ERR_RANGE;
    if (!work || work_floats < widest) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(q, n * d) || !attn__all_finite(k, m * d) || !attn__all_finite(v, m * dv))
        return ATTN_ERR_NONFINITE;

    const attn__kernels *kern = attn__kernels_get();
    for (size_t i = 0; i < n; i++) {
        const int32_t *keys = indices + indptr[i];
        size_t count = (size_t)(indptr[i + 1] - indptr[i]);
        float *y = out + i * dv;
        memset(y, 0, dv * sizeof *y);
        if (count == 0) continue;
        float *s = work;  // [count]
        for (size_t t = 0; t < count; t++) s[t] = scale * kern->dot(q + i * d, k + (size_t)keys[t] * d, d);
        float sum = kern->exp_shift_sum(s, count, kern->max(s, count));
        for (size_t t = 0; t < count; t++) kern->axpy(dv, s[t], v + (size_t)keys[t] * dv, y);
        kern->scale(y, dv, 1.0f / sum);
    }
    return ATTN_OK;
}
