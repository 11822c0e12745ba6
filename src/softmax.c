/*
 * softmax.c - scaled dot-product (softmax) attention.
 *
 *   s_ij = (scale q_i) . k_j            (blocked entries: -inf)
 *   P    = softmax over each row of s   (a row with nothing allowed: 0)
 *   Y    = P V
 *
 * One definition of the logit in all three paths (weights, streaming
 * outputs, sparse.c): the query is scaled first, then dotted with the key,
 * in float32. So scale = 0 gives uniform weights whatever the inputs, and an
 * allowed logit that overflows float32 gives ATTN_ERR_OVERFLOW in every path.
 * Checking every logit would cost a pass over each tile; instead one bound
 * covers them all (attn__logits_safe: |s_ij| <= |scale| d max|q| max|k|,
 * which also bounds every partial sum), and only inputs that fail it have
 * their logits checked. "Overflows" means the logit itself, not a partial
 * sum: the paths sum in different orders (gemm, panels, dot), so a float32
 * logit that is not finite or beyond FLT_MAX / 2 is recomputed in double
 * (attn__logit_exact, one order for all paths), and only a logit beyond
 * FLT_MAX there is an overflow.
 *
 * attn_softmax_weights writes P. attn_softmax_attention never forms P: it
 * walks the keys in tiles of TILE_K and keeps, per query row, the running
 * maximum m_i and the running sum l_i of exp(s_ij - m_i) (Milakov &
 * Gimelshein 2018). When a tile raises the maximum from m to m', the
 * accumulated output row and l_i are multiplied by exp(m - m'); the output
 * row is divided by l_i once at the end (FlashAttention-2).
 *
 * attn_softmax_weights computes the scores with the gemm kernel from K^T.
 *
 * attn_softmax_attention works on panels: the scores of GROUP = 4 queries
 * against a tile of keys, stored key-major ([keys, 4]). K is packed once in
 * groups of 4 keys ([d, 4] blocks) and V in strips of 8 columns; each query
 * block's scaled queries in strips of 8. Then one 4 x 8 register block (4
 * keys x 8 queries) writes score panels directly, the online softmax runs on
 * whole panel rows (4 queries per vector, no scalar tail whatever the tile
 * width), and the same register block shape (4 queries x 8 value columns)
 * reads a panel as its packed left operand for P V. Padding keys (m not a
 * multiple of 4) are zeros in K and V and -inf in the scores.
 */
#include "internal.h"

#include <float.h>
#include <math.h>

enum {
    TILE_Q = 32,   /* query rows per block (a multiple of STRIP) */
    TILE_K = 128,  /* keys per tile (a multiple of GROUP) */
    STRIP = 8,     /* columns per packed strip: the register block's width */
    GROUP = 4,     /* keys per packed group, queries per score panel: its height */
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

/* Packs B [rows, cols], element (r, c) at src[r * row_stride + c * col_stride],
 * into strips of `width` columns: strip t holds columns t*width .. as a
 * [height, width] block at out + t * height * width, with zeros in the
 * columns past `cols` of the last strip and in the rows past `rows` (height
 * >= rows). K^T is B = K read with row_stride 1 and col_stride d; V is read
 * as it is. */
void attn__pack_strips(size_t rows, size_t height, size_t cols, const float *src, size_t row_stride,
                       size_t col_stride, size_t width,
                       float *out) {  // [ceil(cols / width), height, width]
    if (cols == 0) return;
    size_t strips = (cols + width - 1) / width, last = cols - (strips - 1) * width;
    if (col_stride == 1) {  /* rows are contiguous in src: copy a strip's width at a time */
        for (size_t r = 0; r < rows; r++)
            for (size_t c0 = 0; c0 < cols; c0 += width)
                memcpy(out + (c0 / width) * height * width + r * width, src + r * row_stride + c0,
                       attn__min(width, cols - c0) * sizeof *out);
    } else {  /* columns are contiguous (a matrix read transposed) */
        for (size_t c = 0; c < cols; c++) {
            float *strip = out + (c / width) * height * width + c % width;
            for (size_t r = 0; r < rows; r++) strip[r * width] = src[r * row_stride + c * col_stride];
        }
    }
    if (last < width)
        for (size_t r = 0; r < rows; r++)
            memset(out + (strips - 1) * height * width + r * width + last, 0, (width - last) * sizeof *out);
    if (height > rows)
        for (size_t t = 0; t < strips; t++)
            memset(out + t * height * width + rows * width, 0, (height - rows) * width * sizeof *out);
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

/* The largest |x_i| of finite floats: their magnitude bits compare as
 * unsigned integers in the same order, so the loop is an integer max, which
 * vectorises (blocks of 256 as in attn__all_finite). */
static float max_abs(const float *x, size_t count) {  // [count]
    uint32_t best = 0;
    for (size_t i0 = 0; i0 < count; i0 += 256) {
        size_t end = count - i0 < 256 ? count : i0 + 256;
        uint32_t m = 0;
        for (size_t i = i0; i < end; i++) {
            uint32_t bits;
            memcpy(&bits, &x[i], sizeof bits);
            bits &= 0x7fffffffu;
            m = bits > m ? bits : m;
        }
        best = m > best ? m : best;
    }
    float out;
    memcpy(&out, &best, sizeof out);
    return out;
}

int attn__logits_safe(size_t n, size_t m, size_t d,
                      const float *q,  // [n, d]
                      const float *k,  // [m, d]
                      float scale) {
    /* |(scale q).k| <= |scale| |q| |k| <= |scale| d max|q_il| max|k_jl|, and
     * so is every partial sum of the float32 dot product up to a factor
     * (1 + 2^-24)^(d + 1) (< 1.07 for d < 2^20); the limit leaves a factor 8. */
    const double limit = FLT_MAX / 8.0;
    if (d >= (size_t)1 << 20) return 0;
    double a = fabs((double)scale), qmax = max_abs(q, n * d), kmax = max_abs(k, m * d);
    return a * qmax <= limit && a * (double)d * qmax * kmax <= limit;
}

int attn__logit_suspect(float s, size_t d) {
    /* A float32 sum of d terms whose partial sums stay finite errs by at
     * most d 2^-24 FLT_MAX < FLT_MAX / 4 for d < 2^22: a finite logit within
     * FLT_MAX / 2 is the float32 rounding of one below 3/4 FLT_MAX. */
    return d >= ((size_t)1 << 22) || !(fabsf(s) <= FLT_MAX / 2);
}

attn_status attn__logit_exact(size_t d, float scale,
                              const float *q,  // [d]
                              const float *k,  // [d]
                              float *out) {
    double s = 0;
    for (size_t l = 0; l < d; l++) {
        float qs = scale * q[l];  /* the query scaled in float32, as every path does */
        s += (double)qs * k[l];
    }
    if (!(fabs(s) <= FLT_MAX)) return ATTN_ERR_OVERFLOW;
    *out = (float)s;
    return ATTN_OK;
}

/* ------------------------------------------------------------------ weights */

/* The workspace of the scores: K^T, one strip m wide. */
typedef struct scores_plan {
    size_t kt, total;
} scores_plan;

static attn_status plan_scores(size_t m, size_t d, scores_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->kt = attn__layout_add(&L, d, m);  // [d, m]
    return attn__layout_end(&L, &P->total);
}

attn_status attn_softmax_weights_workspace(size_t n, size_t m, size_t d, size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    (void)n;
    scores_plan P;
    attn_status st = plan_scores(m, d, &P);
    if (st == ATTN_OK) *floats = P.total;
    return st;
}

attn_status attn__scores(size_t n, size_t m, size_t d,
                         const float *q,  // [n, d]
                         const float *k,  // [m, d]
                         float scale,
                         float *p,        // [n, m] output
                         float *work, size_t work_floats) {  // [work_floats]
    attn_status st = check_inputs(n, m, d, 1, q, k, NULL, scale, p, m);
    if (st != ATTN_OK) return st;
    scores_plan P;
    if ((st = plan_scores(m, d, &P)) != ATTN_OK) return st;
    if (!work || work_floats < P.total) return ATTN_ERR_WORKSPACE;
    float *kt = work + P.kt;  // K^T: [d, m], one strip m wide
    attn__pack_strips(d, d, m, k, 1, d, m, kt);
    attn__kernels_get()->gemm(n, m, d, scale, q, d, kt, m, p, m, 0);
    return ATTN_OK;
}

attn_status attn__softmax_row(float *row, size_t m, size_t i, int causal,
                              const uint8_t *mask_row,  // [m] or NULL
                              int check) {
    const attn__kernels *kern = attn__kernels_get();
    if (check && !attn__all_finite(row, m)) {  /* overflowed logits: only allowed ones count */
        size_t visible = causal ? attn__min(m, i + 1) : m;
        for (size_t j = 0; j < visible; j++)
            if ((!mask_row || mask_row[j]) && !isfinite(row[j])) return ATTN_ERR_OVERFLOW;
    }
    block_row(row, m, i, 0, causal, mask_row);
    float mx = kern->max(row, m);
    if (mx == -INFINITY) {  /* nothing allowed */
        memset(row, 0, m * sizeof *row);
        return ATTN_OK;
    }
    float sum = kern->exp_shift_sum(row, m, mx);  /* >= 1: the max gives exp(0) */
    kern->scale(row, m, 1.0f / sum);
    return ATTN_OK;
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
    int check = !attn__logits_safe(n, m, d, q, k, scale);
    for (size_t i = 0; i < n && st == ATTN_OK; i++) {
        float *row = p + i * m;
        const uint8_t *mask_row = mask ? mask + i * m : NULL;
        size_t visible = causal ? attn__min(m, i + 1) : m;
        for (size_t j = 0; check && j < visible && st == ATTN_OK; j++)
            if ((!mask_row || mask_row[j]) && attn__logit_suspect(row[j], d))
                st = attn__logit_exact(d, scale, q + i * d, k + j * d, &row[j]);
        if (st == ATTN_OK) st = attn__softmax_row(row, m, i, causal, mask_row, check);
    }
    return st;
}

/* ------------------------------------------------------------------ outputs */

/* Floats of a key-group packing of K [m, d] (m rounded up to GROUP) and of a
 * strip packing of V [m, dv] (rows rounded up to GROUP, columns to STRIP). */
static size_t groups_of(size_t m) { return m / GROUP + (m % GROUP != 0); }

/* The workspace of streaming attention: keys padded to whole groups (rows_m),
 * value columns to whole strips (dv_pad). */
typedef struct stream_plan {
    size_t rows_m, v_strips, dv_pad;
    size_t kp, vp, qt, o, s, row_max, row_sum, rescale, total;
} stream_plan;

static attn_status plan_stream(size_t m, size_t d, size_t dv, stream_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->rows_m = groups_of(m) * GROUP;
    P->v_strips = dv / STRIP + (dv % STRIP != 0);
    P->dv_pad = P->v_strips * STRIP;
    P->kp = attn__layout_add(&L, P->rows_m, d);          // K in key groups: [rows_m / GROUP, d, GROUP]
    P->vp = attn__layout_add(&L, P->rows_m, P->dv_pad);  // V in strips: [v_strips, rows_m, STRIP]
    P->qt = attn__layout_add(&L, TILE_Q, d);             // the block's scaled queries: [TILE_Q / STRIP, d, STRIP]
    P->o = attn__layout_add(&L, TILE_Q, P->dv_pad);      // [TILE_Q, dv_pad] unnormalised accumulator
    P->s = attn__layout_add(&L, TILE_Q, TILE_K);         // [TILE_Q / GROUP, TILE_K, GROUP] score panels
    P->row_max = attn__layout_add(&L, 1, TILE_Q);        // [TILE_Q] running maximum m_i
    P->row_sum = attn__layout_add(&L, 1, TILE_Q);        // [TILE_Q] running sum l_i
    P->rescale = attn__layout_add(&L, 1, TILE_Q);        // [TILE_Q] exp(m_i(old) - m_i(new)) of the last tile
    return attn__layout_end(&L, &P->total);
}

attn_status attn_softmax_attention_workspace(size_t n, size_t m, size_t d, size_t dv,
                                             size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    (void)n;
    stream_plan P;
    attn_status st = plan_stream(m, d, dv, &P);
    if (st == ATTN_OK) *floats = P.total;
    return st;
}

/* Set blocked scores of a tile to -inf: keys j0 + j (j < rows) against
 * queries i0 + r (r < queries). Keys j >= keys_valid are padding. Panels as
 * in attn__kernels.panel_scores. */
void attn__block_panels(float *s, size_t panel_stride, size_t queries, size_t rows, size_t keys_valid,
                        size_t i0, size_t n, size_t j0, size_t m, int causal,
                        const uint8_t *mask) {  // [n, m] or NULL
    for (size_t r = 0; r < queries; r++) {
        size_t i = i0 + r;
        float *col = s + (r / GROUP) * panel_stride + r % GROUP;
        const uint8_t *mask_row = mask && i < n ? mask + i * m + j0 : NULL;
        for (size_t j = 0; j < rows; j++)
            if (j >= keys_valid || (causal && j0 + j > i) || (mask_row && !mask_row[j]))
                col[GROUP * j] = -INFINITY;
    }
}

attn_status attn__tile_exact(float *s, size_t panel_stride, size_t queries, size_t keys, size_t i0,
                             size_t j0, size_t m, size_t d, float scale,
                             const float *q,         // [n, d]
                             const float *k,         // [m, d]
                             int causal,
                             const uint8_t *mask) {  // [n, m] or NULL
    for (size_t r = 0; r < queries; r++) {
        size_t i = i0 + r;
        float *col = s + (r / GROUP) * panel_stride + r % GROUP;
        const uint8_t *mask_row = mask ? mask + i * m + j0 : NULL;
        for (size_t j = 0; j < keys; j++)
            if (!(causal && j0 + j > i) && (!mask_row || mask_row[j]) && attn__logit_suspect(col[GROUP * j], d)) {
                attn_status st = attn__logit_exact(d, scale, q + i * d, k + (j0 + j) * d, &col[GROUP * j]);
                if (st != ATTN_OK) return st;
            }
    }
    return ATTN_OK;
}

/* The body of attn_softmax_attention and attn_softmax_attention_lse (lse
 * NULL: not written). */
static attn_status stream(size_t n, size_t m, size_t d, size_t dv,
                          const float *q,       // [n, d]
                          const float *k,       // [m, d]
                          const float *v,       // [m, dv]
                          float scale, int causal,
                          const uint8_t *mask,  // [n, m] or NULL
                          float *out,           // [n, dv] output
                          float *lse,           // [n] output or NULL
                          float *work, size_t work_floats) {  // [work_floats]
    if (!v) return ATTN_ERR_NULL;
    attn_status st = check_inputs(n, m, d, dv, q, k, v, scale, out, dv);
    if (st != ATTN_OK) return st;
    stream_plan P;
    if ((st = plan_stream(m, d, dv, &P)) != ATTN_OK) return st;
    if (!work || work_floats < P.total) return ATTN_ERR_WORKSPACE;

    const attn__kernels *kern = attn__kernels_get();
    const size_t rows_m = P.rows_m, v_strips = P.v_strips, dv_pad = P.dv_pad;
    const size_t panel_stride = GROUP * TILE_K;
    float *kp = work + P.kp, *vp = work + P.vp, *qt = work + P.qt, *o = work + P.o, *s = work + P.s;
    float *row_max = work + P.row_max, *row_sum = work + P.row_sum, *rescale = work + P.rescale;

    const int check = !attn__logits_safe(n, m, d, q, k, scale);

    /* Padding rows and columns are zeros: they add nothing to any product. */
    attn__pack_strips(d, d, m, k, 1, d, GROUP, kp);
    attn__pack_strips(m, rows_m, dv, v, dv, 1, STRIP, vp);
    int redo = 0;       /* second pass: V scaled by 2^-e, only non-finite outputs rewritten */
    float back = 1.0f;  /* 2^e on the second pass */

again:
    for (size_t i0 = 0; i0 < n; i0 += TILE_Q) {
        size_t br = attn__min(TILE_Q, n - i0);
        if (redo && attn__all_finite(out + i0 * dv, br * dv)) continue;
        size_t q_strips = br / STRIP + (br % STRIP != 0), q_groups = groups_of(br);
        attn__pack_strips(d, d, br, q + i0 * d, 1, d, STRIP, qt);
        for (size_t x = 0; x < q_strips * STRIP * d; x++) qt[x] *= scale;
        memset(o, 0, q_groups * GROUP * dv_pad * sizeof *o);
        for (size_t r = 0; r < TILE_Q; r++) {
            row_max[r] = -INFINITY;
            row_sum[r] = 0.0f;
        }
        /* Causal: keys after the block's last query are never visible. */
        size_t m_end = causal ? attn__min(m, i0 + br) : m;

        for (size_t j0 = 0; j0 < m_end; j0 += TILE_K) {
            size_t bc = attn__min(TILE_K, m_end - j0), groups = groups_of(bc), rows = groups * GROUP;
            kern->panel_scores(d, groups, q_strips, kp + j0 * d, qt, s, panel_stride);
            if (check && (st = attn__tile_exact(s, panel_stride, br, bc, i0, j0, m, d, scale, q, k, causal, mask)) != ATTN_OK)
                return st;
            if (mask || rows > bc || (causal && j0 + rows - 1 > i0))
                attn__block_panels(s, panel_stride, q_groups * GROUP, rows, bc, i0, n, j0, m, causal, mask);
            for (size_t g = 0; g < q_groups; g++) {
                float *panel = s + g * panel_stride;
                kern->panel_softmax(rows, panel, row_max + GROUP * g, row_sum + GROUP * g, rescale + GROUP * g);
                kern->panel_pv(rows, v_strips, panel, vp + j0 * STRIP, rows_m * STRIP, rescale + GROUP * g,
                               o + GROUP * g * dv_pad, dv_pad);
            }
        }
        if (lse && !redo) attn__row_lse(br, row_max, row_sum, lse + i0);
        for (size_t r = 0; r < br; r++) {
            float *y = out + (i0 + r) * dv;
            if (row_sum[r] > 0.0f) {
                float inv = back / row_sum[r];
                if (!redo)
                    for (size_t c = 0; c < dv; c++) y[c] = o[r * dv_pad + c] * inv;
                else
                    for (size_t c = 0; c < dv; c++)
                        if (!isfinite(y[c])) y[c] = o[r * dv_pad + c] * inv;
            } else {  /* a fully blocked row */
                memset(y, 0, dv * sizeof *y);
            }
        }
    }
    /* Finite logits give weights in [0, 1], so each output is a weighted
     * average of finite values, but the unnormalised accumulator (up to
     * l_i max|v| with l_i <= m) can overflow when |v| is near FLT_MAX. Then
     * once more with V scaled by 2^-e, 2^e >= 4m (exact but for subnormals),
     * rewriting only the non-finite outputs; only an average that itself
     * leaves float32 gives ATTN_ERR_OVERFLOW. */
    if (!redo && !attn__all_finite(out, n * dv)) {
        int e = 2;
        for (size_t c = m; c > 0; c >>= 1) e++;
        for (size_t x = 0; x < rows_m * dv_pad; x++) vp[x] = ldexpf(vp[x], -e);
        back = ldexpf(1.0f, e);
        redo = 1;
        goto again;
    }
    return attn__all_finite(out, n * dv) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

attn_status attn_softmax_attention(size_t n, size_t m, size_t d, size_t dv,
                                   const float *q,       // [n, d]
                                   const float *k,       // [m, d]
                                   const float *v,       // [m, dv]
                                   float scale, int causal,
                                   const uint8_t *mask,  // [n, m] or NULL
                                   float *out,           // [n, dv] output
                                   float *work, size_t work_floats) {  // [work_floats]
    return stream(n, m, d, dv, q, k, v, scale, causal, mask, out, NULL, work, work_floats);
}

attn_status attn_softmax_attention_lse(size_t n, size_t m, size_t d, size_t dv,
                                       const float *q,       // [n, d]
                                       const float *k,       // [m, d]
                                       const float *v,       // [m, dv]
                                       float scale, int causal,
                                       const uint8_t *mask,  // [n, m] or NULL
                                       float *out,           // [n, dv] output
                                       float *lse,           // [n] output
                                       float *work, size_t work_floats) {  // [work_floats]
    if (!lse) return ATTN_ERR_NULL;
    return stream(n, m, d, dv, q, k, v, scale, causal, mask, out, lse, work, work_floats);
}

void attn__row_lse(size_t count,
                   const float *row_max,  // [count]
                   const float *row_sum,  // [count]
                   float *lse) {          // [count] output
    for (size_t r = 0; r < count; r++)
        lse[r] = row_sum[r] > 0.0f ? (float)((double)row_max[r] + log((double)row_sum[r])) : 0.0f;
}
