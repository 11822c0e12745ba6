/*
 * sparse.c - softmax attention restricted to a sparse pattern, from its
 * compressed sparse rows: for query i only the listed keys are scored, so
 * the cost is O(nnz (d + dv)) instead of O(n m (d + dv)).
 *
 *   s_it = (scale q_i) . k_{indices[t]}      for t in indptr[i] .. indptr[i+1]-1
 *   y_i  = sum_t softmax(s_i)_t v_{indices[t]}   (a row without keys: 0)
 *
 * The logit is the one of softmax.c (the query scaled first; one that
 * overflowed or came near it recomputed in double), so the three softmax
 * paths agree, also on which inputs overflow (ATTN_ERR_OVERFLOW).
 */
#include "internal.h"

#include <math.h>

enum { QCHUNK = 256 };  /* scaled query elements per pass (a stack buffer) */

/* ATTN_OK if (indptr, indices) is a CSR pattern of n rows over m keys:
 * indptr[0] = 0, non-decreasing; every index in [0, m), strictly increasing
 * within a row (sorted, no duplicates). *widest: the largest row count. */
static attn_status check_csr(size_t n, size_t m,
                             const int32_t *indptr,   // [n + 1]
                             const int32_t *indices,  // [indptr[n]]
                             size_t *widest) {
    if (indptr[0] != 0) return ATTN_ERR_RANGE;
    *widest = 0;
    for (size_t i = 0; i < n; i++) {
        if (indptr[i + 1] < indptr[i]) return ATTN_ERR_RANGE;
        *widest = attn__maxsz(*widest, (size_t)(indptr[i + 1] - indptr[i]));
    }
    if (indptr[n] > 0 && !indices) return ATTN_ERR_NULL;
    for (size_t i = 0; i < n; i++)
        for (int32_t t = indptr[i]; t < indptr[i + 1]; t++) {
            if (indices[t] < 0 || (size_t)indices[t] >= m) return ATTN_ERR_RANGE;
            if (t > indptr[i] && indices[t] <= indices[t - 1]) return ATTN_ERR_RANGE;
        }
    return ATTN_OK;
}

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
    size_t widest;
    if ((st = check_csr(n, m, indptr, indices, &widest)) != ATTN_OK) return st;
    if (!work || work_floats < widest) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(q, n * d) || !attn__all_finite(k, m * d) || !attn__all_finite(v, m * dv))
        return ATTN_ERR_NONFINITE;

    const attn__kernels *kern = attn__kernels_get();
    float qs[QCHUNK];  // [QCHUNK] a piece of scale * q_i
    for (size_t i = 0; i < n; i++) {
        const int32_t *keys = indices + indptr[i];
        size_t count = (size_t)(indptr[i + 1] - indptr[i]);
        float *y = out + i * dv;
        memset(y, 0, dv * sizeof *y);
        if (count == 0) continue;
        float *s = work;  // [count]
        memset(s, 0, count * sizeof *s);
        for (size_t l0 = 0; l0 < d; l0 += QCHUNK) {
            size_t len = attn__min(QCHUNK, d - l0);
            for (size_t l = 0; l < len; l++) qs[l] = scale * q[i * d + l0 + l];
            for (size_t t = 0; t < count; t++) s[t] += kern->dot(qs, k + (size_t)keys[t] * d + l0, len);
        }
        for (size_t t = 0; t < count; t++)  /* a logit that overflowed or is near it: as softmax.c */
            if (attn__logit_suspect(s[t], d) &&
                (st = attn__logit_exact(d, scale, q + i * d, k + (size_t)keys[t] * d, &s[t])) != ATTN_OK)
                return st;
        float sum = kern->exp_shift_sum(s, count, kern->max(s, count));  /* >= 1 */
        for (size_t t = 0; t < count; t++) kern->axpy(dv, s[t], v + (size_t)keys[t] * dv, y);
        kern->scale(y, dv, 1.0f / sum);
        if (!attn__all_finite(y, dv)) {  /* sum p v overflowed: as softmax.c, once more scaled by 2^-e */
            int e = 2;
            for (size_t c = count; c > 0; c >>= 1) e++;
            memset(y, 0, dv * sizeof *y);
            for (size_t t = 0; t < count; t++) kern->axpy(dv, ldexpf(s[t], -e), v + (size_t)keys[t] * dv, y);
            kern->scale(y, dv, ldexpf(1.0f, e) / sum);
        }
    }
    return attn__all_finite(out, n * dv) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

/*
 * The gradients of sparse attention, row by row in O(nnz (d + dv)) (the
 * formulas of softmax_backward.c restricted to the listed keys): for query i
 * with keys j_t, the row's weights p_t are recomputed, then
 *
 *   dp_t = dY_i . v_{j_t}          D = sum_t p_t dp_t  (= dY_i . y_i)
 *   ds_t = p_t (dp_t - D)
 *   dq_i = scale sum_t ds_t k_{j_t}
 *   dk_{j_t} += scale ds_t q_i      dv_{j_t} += p_t dY_i
 *
 * work: the row's weights and dp, 2 x the largest row count.
 */
attn_status attn_sparse_attention_backward(size_t n, size_t m, size_t d, size_t dv,
                                           const float *q,          // [n, d]
                                           const float *k,          // [m, d]
                                           const float *v,          // [m, dv]
                                           float scale,
                                           const int32_t *indptr,   // [n + 1]
                                           const int32_t *indices,  // [indptr[n]]
                                           const float *dout,       // [n, dv]
                                           float *dq,               // [n, d] output
                                           float *dk,               // [m, d] output
                                           float *dv_out,           // [m, dv] output
                                           float *work, size_t work_floats) {  // [work_floats]
    if (!q || !k || !v || !indptr || !dout || !dq || !dk || !dv_out) return ATTN_ERR_NULL;
    if (n == 0 || m == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    attn_status st;
    if ((st = attn__matrix_fits(n, d)) || (st = attn__matrix_fits(m, d)) || (st = attn__matrix_fits(m, dv)) ||
        (st = attn__matrix_fits(n, dv)))
        return st;
    if (!isfinite(scale)) return ATTN_ERR_RANGE;
    size_t widest, need;
    if ((st = check_csr(n, m, indptr, indices, &widest)) != ATTN_OK) return st;
    if (!attn__mul(widest, 2, &need)) return ATTN_ERR_MEMORY;
    if (!work || work_floats < need) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(q, n * d) || !attn__all_finite(k, m * d) || !attn__all_finite(v, m * dv) ||
        !attn__all_finite(dout, n * dv))
        return ATTN_ERR_NONFINITE;

    const attn__kernels *kern = attn__kernels_get();
    memset(dk, 0, m * d * sizeof *dk);
    memset(dv_out, 0, m * dv * sizeof *dv_out);
    float qs[QCHUNK];  // [QCHUNK] a piece of scale * q_i
    for (size_t i = 0; i < n; i++) {
        const int32_t *keys = indices + indptr[i];
        size_t count = (size_t)(indptr[i + 1] - indptr[i]);
        const float *qi = q + i * d, *gi = dout + i * dv;
        float *dqi = dq + i * d;
        memset(dqi, 0, d * sizeof *dqi);
        if (count == 0) continue;
        float *p = work, *ds = work + count;  // [count], [count]
        memset(p, 0, count * sizeof *p);
        for (size_t l0 = 0; l0 < d; l0 += QCHUNK) {  /* the forward's logits, bit for bit */
            size_t len = attn__min(QCHUNK, d - l0);
            for (size_t l = 0; l < len; l++) qs[l] = scale * qi[l0 + l];
            for (size_t t = 0; t < count; t++) p[t] += kern->dot(qs, k + (size_t)keys[t] * d + l0, len);
        }
        if (!attn__all_finite(p, count)) return ATTN_ERR_OVERFLOW;  /* an overflowed logit */
        float sum = kern->exp_shift_sum(p, count, kern->max(p, count));  /* >= 1 */
        kern->scale(p, count, 1.0f / sum);
        double dsum = 0.0;  /* D */
        for (size_t t = 0; t < count; t++) {
            ds[t] = kern->dot(gi, v + (size_t)keys[t] * dv, dv);
            dsum += (double)p[t] * ds[t];
        }
        float dd = (float)dsum;
        for (size_t t = 0; t < count; t++) {
            size_t j = (size_t)keys[t];
            float g = p[t] * (ds[t] - dd);
            kern->axpy(d, g, k + j * d, dqi);
            kern->axpy(d, scale * g, qi, dk + j * d);
            kern->axpy(dv, p[t], gi, dv_out + j * dv);
        }
        kern->scale(dqi, d, scale);
    }
    return attn__all_finite(dq, n * d) && attn__all_finite(dk, m * d) && attn__all_finite(dv_out, m * dv)
               ? ATTN_OK
               : ATTN_ERR_OVERFLOW;
}
