/*
 * softmax_backward.c - the gradients of softmax attention, streaming
 * (FlashAttention-2's backward, Dao 2023, Algorithm 2).
 *
 * Forward (softmax.c):   s_ij = (scale q_i) . k_j     (blocked: -inf)
 *                        P    = softmax over each row of s
 *                        Y    = P V,   lse_i = log sum_j exp(s_ij)
 * Given dY = dL/dY [n, dv], with D_i = sum_c dY_ic Y_ic = dY_i . Y_i:
 *
 *   P_ij  = exp(s_ij - lse_i)                 (recomputed per tile)
 *   dV    = P^T dY                            dV_j  = sum_i P_ij dY_i
 *   dP    = dY V^T                            dP_ij = dY_i . v_j
 *   dS    = P o (dP - D)                      dS_ij = P_ij (dP_ij - D_i)
 *   dQ    = scale dS K                        dq_i  = scale sum_j dS_ij k_j
 *   dK    = dS^T (scale Q)                    dk_j  = scale sum_i dS_ij q_i
 *
 * (dS is the softmax Jacobian applied to dP: dL/ds_ij = P_ij (dP_ij -
 * sum_j' P_ij' dP_ij'), and sum_j' P_ij' dP_ij' = dY_i . Y_i = D_i.) Blocked
 * entries have P = 0, so they get no gradient; a row with no allowed key has
 * P = 0 everywhere, Y = 0 and zero gradients.
 *
 * The n x m matrices P, dP and dS are never stored: queries are walked in
 * blocks of TILE_Q and keys in tiles of TILE_K, as in the forward. For each
 * query block, lse_i and D_i come either from the caller (the forward's
 * output and attn_softmax_attention_lse) or from a forward pass over the
 * block's key tiles done here (the online softmax of softmax.c, with the same
 * kernels, so the same lse); then for each key tile:
 *
 *   S  = panel_scores(K tile, scale Q block)     4 queries per panel, key-major
 *   P  = panel_exp(S - lse)
 *   dP = panel_scores(V tile, dY block)
 *   dS = panel_ds(P, dP, D)                      in place of dP
 *   dV tile += P^T dY block      panel_pv on P transposed ([keys/4][queries][4])
 *   dQ block += dS K tile        panel_pv on dS, K in strips of 8 columns
 *   dK tile += dS^T Q block      panel_pv on dS transposed, Q in strips
 *
 * Five products of the same register block as the forward (2 n m (2 d + 3
 * dv) flops without the recomputation, 4 n m d + ... more with it), one exp
 * per score, and two 4 x 4-block transposes per tile (no arithmetic). dQ of
 * a block lives in a TILE_Q x d tile; dK and dV accumulate in [m, d] and
 * [m, dv] buffers, like the packed K and V: the workspace is O(m (d + dv)),
 * independent of n.
 *
 * Finite or an error, as the forward: a logit that overflows float32 gives
 * ATTN_ERR_OVERFLOW (the same test as the forward), and so does a gradient
 * that is not finite at the end (an intermediate sum beyond float32).
 */
#include "internal.h"

#include <math.h>

/* TILE_Q is twice the forward's: dV and dK are products whose sum runs over
 * the block's queries, and 64 terms per register block instead of 32 halve
 * the loads and stores of their accumulators (measured with the core alone at
 * n = 1024, d = 64 in Node, best of 40 interleaved runs on a loaded machine:
 * 42 GFLOP/s against 39 with 32; the P V kernel alone ran at 48). */
enum {
    TILE_Q = 64,   /* query rows per block (a multiple of STRIP) */
    TILE_K = 128,  /* keys per tile (a multiple of GROUP) */
    STRIP = 8,     /* columns per packed strip: the register block's width */
    GROUP = 4,     /* keys per packed group, queries per score panel */
};

static size_t groups_of(size_t m) { return m / GROUP + (m % GROUP != 0); }
static size_t strips_of(size_t c) { return c / STRIP + (c % STRIP != 0); }

/* The workspace: packed K and V (whole), the dK and dV accumulators, and one
 * query block's packings and tiles. */
typedef struct bwd_plan {
    size_t rows_m, d_pad, dv_pad;
    size_t kp, ks, vg, vp, dk, dv, qt, qs, dot, dos, dq, o, s, dp, pt;
    size_t lse, dd, row_max, row_sum, rescale, ones, total;
} bwd_plan;

static attn_status plan_bwd(size_t m, size_t d, size_t dv, bwd_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->rows_m = groups_of(m) * GROUP;
    P->d_pad = strips_of(d) * STRIP;
    P->dv_pad = strips_of(dv) * STRIP;
    P->kp = attn__layout_add(&L, P->rows_m, d);          // K in key groups: [rows_m / 4, d, 4]
    P->ks = attn__layout_add(&L, P->rows_m, P->d_pad);   // K in column strips: [d_pad / 8, rows_m, 8]
    P->vg = attn__layout_add(&L, P->rows_m, dv);         // V in key groups: [rows_m / 4, dv, 4]
    P->vp = attn__layout_add(&L, P->rows_m, P->dv_pad);  // V in column strips: [dv_pad / 8, rows_m, 8]
    P->dk = attn__layout_add(&L, P->rows_m, P->d_pad);   // dK / scale accumulator: [rows_m, d_pad]
    P->dv = attn__layout_add(&L, P->rows_m, P->dv_pad);  // dV accumulator: [rows_m, dv_pad]
    P->qt = attn__layout_add(&L, TILE_Q, d);             // scale Q in query strips: [TILE_Q / 8, d, 8]
    P->qs = attn__layout_add(&L, TILE_Q, P->d_pad);      // Q in column strips: [d_pad / 8, TILE_Q, 8]
    P->dot = attn__layout_add(&L, TILE_Q, dv);           // dY in query strips: [TILE_Q / 8, dv, 8]
    P->dos = attn__layout_add(&L, TILE_Q, P->dv_pad);    // dY in column strips: [dv_pad / 8, TILE_Q, 8]
    P->dq = attn__layout_add(&L, TILE_Q, P->d_pad);      // dQ / scale accumulator: [TILE_Q, d_pad]
    P->o = attn__layout_add(&L, TILE_Q, P->dv_pad);      // recomputed Y, unnormalised: [TILE_Q, dv_pad]
    P->s = attn__layout_add(&L, TILE_Q, TILE_K);         // S, then P: [TILE_Q / 4, TILE_K, 4]
    P->dp = attn__layout_add(&L, TILE_Q, TILE_K);        // dP, then dS: [TILE_Q / 4, TILE_K, 4]
    P->pt = attn__layout_add(&L, TILE_K, TILE_Q);        // P or dS transposed: [TILE_K / 4, TILE_Q, 4]
    P->lse = attn__layout_add(&L, 1, TILE_Q);            // [TILE_Q] the block's lse
    P->dd = attn__layout_add(&L, 1, TILE_Q);             // [TILE_Q] the block's D
    P->row_max = attn__layout_add(&L, 1, TILE_Q);        // [TILE_Q] recomputation: running max
    P->row_sum = attn__layout_add(&L, 1, TILE_Q);        // [TILE_Q] recomputation: running sum
    P->rescale = attn__layout_add(&L, 1, TILE_Q);        // [TILE_Q] recomputation: rescale
    P->ones = attn__layout_add(&L, 1, TILE_Q);           // [TILE_Q] 1.0: panel_pv without rescaling
    return attn__layout_end(&L, &P->total);
}

attn_status attn_softmax_attention_backward_workspace(size_t n, size_t m, size_t d, size_t dv,
                                                      size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    (void)n;
    bwd_plan P;
    attn_status st = plan_bwd(m, d, dv, &P);
    if (st == ATTN_OK) *floats = P.total;
    return st;
}

/* Score panels [q_groups][rows][4] (panel g at s + g * panel_stride) to
 * [rows / 4][4 q_groups][4]: key group jg's block holds, for each query l,
 * its 4 keys. rows is a multiple of 4. */
static void transpose_panels(size_t q_groups, size_t rows,
                             const float *s, size_t panel_stride,  // [q_groups, panel_stride]
                             float *pt) {                          // [rows / 4, 4 q_groups, 4]
    size_t q_rows = GROUP * q_groups;
    for (size_t jg = 0; jg < rows / GROUP; jg++)
        for (size_t g = 0; g < q_groups; g++) {
            const float *src = s + g * panel_stride + GROUP * GROUP * jg;  // [4 keys, 4 queries]
            float *dst = pt + jg * q_rows * GROUP + GROUP * GROUP * g;     // [4 queries, 4 keys]
            for (size_t r = 0; r < GROUP; r++)
                for (size_t jj = 0; jj < GROUP; jj++) dst[GROUP * r + jj] = src[GROUP * jj + r];
        }
}

static double dot_f64(const float *a, const float *b, size_t count) {  // [count], [count]
    double sum = 0.0;
    for (size_t c = 0; c < count; c++) sum += (double)a[c] * b[c];
    return sum;
}

attn_status attn_softmax_attention_backward(size_t n, size_t m, size_t d, size_t dv,
                                            const float *q,       // [n, d]
                                            const float *k,       // [m, d]
                                            const float *v,       // [m, dv]
                                            float scale, int causal,
                                            const uint8_t *mask,  // [n, m] or NULL
                                            const float *out,     // [n, dv] or NULL
                                            const float *lse,     // [n] or NULL
                                            const float *dout,    // [n, dv]
                                            float *dq,            // [n, d] output
                                            float *dk,            // [m, d] output
                                            float *dv_out,        // [m, dv] output
                                            float *work, size_t work_floats) {  // [work_floats]
    if (!q || !k || !v || !dout || !dq || !dk || !dv_out || (lse && !out)) return ATTN_ERR_NULL;
    if (n == 0 || m == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    attn_status st;
    if ((st = attn__matrix_fits(n, d)) || (st = attn__matrix_fits(m, d)) || (st = attn__matrix_fits(m, dv)) ||
        (st = attn__matrix_fits(n, dv)))
        return st;
    if (!isfinite(scale)) return ATTN_ERR_RANGE;
    bwd_plan P;
    if ((st = plan_bwd(m, d, dv, &P)) != ATTN_OK) return st;
    if (!work || work_floats < P.total) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(q, n * d) || !attn__all_finite(k, m * d) || !attn__all_finite(v, m * dv) ||
        !attn__all_finite(dout, n * dv) || (lse && (!attn__all_finite(lse, n) || !attn__all_finite(out, n * dv))))
        return ATTN_ERR_NONFINITE;

    const attn__kernels *kern = attn__kernels_get();
    const size_t rows_m = P.rows_m, d_pad = P.d_pad, dv_pad = P.dv_pad;
    const size_t d_strips = d_pad / STRIP, v_strips = dv_pad / STRIP;
    const size_t panel_stride = GROUP * TILE_K;
    float *kp = work + P.kp, *ks = work + P.ks, *vg = work + P.vg, *vp = work + P.vp;
    float *dk_acc = work + P.dk, *dv_acc = work + P.dv;
    float *qt = work + P.qt, *qs = work + P.qs, *dot = work + P.dot, *dos = work + P.dos;
    float *dq_acc = work + P.dq, *o = work + P.o, *s = work + P.s, *dp = work + P.dp, *pt = work + P.pt;
    float *lse_b = work + P.lse, *dd = work + P.dd, *row_max = work + P.row_max, *row_sum = work + P.row_sum;
    float *rescale = work + P.rescale, *ones = work + P.ones;

    const int check = !attn__logits_safe(n, m, d, q, k, scale);

    /* Padding keys and columns are zeros: they add nothing to any product. */
    attn__pack_strips(d, d, m, k, 1, d, GROUP, kp);
    attn__pack_strips(m, rows_m, d, k, d, 1, STRIP, ks);
    attn__pack_strips(dv, dv, m, v, 1, dv, GROUP, vg);
    if (!lse) attn__pack_strips(m, rows_m, dv, v, dv, 1, STRIP, vp);
    memset(dk_acc, 0, rows_m * d_pad * sizeof *dk_acc);
    memset(dv_acc, 0, rows_m * dv_pad * sizeof *dv_acc);
    for (size_t r = 0; r < TILE_Q; r++) ones[r] = 1.0f;

    for (size_t i0 = 0; i0 < n; i0 += TILE_Q) {
        const size_t br = attn__min(TILE_Q, n - i0), q_strips = strips_of(br), q_groups = groups_of(br);
        const size_t q_rows = q_groups * GROUP;
        attn__pack_strips(d, d, br, q + i0 * d, 1, d, STRIP, qt);
        for (size_t x = 0; x < q_strips * STRIP * d; x++) qt[x] *= scale;
        attn__pack_strips(br, q_rows, d, q + i0 * d, d, 1, STRIP, qs);
        attn__pack_strips(dv, dv, br, dout + i0 * dv, 1, dv, STRIP, dot);
        attn__pack_strips(br, q_rows, dv, dout + i0 * dv, dv, 1, STRIP, dos);
        /* Causal: keys after the block's last query are never visible. */
        const size_t m_end = causal ? attn__min(m, i0 + br) : m;

        if (lse) {
            for (size_t r = 0; r < br; r++) {
                lse_b[r] = lse[i0 + r];
                dd[r] = (float)dot_f64(dout + (i0 + r) * dv, out + (i0 + r) * dv, dv);
            }
        } else {  /* the forward's online softmax over the block (softmax.c) */
            memset(o, 0, q_rows * dv_pad * sizeof *o);
            for (size_t r = 0; r < TILE_Q; r++) {
                row_max[r] = -INFINITY;
                row_sum[r] = 0.0f;
            }
            for (size_t j0 = 0; j0 < m_end; j0 += TILE_K) {
                size_t bc = attn__min(TILE_K, m_end - j0), groups = groups_of(bc), rows = groups * GROUP;
                kern->panel_scores(d, groups, q_strips, kp + j0 * d, qt, s, panel_stride);
                if (check && (st = attn__tile_exact(s, panel_stride, br, bc, i0, j0, m, d, scale, q, k, causal, mask)) != ATTN_OK)
                    return st;
                if (mask || rows > bc || (causal && j0 + rows - 1 > i0))
                    attn__block_panels(s, panel_stride, q_rows, rows, bc, i0, n, j0, m, causal, mask);
                for (size_t g = 0; g < q_groups; g++) {
                    float *panel = s + g * panel_stride;
                    kern->panel_softmax(rows, panel, row_max + GROUP * g, row_sum + GROUP * g, rescale + GROUP * g);
                    kern->panel_pv(rows, v_strips, panel, vp + j0 * STRIP, rows_m * STRIP, rescale + GROUP * g,
                                   o + GROUP * g * dv_pad, dv_pad);
                }
            }
            attn__row_lse(br, row_max, row_sum, lse_b);
            for (size_t r = 0; r < br; r++)
                dd[r] = row_sum[r] > 0.0f ? (float)(dot_f64(dout + (i0 + r) * dv, o + r * dv_pad, dv) / row_sum[r])
                                          : 0.0f;
        }
        for (size_t r = br; r < q_rows; r++) lse_b[r] = dd[r] = 0.0f;  /* padding queries: dY = 0 */
        memset(dq_acc, 0, q_rows * d_pad * sizeof *dq_acc);

        for (size_t j0 = 0; j0 < m_end; j0 += TILE_K) {
            size_t bc = attn__min(TILE_K, m_end - j0), groups = groups_of(bc), rows = groups * GROUP;
            kern->panel_scores(d, groups, q_strips, kp + j0 * d, qt, s, panel_stride);
            if (check && (st = attn__tile_exact(s, panel_stride, br, bc, i0, j0, m, d, scale, q, k, causal, mask)) != ATTN_OK)
                return st;
            if (mask || rows > bc || (causal && j0 + rows - 1 > i0))
                attn__block_panels(s, panel_stride, q_rows, rows, bc, i0, n, j0, m, causal, mask);
            kern->panel_scores(dv, groups, q_strips, vg + j0 * dv, dot, dp, panel_stride);
            for (size_t g = 0; g < q_groups; g++) {
                kern->panel_exp(rows, s + g * panel_stride, lse_b + GROUP * g);
                kern->panel_ds(rows, s + g * panel_stride, dp + g * panel_stride, dd + GROUP * g);
            }
            /* dV tile += P^T dY */
            transpose_panels(q_groups, rows, s, panel_stride, pt);
            for (size_t jg = 0; jg < groups; jg++)
                kern->panel_pv(q_rows, v_strips, pt + jg * q_rows * GROUP, dos, q_rows * STRIP, ones,
                               dv_acc + (j0 + GROUP * jg) * dv_pad, dv_pad);
            /* dQ block += dS K */
            for (size_t g = 0; g < q_groups; g++)
                kern->panel_pv(rows, d_strips, dp + g * panel_stride, ks + j0 * STRIP, rows_m * STRIP, ones,
                               dq_acc + GROUP * g * d_pad, d_pad);
            /* dK tile += dS^T Q */
            transpose_panels(q_groups, rows, dp, panel_stride, pt);
            for (size_t jg = 0; jg < groups; jg++)
                kern->panel_pv(q_rows, d_strips, pt + jg * q_rows * GROUP, qs, q_rows * STRIP, ones,
                               dk_acc + (j0 + GROUP * jg) * d_pad, d_pad);
        }
        for (size_t r = 0; r < br; r++)
            for (size_t c = 0; c < d; c++) dq[(i0 + r) * d + c] = scale * dq_acc[r * d_pad + c];
    }
    for (size_t j = 0; j < m; j++) {
        for (size_t c = 0; c < d; c++) dk[j * d + c] = scale * dk_acc[j * d_pad + c];
        memcpy(dv_out + j * dv, dv_acc + j * dv_pad, dv * sizeof *dv_out);
    }
    return attn__all_finite(dq, n * d) && attn__all_finite(dk, m * d) && attn__all_finite(dv_out, m * dv)
               ? ATTN_OK
               : ATTN_ERR_OVERFLOW;
}
