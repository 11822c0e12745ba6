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
 * The right-hand operands of both products (K^T for the scores, V for P V)
 * are packed once into strips of STRIP columns, each strip a contiguous
 * [rows, STRIP] block, so the gemm kernel's 4 x 8 register block streams one
 * contiguous run of memory instead of 32 bytes from every row.
 */
#include "internal.h"

#include <math.h>

enum {
    TILE_Q = 32,   /* query rows per block */
    TILE_K = 128,  /* keys per tile (a multiple of STRIP) */
    STRIP = 8,     /* columns per packed strip: the gemm kernel's register block width */
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

/* Floats of the strips of a matrix with `rows` rows and `cols` columns. */
static int strips_floats(size_t rows, size_t cols, size_t *floats) {
    size_t strips = cols / STRIP + (cols % STRIP != 0), per_strip;
    return attn__mul(rows, STRIP, &per_strip) && attn__mul(strips, per_strip, floats);
}

/* Packs B [rows, cols], element (r, c) at src[r * row_stride + c * col_stride],
 * into strips: strip t holds columns t*STRIP .. as a [rows, STRIP] block at
 * out + t * rows * STRIP (the last strip partly filled). K^T is B = K read
 * with row_stride 1 and col_stride d; V is read as it is. */
static void pack_strips(size_t rows, size_t cols, const float *src, size_t row_stride, size_t col_stride,
                        float *out) {  // [ceil(cols / STRIP), rows, STRIP]
    for (size_t c = 0; c < cols; c++) {
        float *strip = out + (c / STRIP) * rows * STRIP + c % STRIP;
        for (size_t r = 0; r < rows; r++) strip[r * STRIP] = src[r * row_stride + c * col_stride];
    }
}

/* C[:, 0:n] (=|+=) alpha A B[row0 : row0 + k, col0 : col0 + n] with B packed
 * in strips of `rows` rows; col0 is a multiple of STRIP. */
static void strip_gemm(const attn__kernels *kern, size_t m, size_t n, size_t k, float alpha,
                       const float *a, size_t lda,  // [m, k]
                       const float *strips, size_t rows, size_t row0, size_t col0,
                       float *c, size_t ldc,        // [m, n]
                       int accumulate) {
    for (size_t j = 0; j < n; j += STRIP) {
        const float *b = strips + ((col0 + j) / STRIP) * rows * STRIP + row0 * STRIP;
        kern->gemm(m, attn__min(STRIP, n - j), k, alpha, a, lda, b, STRIP, c + j, ldc, accumulate);
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
    return strips_floats(d, m, floats) ? ATTN_OK : ATTN_ERR_MEMORY;
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
    float *kt = work;  // K^T in strips: [ceil(m / STRIP), d, STRIP]
    pack_strips(d, m, k, 1, d, kt);
    for (size_t i0 = 0; i0 < n; i0 += TILE_Q) {
        size_t br = attn__min(TILE_Q, n - i0);
        for (size_t j0 = 0; j0 < m; j0 += TILE_K)
            strip_gemm(kern, br, attn__min(TILE_K, m - j0), d, scale, q + i0 * d, d, kt, d, 0, j0, p + i0 * m + j0, m, 0);
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
    size_t kt, vp, total;
    if (!strips_floats(d, m, &kt) || !strips_floats(m, dv, &vp) || !attn__add(kt, vp, &total) ||
        !attn__add(total, TILE_Q * TILE_K + 2 * TILE_Q, floats))
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
    size_t kt_floats, vp_floats;
    strips_floats(d, m, &kt_floats);
    strips_floats(m, dv, &vp_floats);
    float *kt = work;                      // K^T in strips: [ceil(m / STRIP), d, STRIP]
    float *vp = kt + kt_floats;            // V in strips: [ceil(dv / STRIP), m, STRIP]
    float *s = vp + vp_floats;             // [TILE_Q, TILE_K] scores, then probabilities
    float *row_max = s + TILE_Q * TILE_K;  // [TILE_Q] running maximum m_i
    float *row_sum = row_max + TILE_Q;     // [TILE_Q] running sum l_i
    pack_strips(d, m, k, 1, d, kt);
    pack_strips(m, dv, v, dv, 1, vp);

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
            strip_gemm(kern, br, bc, d, scale, q + i0 * d, d, kt, d, 0, j0, s, TILE_K, 0);
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
            strip_gemm(kern, br, dv, bc, 1.0f, s, TILE_K, vp, m, j0, 0, o, dv, 1);
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
