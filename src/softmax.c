/*
 * softmax.c - scaled dot-product (softmax) attention.
 *
 *   s_ij = scale * q_i . k_j            (blocked entries: -inf)
 *   P    = softmax over each row of s   (a row with nothing allowed: 0)
 *   Y    = P V
 *
 * attn_softmax_weights writes P. attn_softmax_attention never forms P: it
 * walks the keys in tiles of TILE_K and keeps, per query row, the running
 * maximum m_i and the running sum l_i of exp(s_ij - m_i) (Milakov &
 * Gimelshein 2018). When a tile raises the maximum from m to m', the
 * accumulated output row and l_i are multiplied by exp(m - m'); the output
 * row is divided by l_i once at the end (FlashAttention-2).
 *
 * Both functions copy K transposed into the workspace, one [d, TILE_K] panel
 * per key tile, so that the score tile Q_blk K^T and the update P V are both
 * "rows times a contiguous row-major panel" products, served by the same gemm
 * kernel with short strides.
 */
#include "internal.h"

#include <math.h>

enum {
    TILE_Q = 32,   /* query rows per block */
    TILE_K = 128,  /* keys per tile */
};

/* Shared validation of the inputs of both functions: pointers, then sizes
 * (out_cols is m for weights, dv for outputs), then the data. */
static attn_status check_inputs(size_t n, size_t m, size_t d, size_t dv,
                                const float *q,  // [n, d]
                                const float *k,  // [m, d]
                                const float *v,  // [m, dv] (NULL when not used)
                                float scale, const void *out, size_t out_cols) {
    if (!q || !k || !out) return ATTN_ERR_NULL;
    if (n == 0 || m == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    attn_status st;
    if ((st = attn__matrix_fits(n, d)) || (st = attn__matrix_fits(m, d)) ||
        (st = attn__matrix_fits(m, dv)) || (st = attn__matrix_fits(n, out_cols)))
        return st;
    if (!isfinite(scale)) return ATTN_ERR_RANGE;
    if (!attn__all_finite(q, n * d) || !attn__all_finite(k, m * d) ||
        (v && !attn__all_finite(v, m * dv)))
        return ATTN_ERR_NONFINITE;
    return ATTN_OK;
}

/* Number of floats of the transposed, panelled copy of K. */
static int panels_floats(size_t m, size_t d, size_t *floats) {
    size_t tiles = m / TILE_K + (m % TILE_K != 0);
    size_t per_tile;
    return attn__mul(d, TILE_K, &per_tile) && attn__mul(tiles, per_tile, floats);
}

/* K^T in panels: key tile t is a [d, TILE_K] row-major panel at
 * kt + t * d * TILE_K (the last one partly filled). */
static void transpose_panels(size_t m, size_t d,
                             const float *k,  // [m, d]
                             float *kt) {     // [ceil(m / TILE_K), d, TILE_K]
    for (size_t j = 0; j < m; j++) {
        float *panel = kt + (j / TILE_K) * d * TILE_K + j % TILE_K;
        for (size_t l = 0; l < d; l++) panel[l * TILE_K] = k[j * d + l];
    }
}

/* Set the blocked entries of one row of scores to -inf: keys j0 .. j0+len-1
 * as seen by query i. */
static void block_row(float *s,               // [len]
                      size_t len, size_t i, size_t j0, int causal,
                      const uint8_t *mask_row) {  // [m] or NULL
    size_t visible = len;  /* causal: keys j0 .. i stay visible */
    if (causal) visible = i < j0 ? 0 : attn__min(len, i - j0 + 1);
    for (size_t j = visible; j < len; j++) s[j] = -INFINITY;
    if (mask_row)
        for (size_t j = 0; j < visible; j++)
            if (!mask_row[j0 + j]) s[j] = -INFINITY;
}

/* ------------------------------------------------------------------ weights */

attn_status attn_softmax_weights_workspace(size_t n, size_t m, size_t d, size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    (void)n;
    return panels_floats(m, d, floats) ? ATTN_OK : ATTN_ERR_MEMORY;
}

attn_status attn__scores(size_t n, size_t m, size_t d,
                         const float *q,  // [n, d]
                         const float *k,  // [m, d]
                         float scale,
                         float *p,        // [n, m] output
                         float *work, size_t work_floats) {  // [work_floats]
    attn_status st = check_inputs(n, m, d, 1, q, k, NULL, scale, p, m);
    if (st != ATTN_OK) return st;
    size_t need;
    if ((st = attn_softmax_weights_workspace(n, m, d, &need)) != ATTN_OK) return st;
    if (!work || work_floats < need) return ATTN_ERR_WORKSPACE;
    const attn__kernels *kern = attn__kernels_get();
    float *kt = work;  // [ceil(m / TILE_K), d, TILE_K]
    transpose_panels(m, d, k, kt);
    for (size_t i0 = 0; i0 < n; i0 += TILE_Q) {
        size_t br = attn__min(TILE_Q, n - i0);
        for (size_t j0 = 0; j0 < m; j0 += TILE_K)
            kern->gemm(br, attn__min(TILE_K, m - j0), d, scale, q + i0 * d, d, kt + j0 * d, TILE_K,
                       p + i0 * m + j0, m, 0);
    }
    return ATTN_OK;
}

void attn__softmax_row(float *row, size_t m, size_t i, int causal,
                       const uint8_t *mask_row) {  // [m] or NULL
    const attn__kernels *kern = attn__kernels_get();
    block_row(row, m, i, 0, causal, mask_row);
    float mx = kern->max(row, m);
    if (mx == -INFINITY) {  /* nothing allowed */
        memset(row, 0, m * sizeof *row);
        return;
    }
    float sum = kern->exp_shift_sum(row, m, mx);  /* >= 1: the max gives exp(0) */
    kern->scale(row, m, 1.0f / sum);
}

attn_status attn_softmax_weights(size_t n, size_t m, size_t d,
                                 const float *q,       // [n, d]
                                 const float *k,       // [m, d]
                                 float scale, int causal,
                                 const uint8_t *mask,  // [n, m] or NULL
                                 float *p,             // [n, m] output
                                 float *work, size_t work_floats) {  // [work_floats]
    attn_status st = attn__scores(n, m, d, q, k, scale, p, work, work_floats);
    if (st != ATTN_OK) return st;
    for (size_t i = 0; i < n; i++) attn__softmax_row(p + i * m, m, i, causal, mask ? mask + i * m : NULL);
    return ATTN_OK;
}

/* ------------------------------------------------------------------ outputs */

attn_status attn_softmax_attention_workspace(size_t n, size_t m, size_t d, size_t dv,
                                             size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    (void)n;
    (void)dv;
    size_t kt;
    if (!panels_floats(m, d, &kt) || !attn__add(kt, TILE_Q * TILE_K + 2 * TILE_Q, floats))
        return ATTN_ERR_MEMORY;
    return ATTN_OK;
}

attn_status attn_softmax_attention(size_t n, size_t m, size_t d, size_t dv,
                                   const float *q,       // [n, d]
                                   const float *k,       // [m, d]
                                   const float *v,       // [m, dv]
                                   float scale, int causal,
                                   const uint8_t *mask,  // [n, m] or NULL
                                   float *out,           // [n, dv] output
                                   float *work, size_t work_floats) {  // [work_floats]
    if (!v) return ATTN_ERR_NULL;
    attn_status st = check_inputs(n, m, d, dv, q, k, v, scale, out, dv);
    if (st != ATTN_OK) return st;
    size_t need;
    if ((st = attn_softmax_attention_workspace(n, m, d, dv, &need)) != ATTN_OK) return st;
    if (!work || work_floats < need) return ATTN_ERR_WORKSPACE;

    const attn__kernels *kern = attn__kernels_get();
    size_t kt_floats;
    panels_floats(m, d, &kt_floats);
    float *kt = work;                      // [ceil(m / TILE_K), d, TILE_K]
    float *s = kt + kt_floats;             // [TILE_Q, TILE_K] scores, then probabilities
    float *row_max = s + TILE_Q * TILE_K;  // [TILE_Q] running maximum m_i
    float *row_sum = row_max + TILE_Q;     // [TILE_Q] running sum l_i
    transpose_panels(m, d, k, kt);

    for (size_t i0 = 0; i0 < n; i0 += TILE_Q) {
        size_t br = attn__min(TILE_Q, n - i0);
        float *o = out + i0 * dv;  // [br, dv] unnormalised accumulator
        memset(o, 0, br * dv * sizeof *o);
        for (size_t r = 0; r < br; r++) {
            row_max[r] = -INFINITY;
            row_sum[r] = 0.0f;
        }
        /* Causal: keys after the block's last query are never visible. */
        size_t m_end = causal ? attn__min(m, i0 + br) : m;

        for (size_t j0 = 0; j0 < m_end; j0 += TILE_K) {
            size_t bc = attn__min(TILE_K, m_end - j0);
            kern->gemm(br, bc, d, scale, q + i0 * d, d, kt + j0 * d, TILE_K, s, TILE_K, 0);
            for (size_t r = 0; r < br; r++) {
                size_t i = i0 + r;
                float *sr = s + r * TILE_K;
                if (mask || (causal && j0 + bc - 1 > i))
                    block_row(sr, bc, i, j0, causal, mask ? mask + i * m : NULL);
                float new_max = kern->max(sr, bc);
                if (new_max < row_max[r]) new_max = row_max[r];
                if (new_max == -INFINITY) {  /* nothing visible yet */
                    memset(sr, 0, bc * sizeof *sr);
                    continue;
                }
                float tile_sum = kern->exp_shift_sum(sr, bc, new_max);
                float rescale = expf(row_max[r] - new_max);  /* exp(-inf) = 0 */
                if (rescale != 1.0f) kern->scale(o + r * dv, dv, rescale);
                row_sum[r] = row_sum[r] * rescale + tile_sum;
                row_max[r] = new_max;
            }
            kern->gemm(br, dv, bc, 1.0f, s, TILE_K, v + j0 * dv, dv, o, dv, 1);
        }
        for (size_t r = 0; r < br; r++) {
            if (row_sum[r] > 0.0f)
                kern->scale(o + r * dv, dv, 1.0f / row_sum[r]);
            else  /* a fully blocked row */
                memset(o + r * dv, 0, dv * sizeof *o);
        }
    }
    return ATTN_OK;
}
