/*
 * fastweight.c - fast weight memory: a matrix W written one outer product
 * per step (sum rule), or only with the difference between the value and
 * what the key already retrieves (delta rule), optionally decayed first
 * (gated delta rule); and the capacity experiment of Schlag, Irie &
 * Schmidhuber (2021), where the sum rule fails once more pairs are stored
 * than the feature dimension allows orthogonal keys.
 *
 *   sum          W_t = W_{t-1} + v_t phi_t^T                     phi_t = phi(k_t)
 *   delta        W_t = W_{t-1} + beta_t (v_t - W_{t-1} phi_t) phi_t^T
 *   gated delta  the delta step from alpha_t W_{t-1}
 *   read         y_t = W_t phi(q_t);  errors[t, s] = |v_s - W_t phi_s|^2 / 2
 *   capacity     mean over s, trials of |e_s - W_S phi(k_s)|^2 / 2, v_s = e_s
 *
 * The delta rule contracts the error along phi_t by 1 - beta_t |phi_t|^2: it
 * diverges when that exceeds 1 in size, and the results are then refused
 * (ATTN_ERR_OVERFLOW) instead of returned as NaN.
 */
#include "internal.h"

#include <math.h>

/* ------------------------------------------------------------- the memory */

typedef struct fw_layout {
    size_t dim, fk, fq, fwork, fwork_floats, fkt, r, vbar, total;
} fw_layout;

static attn_status fw_plan(const attn_feature_spec *spec, size_t T, size_t d, size_t dv, fw_layout *L) {
    attn_status st = attn_feature_dim(spec, d, &L->dim);
    if (st != ATTN_OK) return st;
    if ((st = attn_feature_map_workspace(spec, d, &L->fwork_floats)) != ATTN_OK) return st;
    attn__layout W = ATTN__LAYOUT_INIT;
    L->fk = attn__layout_add(&W, T, L->dim);              // [T, dim] phi(K)
    L->fq = attn__layout_add(&W, T, L->dim);              // [T, dim] phi(Q)
    L->fwork = attn__layout_add(&W, 1, L->fwork_floats);  // the feature map's workspace
    L->fkt = attn__layout_add(&W, L->dim, T);             // [dim, T] phi(K)^T
    L->r = attn__layout_add(&W, dv, T);                   // [dv, T] W phi(K)^T
    L->vbar = attn__layout_add(&W, 1, dv);                // [dv] vbar
    return attn__layout_end(&W, &L->total);
}

attn_status attn_fast_weights_workspace(const attn_feature_spec *spec, size_t T, size_t d, size_t dv,
                                        size_t *floats) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_FAST_WEIGHTS);
    if (!spec || !floats) return ATTN_ERR_NULL;
    fw_layout L;
    attn_status st = fw_plan(spec, T, d, dv, &L);
    if (st == ATTN_OK) *floats = L.total;
    return st;
}

/* 1 if every entry of x (or the scalar, when x is NULL) lies in [0, 1]. */
static int unit_interval(const float *x, size_t count, float scalar) {
    if (!x) return scalar >= 0.0f && scalar <= 1.0f;
    for (size_t t = 0; t < count; t++)
        if (!(x[t] >= 0.0f && x[t] <= 1.0f)) return 0;
    return 1;
}

/* One write of the rule (declared in internal.h; the backward replays it). */
void attn__fw_write(const attn__kernels *kern, int rule, size_t dv, size_t dim,
                    float *W,         // [dv, dim]
                    const float *phi, // [dim]
                    const float *v,   // [dv]
                    float beta, float alpha,
                    float *vbar) {    // [dv]
    if (rule == ATTN_RULE_SUM) {
        for (size_t r = 0; r < dv; r++) kern->axpy(dim, v[r], phi, W + r * dim);
        return;
    }
    if (rule == ATTN_RULE_GATED_DELTA && alpha != 1.0f) kern->scale(W, dv * dim, alpha);
    for (size_t r = 0; r < dv; r++) vbar[r] = kern->dot(W + r * dim, phi, dim);
    for (size_t r = 0; r < dv; r++) kern->axpy(dim, beta * (v[r] - vbar[r]), phi, W + r * dim);
}

attn_status attn_fast_weights(const attn_feature_spec *spec, int rule, size_t T, size_t d, size_t dv,
                              const float *keys,     // [T, d]
                              const float *values,   // [T, dv]
                              const float *queries,  // [T, d] or NULL
                              const float *beta,     // [T] or NULL
                              float beta_scalar,
                              const float *alpha,    // [T] or NULL
                              float alpha_scalar,
                              float *outputs,        // [T, dv]
                              float *final,          // [dv, dim]
                              float *states,         // [T, dv, dim] or NULL
                              float *errors,         // [T, T] or NULL
                              float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_FAST_WEIGHTS);
    if (!spec || !keys || !values || !outputs || !final) return ATTN_ERR_NULL;
    if (T == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    if (rule < ATTN_RULE_SUM || rule > ATTN_RULE_GATED_DELTA) return ATTN_ERR_KIND;
    fw_layout L;
    attn_status st = fw_plan(spec, T, d, dv, &L);
    if (st != ATTN_OK) return st;
    if (spec->feature == ATTN_FEATURE_EFFICIENT) return ATTN_ERR_RANGE;  /* its keys see the future */
    size_t cells;
    if ((st = attn__matrix_fits(T, d)) || (st = attn__matrix_fits(T, dv)) || (st = attn__matrix_fits(dv, L.dim)) ||
        (errors && (st = attn__matrix_fits(T, T))))
        return st;
    if (states && (!attn__mul(T, dv, &cells) || attn__matrix_fits(cells, L.dim) != ATTN_OK)) return ATTN_ERR_MEMORY;
    if (!work || work_floats < L.total) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(values, T * dv) || (beta && !attn__all_finite(beta, T)) ||
        (alpha && !attn__all_finite(alpha, T)) || !attn__all_finite(keys, T * d) ||
        (queries && !attn__all_finite(queries, T * d)))  /* all inputs before any map can overflow */
        return ATTN_ERR_NONFINITE;
    if (!unit_interval(beta, T, beta_scalar) || !unit_interval(alpha, T, alpha_scalar)) return ATTN_ERR_RANGE;

    const size_t dim = L.dim;
    float *fk = work + L.fk, *fq = work + L.fq, *fkt = work + L.fkt, *R = work + L.r, *vbar = work + L.vbar;
    st = attn_feature_map(spec, ATTN_ROLE_KEY, T, d, keys, fk, work + L.fwork, L.fwork_floats);
    if (st == ATTN_OK)
        st = attn_feature_map(spec, ATTN_ROLE_QUERY, T, d, queries ? queries : keys, fq, work + L.fwork,
                              L.fwork_floats);
    if (st != ATTN_OK) return st;
    if (errors)
        for (size_t s = 0; s < T; s++)
            for (size_t f = 0; f < dim; f++) fkt[f * T + s] = fk[s * dim + f];

    const attn__kernels *kern = attn__kernels_get();
    float *W = final;
    memset(W, 0, dv * dim * sizeof *W);
    for (size_t t = 0; t < T; t++) {
        attn__fw_write(kern, rule, dv, dim, W, fk + t * dim, values + t * dv, beta ? beta[t] : beta_scalar,
                   alpha ? alpha[t] : alpha_scalar, vbar);
        for (size_t r = 0; r < dv; r++) outputs[t * dv + r] = kern->dot(W + r * dim, fq + t * dim, dim);
        if (states) memcpy(states + t * dv * dim, W, dv * dim * sizeof *W);
        if (errors) {  /* R = W_t phi(K_{0..t})^T, then 1/2 |v_s - R[:, s]|^2 */
            kern->gemm(dv, t + 1, dim, 1.0f, W, dim, fkt, T, R, T, 0);
            float *row = errors + t * T;
            for (size_t s = 0; s < T; s++) {
                double e = 0;
                if (s <= t)
                    for (size_t r = 0; r < dv; r++) {
                        double diff = (double)values[s * dv + r] - R[r * T + s];
                        e += diff * diff;
                    }
                row[s] = (float)(0.5 * e);
            }
        }
    }
    /* A diverging rule (the delta rule with beta |phi|^2 > 2) or sums beyond
     * float32 end here as an error, not as NaN. */
    size_t cells_states = states ? T * dv * dim : 0;
    if (!attn__all_finite(outputs, T * dv) || !attn__all_finite(W, dv * dim) ||
        (states && !attn__all_finite(states, cells_states)) || (errors && !attn__all_finite(errors, T * T)))
        return ATTN_ERR_OVERFLOW;
    return ATTN_OK;
}

/* --------------------------------------------------------------- capacity */

typedef struct cap_layout {
    size_t dim, keys, fk, fq, fqt, w, y, vbar, fwork, fwork_floats, total;
} cap_layout;

static attn_status cap_plan(const attn_feature_spec *spec, size_t dkey, size_t S, cap_layout *L) {
    attn_status st = attn_feature_dim(spec, dkey, &L->dim);
    if (st != ATTN_OK) return st;
    if ((st = attn_feature_map_workspace(spec, dkey, &L->fwork_floats)) != ATTN_OK) return st;
    attn__layout W = ATTN__LAYOUT_INIT;
    L->keys = attn__layout_add(&W, S, dkey);              // [S, dkey] keys
    L->fk = attn__layout_add(&W, S, L->dim);              // [S, dim] phi(K)
    L->fq = attn__layout_add(&W, S, L->dim);              // [S, dim] phi(Q)
    L->fqt = attn__layout_add(&W, L->dim, S);             // [dim, S] phi(Q)^T
    L->w = attn__layout_add(&W, S, L->dim);               // [S, dim] W
    L->y = attn__layout_add(&W, S, S);                    // [S, S] Y
    L->vbar = attn__layout_add(&W, 1, S);                 // [S] vbar
    L->fwork = attn__layout_add(&W, 1, L->fwork_floats);  // the feature map's workspace
    return attn__layout_end(&W, &L->total);
}

attn_status attn_capacity_workspace(const attn_feature_spec *spec, size_t dkey, size_t size,
                                    size_t *floats) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_CAPACITY);
    if (!spec || !floats) return ATTN_ERR_NULL;
    cap_layout L;
    attn_status st = cap_plan(spec, dkey, size, &L);
    if (st == ATTN_OK) *floats = L.total;
    return st;
}

attn_status attn_capacity(const attn_feature_spec *spec, int rule, size_t dkey, size_t size,
                          float beta, size_t trials, uint64_t seed, double *error,
                          float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_CAPACITY);
    if (!spec || !error) return ATTN_ERR_NULL;
    if (dkey == 0 || size == 0 || trials == 0) return ATTN_ERR_SHAPE;
    if (rule < ATTN_RULE_SUM || rule > ATTN_RULE_GATED_DELTA) return ATTN_ERR_KIND;
    if (!(beta >= 0.0f && beta <= 1.0f)) return ATTN_ERR_RANGE;
    cap_layout L;
    attn_status st = cap_plan(spec, dkey, size, &L);
    if (st != ATTN_OK) return st;
    if (spec->feature == ATTN_FEATURE_EFFICIENT) return ATTN_ERR_RANGE;  /* as in attn_fast_weights */
    if (!work || work_floats < L.total) return ATTN_ERR_WORKSPACE;

    const attn__kernels *kern = attn__kernels_get();
    const size_t S = size, dim = L.dim;
    float *keys = work + L.keys, *fk = work + L.fk, *fq = work + L.fq, *fqt = work + L.fqt;
    float *W = work + L.w, *Y = work + L.y, *vbar = work + L.vbar;
    double total = 0;
    for (size_t trial = 0; trial < trials; trial++) {
        attn_rng rng;
        attn_rng_seed(&rng, seed + trial);
        attn_randn(&rng, S * dkey, keys);
        if ((st = attn_feature_map(spec, ATTN_ROLE_KEY, S, dkey, keys, fk, work + L.fwork, L.fwork_floats)) ||
            (st = attn_feature_map(spec, ATTN_ROLE_QUERY, S, dkey, keys, fq, work + L.fwork, L.fwork_floats)))
            return st;
        /* Write: the value of pair s is e_s, so a write touches row s of W
         * only (sum rule) or every row by its error (delta rule). */
        memset(W, 0, S * dim * sizeof *W);
        for (size_t s = 0; s < S; s++) {
            const float *phi = fk + s * dim;
            if (rule == ATTN_RULE_SUM) {
                kern->axpy(dim, 1.0f, phi, W + s * dim);
                continue;
            }
            for (size_t r = 0; r < S; r++) vbar[r] = kern->dot(W + r * dim, phi, dim);
            for (size_t r = 0; r < S; r++) {
                float err = (r == s ? 1.0f : 0.0f) - vbar[r];
                if (err != 0.0f) kern->axpy(dim, beta * err, phi, W + r * dim);
            }
        }
        /* Read every key: Y[:, s] = W phi(q_s), then 1/2 |e_s - Y[:, s]|^2. */
        for (size_t s = 0; s < S; s++)
            for (size_t f = 0; f < dim; f++) fqt[f * S + s] = fq[s * dim + f];
        kern->gemm(S, S, dim, 1.0f, W, dim, fqt, S, Y, S, 0);
        double e = 0;
        for (size_t r = 0; r < S; r++)
            for (size_t s = 0; s < S; s++) {
                double diff = (r == s ? 1.0 : 0.0) - Y[r * S + s];
                e += diff * diff;
            }
        total += 0.5 * e / (double)S;
    }
    if (!isfinite(total)) return ATTN_ERR_OVERFLOW;  /* e.g. FAVOR+ without stabilize */
    *error = total / (double)trials;
    return ATTN_OK;
}
