/*
 * linear_backward.c - reverse mode of linear attention (linear.c). With
 * P = phi(Q) [n, dim] (role query), F = phi(K) [m, dim] (role key),
 *
 *   S = F^T V [dim, dv],  z = F^T 1 [dim],  num_i = P_i S,  den_i = P_i.z + eps,
 *   y_i = num_i / den_i,
 *
 * and G = dL/dY, every query row contributes through
 *
 *   a_i = G_i / den_i [dv],  b_i = -(G_i.y_i) / den_i   (den_i = 0: a_i = 0, b_i = 0,
 *                                                         as its output row is 0)
 *   dP_i = S a_i + b_i z                 dS = sum_i P_i a_i^T,  dz = sum_i b_i P_i
 *   dF_j = dS v_j + dz                   dV_j = dS^T F_j
 *
 * (dS, dz: the gradients reaching S and z.) Non-causal, these are five
 * products, O((n + m) dim dv). Causal, query i sees S_i, z_i (keys j <= i)
 * and key j reaches the queries i >= j, so
 *
 *   dP_i = S_i a_i + b_i z_i          with prefix sums  S_i = sum_{j <= i} F_j v_j^T
 *   dF_j = dS_j v_j + dz_j, dV_j = dS_j^T F_j
 *                                     with suffix sums  dS_j = sum_{i >= j} P_i a_i^T,
 *                                                       dz_j = sum_{i >= j} b_i P_i
 *
 * computed in blocks of BLOCK rows as in the forward: a forward sweep keeps
 * S, z of the blocks before (S^T too, for dP = a S^T) and handles the pairs
 * inside a block with the masked [BLOCK, BLOCK] matrices
 *   M_ij = a_i.v_j + b_i  and  A_ij = P_i.F_j   (j <= i),
 *   dP_b = a_b S^T + b_b z^T + M F_b;
 * a backward sweep (last block first) keeps dS, dz (dS^T too) of the blocks
 * after and does
 *   dF_b = V_b dS^T + 1 dz^T + M^T P_b,  dV_b = F_b dS + A^T a_b.
 * Time O((n + m) dim dv + n BLOCK (dim + dv)); state O(dim dv); a and b are
 * kept per query ([n, dv], [n]). Finally dQ, dK = the feature maps'
 * backward (features_backward.c) of dP, dF.
 */
#include "internal.h"

#include <math.h>

enum {
    CHUNK = 256,  /* rows per transposed chunk (non-causal) */
    BLOCK = 64,   /* rows per step of the causal sweeps (<= CHUNK) */
};

typedef struct lb_layout {
    size_t dim, fq, fk, gq, gk, a, b, fwork, fwork_floats, chunk, s, st, z, ds, dst, dz, qt, vt, at, mm, pm, total;
} lb_layout;

static attn_status lb_plan(const attn_feature_spec *spec, size_t n, size_t m, size_t d, size_t dv,
                           lb_layout *L) {
    attn_status st = attn_feature_dim(spec, d, &L->dim);
    if (st != ATTN_OK) return st;
    size_t f0, f1, f2;
    if ((st = attn_feature_map_workspace(spec, d, &f0)) != ATTN_OK ||
        (st = attn_feature_map_backward_workspace(spec, n, d, &f1)) != ATTN_OK ||
        (st = attn_feature_map_backward_workspace(spec, m, d, &f2)) != ATTN_OK)
        return st;
    L->fwork_floats = attn__maxsz(f0, attn__maxsz(f1, f2));
    const size_t dim = L->dim;
    attn__layout W = ATTN__LAYOUT_INIT;
    L->fq = attn__layout_add(&W, n, dim);                 // [n, dim] P = phi(Q)
    L->fk = attn__layout_add(&W, m, dim);                 // [m, dim] F = phi(K)
    L->gq = attn__layout_add(&W, n, dim);                 // [n, dim] dP
    L->gk = attn__layout_add(&W, m, dim);                 // [m, dim] dF
    L->a = attn__layout_add(&W, n, dv);                   // [n, dv] num, then a
    L->b = attn__layout_add(&W, 1, n);                    // [n] b
    L->fwork = attn__layout_add(&W, 1, L->fwork_floats);  // the feature maps' workspace
    L->chunk = attn__layout_add(&W, dim, CHUNK);          // [dim, CHUNK] a transposed chunk
    L->s = attn__layout_add(&W, dim, dv);                 // [dim, dv] S
    L->st = attn__layout_add(&W, dv, dim);                // [dv, dim] S^T
    L->z = attn__layout_add(&W, 1, dim);                  // [dim] z
    L->ds = attn__layout_add(&W, dim, dv);                // [dim, dv] dS
    L->dst = attn__layout_add(&W, dv, dim);               // [dv, dim] dS^T
    L->dz = attn__layout_add(&W, 1, dim);                 // [dim] dz
    L->qt = attn__layout_add(&W, dim, BLOCK);             // [dim, BLOCK] P_b^T
    L->vt = attn__layout_add(&W, dv, BLOCK);              // [dv, BLOCK] V_b^T
    L->at = attn__layout_add(&W, dv, BLOCK);              // [dv, BLOCK] a_b^T
    L->mm = attn__layout_add(&W, BLOCK, BLOCK);           // [BLOCK, BLOCK] M or M^T
    L->pm = attn__layout_add(&W, BLOCK, BLOCK);           // [BLOCK, BLOCK] A or A^T
    return attn__layout_end(&W, &L->total);
}

attn_status attn_linear_attention_backward_workspace(const attn_feature_spec *spec, size_t n, size_t m,
                                                     size_t d, size_t dv, size_t *floats) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    if (!floats) return ATTN_ERR_NULL;
    lb_layout L;
    attn_status st = lb_plan(spec, n, m, d, dv, &L);
    if (st == ATTN_OK) *floats = L.total;
    return st;
}

/* out = x^T for x [rows, cols] with row stride ldx: out [cols, ldo]. */
static void transpose(const float *x, size_t ldx, size_t rows, size_t cols, float *out, size_t ldo) {
    for (size_t i = 0; i < rows; i++)
        for (size_t c = 0; c < cols; c++) out[c * ldo + i] = x[i * ldx + c];
}

/* y[i] += s[i] x for rows i of y (y [rows, dim]). */
static void add_scaled(const attn__kernels *kern, size_t rows, size_t dim, const float *s,  // [rows]
                       const float *x,  // [dim]
                       float *y) {      // [rows, dim]
    for (size_t i = 0; i < rows; i++) kern->axpy(dim, s ? s[i] : 1.0f, x, y + i * dim);
}

/* From num_i (in a) and den_i: a_i = G_i / den_i, b_i = -(G_i.num_i) / den_i^2. */
static void coefficients(size_t dv, const float *g,  // [dv]
                         double den, float *a,       // [dv] in: num_i; out: a_i
                         float *b) {
    if (den == 0) {  /* the output row is 0, for every input nearby too */
        memset(a, 0, dv * sizeof *a);
        *b = 0.0f;
        return;
    }
    double gy = 0;
    for (size_t c = 0; c < dv; c++) gy += (double)g[c] * a[c];
    *b = (float)(-(gy / den) / den);
    for (size_t c = 0; c < dv; c++) a[c] = (float)(g[c] / den);
}

static void noncausal(const attn__kernels *kern, const lb_layout *L, size_t n, size_t m, size_t dv,
                      const float *v,     // [m, dv]
                      float eps,
                      const float *dout,  // [n, dv]
                      float *dv_out,      // [m, dv]
                      float *work) {
    const size_t dim = L->dim;
    const float *P = work + L->fq, *F = work + L->fk;
    float *dP = work + L->gq, *dF = work + L->gk, *a = work + L->a, *b = work + L->b, *chunk = work + L->chunk;
    float *S = work + L->s, *St = work + L->st, *z = work + L->z;
    float *dS = work + L->ds, *dSt = work + L->dst, *dz = work + L->dz;
    /* S, z as the forward */
    memset(z, 0, dim * sizeof *z);
    for (size_t j0 = 0; j0 < m; j0 += CHUNK) {
        size_t len = attn__min(CHUNK, m - j0);
        transpose(F + j0 * dim, dim, len, dim, chunk, CHUNK);
        kern->gemm(dim, dv, len, 1.0f, chunk, CHUNK, v + j0 * dv, dv, S, dv, j0 > 0);
    }
    for (size_t j = 0; j < m; j++) kern->axpy(dim, 1.0f, F + j * dim, z);
    transpose(S, dv, dim, dv, St, dim);
    /* num, den, a, b */
    kern->gemm(n, dv, dim, 1.0f, P, dim, S, dv, a, dv, 0);
    for (size_t i = 0; i < n; i++) {
        double den = 0;
        for (size_t f = 0; f < dim; f++) den += (double)P[i * dim + f] * z[f];
        coefficients(dv, dout + i * dv, den + eps, a + i * dv, b + i);
    }
    /* dP = a S^T + b z^T */
    kern->gemm(n, dim, dv, 1.0f, a, dv, St, dim, dP, dim, 0);
    add_scaled(kern, n, dim, b, z, dP);
    /* dS = P^T a, dz = P^T b */
    memset(dz, 0, dim * sizeof *dz);
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t len = attn__min(CHUNK, n - i0);
        transpose(P + i0 * dim, dim, len, dim, chunk, CHUNK);
        kern->gemm(dim, dv, len, 1.0f, chunk, CHUNK, a + i0 * dv, dv, dS, dv, i0 > 0);
    }
    for (size_t i = 0; i < n; i++) kern->axpy(dim, b[i], P + i * dim, dz);
    transpose(dS, dv, dim, dv, dSt, dim);
    /* dF = V dS^T + 1 dz^T, dV = F dS */
    kern->gemm(m, dim, dv, 1.0f, v, dv, dSt, dim, dF, dim, 0);
    add_scaled(kern, m, dim, NULL, dz, dF);
    kern->gemm(m, dv, dim, 1.0f, F, dim, dS, dv, dv_out, dv, 0);
}

static void causal_sweeps(const attn__kernels *kern, const lb_layout *L, size_t n, size_t m, size_t dv,
                          const float *v,     // [m, dv]
                          float eps,
                          const float *dout,  // [n, dv]
                          float *dv_out,      // [m, dv]
                          float *work) {
    const size_t dim = L->dim;
    const float *P = work + L->fq, *F = work + L->fk;
    float *dP = work + L->gq, *dF = work + L->gk, *a = work + L->a, *b = work + L->b;
    float *S = work + L->s, *St = work + L->st, *z = work + L->z;
    float *dS = work + L->ds, *dSt = work + L->dst, *dz = work + L->dz;
    float *ft = work + L->chunk, *qt = work + L->qt, *vt = work + L->vt, *at = work + L->at;
    float *mm = work + L->mm, *pm = work + L->pm;  // [BLOCK, BLOCK] each
    memset(S, 0, dim * dv * sizeof *S);
    memset(St, 0, dv * dim * sizeof *St);
    memset(z, 0, dim * sizeof *z);

    /* Forward sweep: num, den as the forward; a, b; dP. */
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t rows = attn__min(BLOCK, n - i0);
        size_t keys = i0 < m ? attn__min(rows, m - i0) : 0;  /* keys i0 .. i0+keys-1 */
        const float *Pb = P + i0 * dim, *Fb = F + i0 * dim, *Vb = v + i0 * dv;
        float *ab = a + i0 * dv, *bb = b + i0, *dPb = dP + i0 * dim;
        kern->gemm(rows, dv, dim, 1.0f, Pb, dim, S, dv, ab, dv, 0);
        double den[BLOCK];
        for (size_t r = 0; r < rows; r++) {
            den[r] = 0;
            for (size_t f = 0; f < dim; f++) den[r] += (double)Pb[r * dim + f] * z[f];
        }
        if (keys > 0) {
            transpose(Fb, dim, keys, dim, ft, CHUNK);
            kern->gemm(rows, keys, dim, 1.0f, Pb, dim, ft, CHUNK, pm, BLOCK, 0);
            for (size_t r = 0; r < rows; r++) {
                float *pr = pm + r * BLOCK;
                for (size_t j = r + 1; j < keys; j++) pr[j] = 0.0f;
                for (size_t j = 0; j < keys && j <= r; j++) den[r] += pr[j];
            }
            kern->gemm(rows, dv, keys, 1.0f, pm, BLOCK, Vb, dv, ab, dv, 1);
        }
        for (size_t r = 0; r < rows; r++) coefficients(dv, dout + (i0 + r) * dv, den[r] + eps, ab + r * dv, bb + r);
        /* dP_b = a_b S^T + b_b z^T (+ M F_b inside the block) */
        kern->gemm(rows, dim, dv, 1.0f, ab, dv, St, dim, dPb, dim, 0);
        add_scaled(kern, rows, dim, bb, z, dPb);
        if (keys > 0) {
            transpose(Vb, dv, keys, dv, vt, BLOCK);
            kern->gemm(rows, keys, dv, 1.0f, ab, dv, vt, BLOCK, mm, BLOCK, 0);
            for (size_t r = 0; r < rows; r++) {
                float *mr = mm + r * BLOCK;
                for (size_t j = 0; j < keys; j++) mr[j] = j <= r ? mr[j] + bb[r] : 0.0f;
            }
            kern->gemm(rows, dim, keys, 1.0f, mm, BLOCK, Fb, dim, dPb, dim, 1);
            /* advance S, S^T, z past the block's keys */
            kern->gemm(dim, dv, keys, 1.0f, ft, CHUNK, Vb, dv, S, dv, 1);
            kern->gemm(dv, dim, keys, 1.0f, vt, BLOCK, Fb, dim, St, dim, 1);
            for (size_t j = 0; j < keys; j++) kern->axpy(dim, 1.0f, Fb + j * dim, z);
        }
    }

    /* Backward sweep: dF, dV from the suffix sums dS, dz. Keys no query sees
     * (j >= n when m > n) keep gradient 0. */
    memset(dS, 0, dim * dv * sizeof *dS);
    memset(dSt, 0, dv * dim * sizeof *dSt);
    memset(dz, 0, dim * sizeof *dz);
    size_t seen = attn__min(n, m);
    memset(dF + seen * dim, 0, (m - seen) * dim * sizeof *dF);
    memset(dv_out + seen * dv, 0, (m - seen) * dv * sizeof *dv_out);
    for (size_t i0 = (n - 1) / BLOCK * BLOCK;; i0 -= BLOCK) {  /* the last block first */
        size_t rows = attn__min(BLOCK, n - i0);
        size_t keys = i0 < m ? attn__min(rows, m - i0) : 0;
        const float *Pb = P + i0 * dim, *Fb = F + i0 * dim, *Vb = v + i0 * dv;
        const float *ab = a + i0 * dv, *bb = b + i0;
        transpose(Pb, dim, rows, dim, qt, BLOCK);
        transpose(ab, dv, rows, dv, at, BLOCK);
        if (keys > 0) {
            float *dFb = dF + i0 * dim, *dVb = dv_out + i0 * dv;
            /* dF_b = V_b dS^T + 1 dz^T + M^T P_b */
            kern->gemm(keys, dim, dv, 1.0f, Vb, dv, dSt, dim, dFb, dim, 0);
            add_scaled(kern, keys, dim, NULL, dz, dFb);
            kern->gemm(keys, rows, dv, 1.0f, Vb, dv, at, BLOCK, mm, BLOCK, 0);  /* M^T */
            for (size_t j = 0; j < keys; j++) {
                float *mj = mm + j * BLOCK;
                for (size_t r = 0; r < rows; r++) mj[r] = r >= j ? mj[r] + bb[r] : 0.0f;
            }
            kern->gemm(keys, dim, rows, 1.0f, mm, BLOCK, Pb, dim, dFb, dim, 1);
            /* dV_b = F_b dS + A^T a_b */
            kern->gemm(keys, dv, dim, 1.0f, Fb, dim, dS, dv, dVb, dv, 0);
            kern->gemm(keys, rows, dim, 1.0f, Fb, dim, qt, BLOCK, pm, BLOCK, 0);  /* A^T */
            for (size_t j = 0; j < keys; j++) {
                float *pj = pm + j * BLOCK;
                for (size_t r = 0; r < j && r < rows; r++) pj[r] = 0.0f;
            }
            kern->gemm(keys, dv, rows, 1.0f, pm, BLOCK, ab, dv, dVb, dv, 1);
        }
        /* advance dS, dS^T, dz past the block's queries */
        kern->gemm(dim, dv, rows, 1.0f, qt, BLOCK, ab, dv, dS, dv, 1);
        kern->gemm(dv, dim, rows, 1.0f, at, BLOCK, Pb, dim, dSt, dim, 1);
        for (size_t r = 0; r < rows; r++) kern->axpy(dim, bb[r], Pb + r * dim, dz);
        if (i0 == 0) break;
    }
}

attn_status attn_linear_attention_backward(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                           size_t dv,
                                           const float *q,     // [n, d]
                                           const float *k,     // [m, d]
                                           const float *v,     // [m, dv]
                                           int causal, float eps,
                                           const float *dout,  // [n, dv]
                                           float *dq,          // [n, d]
                                           float *dk,          // [m, d]
                                           float *dv_out,      // [m, dv]
                                           float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    if (!q || !k || !v || !dout || !dq || !dk || !dv_out) return ATTN_ERR_NULL;
    if (n == 0 || m == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    if (!(eps >= 0 && eps < INFINITY)) return ATTN_ERR_RANGE;
    attn_status st = attn_feature_spec_check(spec, ATTN_USE_LINEAR, d, NULL);
    if (st != ATTN_OK) return st;
    if ((st = attn__matrix_fits(n, d)) || (st = attn__matrix_fits(m, d)) || (st = attn__matrix_fits(m, dv)) ||
        (st = attn__matrix_fits(n, dv)))
        return st;
    lb_layout L;
    if ((st = lb_plan(spec, n, m, d, dv, &L)) != ATTN_OK) return st;
    if (causal && spec->feature == ATTN_FEATURE_EFFICIENT) return ATTN_ERR_RANGE;  /* reads the future */
    if (!work || work_floats < L.total) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(q, n * d) || !attn__all_finite(k, m * d) || !attn__all_finite(v, m * dv) ||
        !attn__all_finite(dout, n * dv))
        return ATTN_ERR_NONFINITE;

    float *fwork = work + L.fwork;
    st = attn_feature_map(spec, ATTN_ROLE_QUERY, n, d, q, work + L.fq, fwork, L.fwork_floats);
    if (st == ATTN_OK) st = attn_feature_map(spec, ATTN_ROLE_KEY, m, d, k, work + L.fk, fwork, L.fwork_floats);
    if (st != ATTN_OK) return st;

    const attn__kernels *kern = attn__kernels_get();
    if (causal) causal_sweeps(kern, &L, n, m, dv, v, eps, dout, dv_out, work);
    else noncausal(kern, &L, n, m, dv, v, eps, dout, dv_out, work);
    if (!attn__all_finite(work + L.gq, n * L.dim) || !attn__all_finite(work + L.gk, m * L.dim) ||
        !attn__all_finite(dv_out, m * dv))
        return ATTN_ERR_OVERFLOW;

    st = attn_feature_map_backward(spec, ATTN_ROLE_QUERY, n, d, q, work + L.gq, dq, fwork, L.fwork_floats);
    if (st == ATTN_OK)
        st = attn_feature_map_backward(spec, ATTN_ROLE_KEY, m, d, k, work + L.gk, dk, fwork, L.fwork_floats);
    return st;
}
