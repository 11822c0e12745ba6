/*
 * gallery.c - the pieces from which the JS API builds the attention variants
 * that shrink or replace the keys instead of sparsifying or linearising:
 * Linformer (keys projected to k rows), memory-compressed attention (keys
 * pooled by slots), Synthesizer (logits not from token pairs), Sinkhorn
 * attention (blocks sorted by a doubly stochastic matrix), Funnel pooling.
 *
 *   matmul       C = (alpha A) B            matmul_nt  C = (alpha A) B^T
 *   pool_rows    out_s = sum_t kernel_t x_{s c + t}
 *   softmax_rows P_ij = exp(L_ij - max_j L_i) / sum over allowed j
 *   sinkhorn     L = L / tau; repeat: L -= lse_rows(L), L -= lse_cols(L); S = exp L
 *
 * Results beyond float32 give ATTN_ERR_OVERFLOW.
 */
#include "internal.h"

#include <math.h>

attn_status attn_matmul(size_t n, size_t k, size_t m, float alpha,
                        const float *a,  // [n, k]
                        const float *b,  // [k, m]
                        float *c) {      // [n, m]
    if (!a || !b || !c) return ATTN_ERR_NULL;
    if (n == 0 || k == 0 || m == 0) return ATTN_ERR_SHAPE;
    attn_status st;
    if ((st = attn__matrix_fits(n, k)) || (st = attn__matrix_fits(k, m)) || (st = attn__matrix_fits(n, m))) return st;
    if (!isfinite(alpha)) return ATTN_ERR_RANGE;
    if (!attn__all_finite(a, n * k) || !attn__all_finite(b, k * m)) return ATTN_ERR_NONFINITE;
    attn__kernels_get()->gemm(n, m, k, alpha, a, k, b, m, c, m, 0);
    return attn__all_finite(c, n * m) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

attn_status attn_matmul_nt(size_t n, size_t m, size_t k, float alpha,
                           const float *a,  // [n, k]
                           const float *b,  // [m, k]
                           float *c,        // [n, m]
                           float *work, size_t work_floats) {
    /* The score computation of softmax weights, without the softmax. */
    attn_status st = attn__scores(n, m, k, a, b, alpha, c, work, work_floats);
    if (st == ATTN_OK && !attn__all_finite(c, n * m)) st = ATTN_ERR_OVERFLOW;
    return st;
}

attn_status attn_pool_rows(size_t n, size_t d, size_t c,
                           const float *x,       // [n, d]
                           const float *kernel,  // [c]
                           float *out) {         // [ceil(n / c), d]
    if (!x || !kernel || !out) return ATTN_ERR_NULL;
    if (n == 0 || d == 0) return ATTN_ERR_SHAPE;
    if (c == 0) return ATTN_ERR_RANGE;
    attn_status st = attn__matrix_fits(n, d);
    if (st != ATTN_OK) return st;
    if (!attn__all_finite(x, n * d) || !attn__all_finite(kernel, attn__min(c, n))) return ATTN_ERR_NONFINITE;
    const attn__kernels *kern = attn__kernels_get();
    size_t slots = n / c + (n % c != 0);
    for (size_t s = 0; s < slots; s++) {
        float *o = out + s * d;
        memset(o, 0, d * sizeof *o);
        for (size_t t = 0; t < c && s * c + t < n; t++) kern->axpy(d, kernel[t], x + (s * c + t) * d, o);
    }
    return attn__all_finite(out, slots * d) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

attn_status attn_softmax_rows(size_t n, size_t m,
                              float *logits,         // [n, m]
                              int causal,
                              const uint8_t *mask) {  // [n, m] or NULL
    if (!logits) return ATTN_ERR_NULL;
    if (n == 0 || m == 0) return ATTN_ERR_SHAPE;
    attn_status st = attn__matrix_fits(n, m);
    if (st != ATTN_OK) return st;
    if (!attn__all_finite(logits, n * m)) return ATTN_ERR_NONFINITE;
    /* Finite logits: the weights are in [0, 1], nothing to check. */
    for (size_t i = 0; i < n; i++) attn__softmax_row(logits + i * m, m, i, causal, mask ? mask + i * m : NULL, 0);
    return ATTN_OK;
}

/* log(sum(exp(x[t * stride]))) over count entries, stably, as *mx + the
 * return value (kept apart: near FLT_MAX, mx + log(s) would lose log(s) even
 * in double); *mx = -inf if all are -inf. */
static double logsumexp(const float *x, size_t count, size_t stride, double *mx_out) {
    float mx = -INFINITY;
    for (size_t t = 0; t < count; t++) mx = attn__maxf(mx, x[t * stride]);
    *mx_out = mx;
    if (mx == -INFINITY) return 0;
    double s = 0;
    for (size_t t = 0; t < count; t++) s += exp((double)x[t * stride] - mx);
    return log(s);
}

attn_status attn_sinkhorn(size_t n,
                          float *logits,  // [n, n]
                          size_t iterations, float tau, int causal) {
    if (!logits) return ATTN_ERR_NULL;
    if (n == 0) return ATTN_ERR_SHAPE;
    attn_status st = attn__matrix_fits(n, n);
    if (st != ATTN_OK) return st;
    if (!(tau > 0) || !isfinite(tau)) return ATTN_ERR_RANGE;
    if (!attn__all_finite(logits, n * n)) return ATTN_ERR_NONFINITE;
    float *L = logits;
    int overflow = 0;
    for (size_t i = 0; i < n; i++) {
        /* The first row normalisation cancels any shift of a row: subtract
         * its largest allowed logit first (in double), so that a tiny tau
         * only overflows where (L - max_row) / tau itself leaves float32.
         * No iteration: nothing cancels it, S = exp(L / tau). */
        size_t visible = causal ? i + 1 : n;
        double mx = 0;
        if (iterations > 0)
            for (size_t j = 0; j < visible; j++) mx = j == 0 ? L[i * n] : attn__maxd(mx, L[i * n + j]);
        for (size_t j = 0; j < n; j++) {
            float x = (float)(((double)L[i * n + j] - mx) / tau);
            overflow |= !isfinite(x) && j < visible;
            L[i * n + j] = j < visible ? x : -INFINITY;
        }
    }
    if (overflow) return ATTN_ERR_OVERFLOW;  /* (logits - max_row) / tau beyond float32 */
    for (size_t it = 0; it < iterations; it++) {
        double mx;
        for (size_t i = 0; i < n; i++) {  /* rows */
            double ls = logsumexp(L + i * n, n, 1, &mx);
            if (mx == -INFINITY) continue;  /* nothing to normalise */
            for (size_t j = 0; j < n; j++) L[i * n + j] = (float)(((double)L[i * n + j] - mx) - ls);
        }
        for (size_t j = 0; j < n; j++) {  /* columns */
            double ls = logsumexp(L + j, n, n, &mx);
            if (mx == -INFINITY) continue;
            for (size_t i = 0; i < n; i++) L[i * n + j] = (float)(((double)L[i * n + j] - mx) - ls);
        }
    }
    for (size_t t = 0; t < n * n; t++) L[t] = L[t] == -INFINITY ? 0.0f : expf(L[t]);
    /* exp of logits / tau with no iteration to normalise them first can
     * overflow: refused, not returned. */
    return attn__all_finite(L, n * n) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}
