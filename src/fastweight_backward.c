/*
 * fastweight_backward.c - reverse mode of the fast weight memory
 * (fastweight.c). Per step t, with phi = phi(k_t) (role key), psi = phi(q_t)
 * (role query), W' = alpha_t W_{t-1} (gated delta; W_{t-1} otherwise):
 *
 *   sum          W_t = W_{t-1} + v_t phi^T
 *   delta        e = v_t - W' phi;  W_t = W' + beta_t e phi^T
 *   read         y_t = W_t psi
 *
 * Going backwards with D = dL/dW_t (0 after the last step) and G_t = dL/dy_t:
 *
 *   D += G_t psi^T;  dpsi = W_t^T G_t;  u = D phi
 *   sum:    dv_t = u,  dphi = D^T v_t,                     D_{t-1} = D
 *   delta:  dbeta_t = e.u,  de = beta_t u,  dv_t = de,
 *           dphi = beta_t D^T e - W'^T de,  dW' = D - de phi^T,
 *           gated: dalpha_t = <dW', W_{t-1}>,  D_{t-1} = alpha_t dW'
 *
 * then dk, dq through the feature maps' backward (features_backward.c). The
 * backward sweep needs W_{t-1} and W_t at every step. The delta rule's
 * W_{t-1} cannot be recovered from W_t (I - beta phi phi^T is singular when
 * beta |phi|^2 = 1, as with L2 keys and beta = 1), so instead of undoing
 * the writes the forward is run twice: first keeping a checkpoint of W every
 * C = ceil(sqrt(T)) steps, then, segment by segment from the last, again
 * from the segment's checkpoint, keeping its C states for the sweep back.
 * Memory O(sqrt(T) dv dim) beside the features, time twice the forward's
 * writes; never T states.
 */
#include "internal.h"

#include <math.h>

typedef struct fb_layout {
    size_t dim, C, segments, fk, fq, gk, gq, dq, cp, seg, dw, dwp, u, e, fwork, fwork_floats, total;
} fb_layout;

static attn_status fwb_plan(const attn_feature_spec *spec, size_t T, size_t d, size_t dv, fb_layout *L) {
    attn_status st = attn_feature_dim(spec, d, &L->dim);
    if (st != ATTN_OK) return st;
    size_t f0, f1;
    if ((st = attn_feature_map_workspace(spec, d, &f0)) != ATTN_OK ||
        (st = attn_feature_map_backward_workspace(spec, T, d, &f1)) != ATTN_OK)
        return st;
    L->fwork_floats = attn__maxsz(f0, f1);
    L->C = (size_t)ceil(sqrt((double)T));
    if (L->C == 0) L->C = 1;
    L->segments = T / L->C + (T % L->C != 0);
    size_t cells;
    if (!attn__mul(dv, L->dim, &cells)) return ATTN_ERR_MEMORY;
    attn__layout W = ATTN__LAYOUT_INIT;
    L->fk = attn__layout_add(&W, T, L->dim);              // [T, dim] phi(K)
    L->fq = attn__layout_add(&W, T, L->dim);              // [T, dim] phi(Q)
    L->gk = attn__layout_add(&W, T, L->dim);              // [T, dim] dL/dphi(K)
    L->gq = attn__layout_add(&W, T, L->dim);              // [T, dim] dL/dphi(Q)
    L->dq = attn__layout_add(&W, T, d);                   // [T, d] the queries' part of dkeys (queries NULL)
    L->cp = attn__layout_add(&W, L->segments, cells);     // [segments, dv, dim] W before each segment
    L->seg = attn__layout_add(&W, L->C, cells);           // [C, dv, dim] a segment's states
    L->dw = attn__layout_add(&W, 1, cells);               // [dv, dim] D
    L->dwp = attn__layout_add(&W, 1, cells);              // [dv, dim] W' or dW'
    L->u = attn__layout_add(&W, 1, dv);                   // [dv] u (and vbar)
    L->e = attn__layout_add(&W, 1, dv);                   // [dv] e
    L->fwork = attn__layout_add(&W, 1, L->fwork_floats);  // the feature maps' workspace
    return attn__layout_end(&W, &L->total);
}

attn_status attn_fast_weights_backward_workspace(const attn_feature_spec *spec, size_t T, size_t d, size_t dv,
                                                 size_t *floats) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_FAST_WEIGHTS);
    if (!floats) return ATTN_ERR_NULL;
    fb_layout L;
    attn_status st = fwb_plan(spec, T, d, dv, &L);
    if (st == ATTN_OK) *floats = L.total;
    return st;
}

static int unit_interval(const float *x, size_t count, float scalar) {
    if (!x) return scalar >= 0.0f && scalar <= 1.0f;
    for (size_t t = 0; t < count; t++)
        if (!(x[t] >= 0.0f && x[t] <= 1.0f)) return 0;
    return 1;
}

attn_status attn_fast_weights_backward(const attn_feature_spec *spec, int rule, size_t T, size_t d, size_t dv,
                                       const float *keys,      // [T, d]
                                       const float *values,    // [T, dv]
                                       const float *queries,   // [T, d] or NULL (the keys)
                                       const float *beta,      // [T] or NULL
                                       float beta_scalar,
                                       const float *alpha,     // [T] or NULL
                                       float alpha_scalar,
                                       const float *doutputs,  // [T, dv]
                                       float *dkeys,           // [T, d] output
                                       float *dvalues,         // [T, dv] output
                                       float *dqueries,        // [T, d] output, or NULL when queries is NULL
                                       float *dbeta,           // [T] output or NULL
                                       float *dalpha,          // [T] output or NULL
                                       float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_FAST_WEIGHTS);
    if (!keys || !values || !doutputs || !dkeys || !dvalues || (queries && !dqueries)) return ATTN_ERR_NULL;
    if (T == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    if (rule < ATTN_RULE_SUM || rule > ATTN_RULE_GATED_DELTA) return ATTN_ERR_KIND;
    attn_status st = attn_feature_spec_check(spec, ATTN_USE_FAST_WEIGHTS, d, NULL);
    if (st != ATTN_OK) return st;
    if (spec->feature == ATTN_FEATURE_EFFICIENT) return ATTN_ERR_RANGE;  /* its keys see the future */
    if ((st = attn__matrix_fits(T, d)) || (st = attn__matrix_fits(T, dv))) return st;
    fb_layout L;
    if ((st = fwb_plan(spec, T, d, dv, &L)) != ATTN_OK) return st;
    if (!work || work_floats < L.total) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(values, T * dv) || (beta && !attn__all_finite(beta, T)) ||
        (alpha && !attn__all_finite(alpha, T)) || !attn__all_finite(keys, T * d) ||
        (queries && !attn__all_finite(queries, T * d)) || !attn__all_finite(doutputs, T * dv))
        return ATTN_ERR_NONFINITE;
    if (!unit_interval(beta, T, beta_scalar) || !unit_interval(alpha, T, alpha_scalar)) return ATTN_ERR_RANGE;

    const attn__kernels *kern = attn__kernels_get();
    const size_t dim = L.dim, cells = dv * dim, C = L.C;
    float *fk = work + L.fk, *fq = work + L.fq, *gk = work + L.gk, *gq = work + L.gq;
    float *cp = work + L.cp, *seg = work + L.seg, *D = work + L.dw, *Dp = work + L.dwp;
    float *u = work + L.u, *e = work + L.e;
    st = attn_feature_map(spec, ATTN_ROLE_KEY, T, d, keys, fk, work + L.fwork, L.fwork_floats);
    if (st == ATTN_OK)
        st = attn_feature_map(spec, ATTN_ROLE_QUERY, T, d, queries ? queries : keys, fq, work + L.fwork,
                              L.fwork_floats);
    if (st != ATTN_OK) return st;
#define BETA(t) (beta ? beta[t] : beta_scalar)
#define ALPHA(t) (alpha ? alpha[t] : alpha_scalar)

    /* Pass 1: the checkpoints, W before steps 0, C, 2C, ... */
    memset(cp, 0, cells * sizeof *cp);
    for (size_t s = 1; s < L.segments; s++) {
        float *W = cp + s * cells;
        memcpy(W, W - cells, cells * sizeof *W);
        for (size_t t = (s - 1) * C; t < s * C; t++)
            attn__fw_write(kern, rule, dv, dim, W, fk + t * dim, values + t * dv, BETA(t), ALPHA(t), u);
    }
    if (!attn__all_finite(cp, L.segments * cells)) return ATTN_ERR_OVERFLOW;

    /* Pass 2: segment by segment from the last: recompute its states, then sweep back. */
    memset(D, 0, cells * sizeof *D);
    for (size_t s = L.segments; s-- > 0;) {
        const size_t t0 = s * C, t1 = attn__min(T, t0 + C);  /* steps t0 .. t1 - 1 */
        for (size_t t = t0; t < t1; t++) {
            float *W = seg + (t - t0) * cells;
            memcpy(W, t == t0 ? cp + s * cells : W - cells, cells * sizeof *W);
            attn__fw_write(kern, rule, dv, dim, W, fk + t * dim, values + t * dv, BETA(t), ALPHA(t), u);
        }
        if (!attn__all_finite(seg, (t1 - t0) * cells)) return ATTN_ERR_OVERFLOW;
        for (size_t t = t1; t-- > t0;) {
            const float *Wt = seg + (t - t0) * cells, *Wprev = t == t0 ? cp + s * cells : Wt - cells;
            const float *phi = fk + t * dim, *psi = fq + t * dim, *g = doutputs + t * dv, *v = values + t * dv;
            float *dphi = gk + t * dim, *dpsi = gq + t * dim, *dv_t = dvalues + t * dv;
            /* the read: D += g psi^T, dpsi = W_t^T g */
            memset(dpsi, 0, dim * sizeof *dpsi);
            for (size_t r = 0; r < dv; r++) {
                kern->axpy(dim, g[r], psi, D + r * dim);
                kern->axpy(dim, g[r], Wt + r * dim, dpsi);
            }
            for (size_t r = 0; r < dv; r++) u[r] = kern->dot(D + r * dim, phi, dim);
            memset(dphi, 0, dim * sizeof *dphi);
            if (rule == ATTN_RULE_SUM) {
                memcpy(dv_t, u, dv * sizeof *u);
                for (size_t r = 0; r < dv; r++) kern->axpy(dim, v[r], D + r * dim, dphi);
                if (dbeta) dbeta[t] = 0.0f;
                if (dalpha) dalpha[t] = 0.0f;
                continue;
            }
            const float b = BETA(t), a = rule == ATTN_RULE_GATED_DELTA ? ALPHA(t) : 1.0f;
            /* W' = a W_{t-1}, e = v - W' phi (as the forward computed them) */
            memcpy(Dp, Wprev, cells * sizeof *Dp);
            if (a != 1.0f) kern->scale(Dp, cells, a);
            double db = 0;
            for (size_t r = 0; r < dv; r++) {
                e[r] = v[r] - kern->dot(Dp + r * dim, phi, dim);
                db += (double)e[r] * u[r];
            }
            if (dbeta) dbeta[t] = (float)db;
            /* de = b u = dv_t; dphi = b D^T e - W'^T de */
            for (size_t r = 0; r < dv; r++) {
                dv_t[r] = b * u[r];
                kern->axpy(dim, b * e[r], D + r * dim, dphi);
                kern->axpy(dim, -dv_t[r], Dp + r * dim, dphi);
            }
            /* dW' = D - de phi^T; dalpha = <dW', W_{t-1}>; D_{t-1} = a dW' */
            for (size_t r = 0; r < dv; r++) kern->axpy(dim, -dv_t[r], phi, D + r * dim);
            if (dalpha) {
                double da = 0;
                if (rule == ATTN_RULE_GATED_DELTA)
                    for (size_t i = 0; i < cells; i++) da += (double)D[i] * Wprev[i];
                dalpha[t] = (float)da;
            }
            if (a != 1.0f) kern->scale(D, cells, a);
        }
        if (!attn__all_finite(D, cells)) return ATTN_ERR_OVERFLOW;
    }
#undef BETA
#undef ALPHA
    if (!attn__all_finite(gk, T * dim) || !attn__all_finite(gq, T * dim) || !attn__all_finite(dvalues, T * dv) ||
        (dbeta && !attn__all_finite(dbeta, T)) || (dalpha && !attn__all_finite(dalpha, T)))
        return ATTN_ERR_OVERFLOW;

    /* through the maps; the queries' gradient joins the keys' when they are the keys */
    st = attn_feature_map_backward(spec, ATTN_ROLE_KEY, T, d, keys, gk, dkeys, work + L.fwork, L.fwork_floats);
    if (st != ATTN_OK) return st;
    float *dq = queries ? dqueries : work + L.dq;
    st = attn_feature_map_backward(spec, ATTN_ROLE_QUERY, T, d, queries ? queries : keys, gq, dq, work + L.fwork,
                                   L.fwork_floats);
    if (st != ATTN_OK) return st;
    if (!queries) {
        for (size_t i = 0; i < T * d; i++) dkeys[i] += dq[i];
        if (!attn__all_finite(dkeys, T * d)) return ATTN_ERR_OVERFLOW;
    }
    return ATTN_OK;
}
