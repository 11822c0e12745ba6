/*
 * features_backward.c - reverse mode of the feature maps (features.c): given
 * g = dL/dphi for the rows of phi(x), dx = (dphi/dx)^T g. Notation as in
 * features.c; r = the map before normalisation, g the gradient reaching r.
 *
 *   normalize sum   phi = r / s, s = sum_f r_f:  g_f = (dphi_f - dphi.phi) / s
 *   normalize l2    phi = r / |r|:               g_f = (dphi_f - phi_f (dphi.phi)) / |r|
 *                   (s or |r| = 0: the row is 0 and so is its gradient)
 *   identity        dx = g
 *   elu+1           dx = g (x > 0 ? 1 : exp(x))      (exp(x) = r there)
 *   relu            dx = g (x > 0)
 *   taylor          r = [1, c x], c = 1 / (|x| + 1e-6):
 *                   dx = c g' - c^2 (g'.x) x / |x|   (g' = g without its first entry;
 *                   the second term is 0 at x = 0)
 *   efficient       query (softmax over features): dx = r (g - g.r)
 *                   key (softmax over positions, per column l):
 *                   dx_il = r_il (g_il - sum_i' g_i'l r_i'l)
 *   favor+          r_f = c exp(u_f - h - C), u = Omega x', x' = x d^-1/4, h = |x'|^2 / 2:
 *                   dx = d^-1/4 Omega^T (g . r) - d^-1/2 (g.r) x
 *   favor-hyp       r = c [exp(u - h - C), exp(-u - h - C)] (halves r+, r-):
 *                   dx = d^-1/4 Omega^T (g+ . r+ - g- . r-) - d^-1/2 (g.r) x
 *   favor-trig      r = c exp(h - C) [sin u, cos u] (halves r_s, r_c):
 *                   dx = d^-1/4 Omega^T (g_s . r_c - g_c . r_s) + d^-1/2 (g.r) x
 *   dpfp            r_{(j-1) 2d + p} = a_p a_{(p-j) mod 2d}, a = [relu(x), relu(-x)]:
 *                   da_p += g r-entry's partner, then dx_l = da_l (x_l > 0) - da_{l+d} (x_l < 0)
 *
 * (g . r: elementwise product; g.r: dot product.) C is the stabilizer of the
 * forward (a query row's max, the keys' global max; favor-trig: h itself or
 * max h), held constant (stop-gradient): r already carries exp(-C), so the
 * formulas need only r. Omega is a constant. One pass recomputes r with
 * attn_feature_map (normalize none) into the workspace.
 */
#include "internal.h"

#include <math.h>

static int is_performer(int feature) {
    return feature == ATTN_FEATURE_FAVOR_POS || feature == ATTN_FEATURE_FAVOR_TRIG ||
           feature == ATTN_FEATURE_FAVOR_HYP;
}

/* Workspace: r, the gradient reaching r, per-row dots, dpfp's da, and the
 * forward map's own workspace. */
typedef struct fb_plan {
    size_t dim, r, g, dot, da, fwork, fwork_floats, total;
} fb_plan;

static attn_status plan_fb(const attn_feature_spec *spec, size_t n, size_t d, fb_plan *P) {
    attn_status st = attn_feature_dim(spec, d, &P->dim);
    if (st != ATTN_OK) return st;
    if ((st = attn_feature_map_workspace(spec, d, &P->fwork_floats)) != ATTN_OK) return st;
    attn__layout L = ATTN__LAYOUT_INIT;
    P->r = attn__layout_add(&L, n, P->dim);                                      // [n, dim] r
    P->g = attn__layout_add(&L, n, P->dim);                                      // [n, dim] dL/dr
    P->dot = attn__layout_add(&L, 1, n);                                         // [n] g.r per row
    P->da = attn__layout_add(&L, spec->feature == ATTN_FEATURE_DPFP ? 2 : 0, d);  // [2d] dpfp da
    P->fwork = attn__layout_add(&L, 1, P->fwork_floats);                         // the map's workspace
    return attn__layout_end(&L, &P->total);
}

attn_status attn_feature_map_backward_workspace(const attn_feature_spec *spec, size_t n, size_t d,
                                                size_t *floats) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    if (!floats) return ATTN_ERR_NULL;
    fb_plan P;
    attn_status st = plan_fb(spec, n, d, &P);
    if (st == ATTN_OK) *floats = P.total;
    return st;
}

/* The Performer maps: dx from r and g (rows of width dim; Omega [m, d]). */
static void performer_backward(const attn_feature_spec *spec, size_t n, size_t d, size_t dim, const float *x,  // [n, d]
                               float *r,        // [n, dim] in: r; out: its first m columns hold w
                               const float *g,  // [n, dim]
                               float *dot,      // [n]
                               float *dx) {     // [n, d]
    const size_t m = spec->m;
    const int feature = spec->feature;
    const double s = pow((double)d, -0.25);
    for (size_t i = 0; i < n; i++) {
        float *ri = r + i * dim;
        const float *gi = g + i * dim;
        double t = 0;
        for (size_t f = 0; f < dim; f++) t += (double)gi[f] * ri[f];
        dot[i] = (float)t;
        /* w_f, written over r_f (each r_f and r_{m+f} is read before r_f is written) */
        for (size_t f = 0; f < m; f++) {
            float w;
            if (feature == ATTN_FEATURE_FAVOR_POS) w = gi[f] * ri[f];
            else if (feature == ATTN_FEATURE_FAVOR_HYP) w = gi[f] * ri[f] - gi[m + f] * ri[m + f];
            else w = gi[f] * ri[m + f] - gi[m + f] * ri[f];
            ri[f] = w;
        }
    }
    /* dx = s W Omega (W the first m columns of r) */
    attn__kernels_get()->gemm(n, d, m, (float)s, r, dim, spec->projection, d, dx, d, 0);
    const double sign = feature == ATTN_FEATURE_FAVOR_TRIG ? 1.0 : -1.0;
    for (size_t i = 0; i < n; i++) {
        float a = (float)(sign * s * s * dot[i]);
        attn__kernels_get()->axpy(d, a, x + i * d, dx + i * d);
    }
}

attn_status attn_feature_map_backward(const attn_feature_spec *spec, int role, size_t n, size_t d,
                                      const float *x,     // [n, d]
                                      const float *dphi,  // [n, dim]
                                      float *dx,          // [n, d]
                                      float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    attn_status st = attn_feature_spec_check(spec, ATTN_USE_LINEAR, d, NULL);
    if (st != ATTN_OK) return st;
    if (!x || !dphi || !dx) return ATTN_ERR_NULL;
    if (n == 0) return ATTN_ERR_SHAPE;
    if (role != ATTN_ROLE_QUERY && role != ATTN_ROLE_KEY) return ATTN_ERR_KIND;
    fb_plan P;
    if ((st = plan_fb(spec, n, d, &P)) != ATTN_OK) return st;
    const size_t dim = P.dim;
    if ((st = attn__matrix_fits(n, d)) || (st = attn__matrix_fits(n, dim))) return st;
    if (!work || work_floats < P.total) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(x, n * d) || !attn__all_finite(dphi, n * dim)) return ATTN_ERR_NONFINITE;

    float *r = work + P.r, *g = work + P.g;
    attn_feature_spec raw = *spec;
    raw.normalize = ATTN_NORMALIZE_NONE;
    st = attn_feature_map(&raw, role, n, d, x, r, work + P.fwork, P.fwork_floats);
    if (st != ATTN_OK) return st;

    /* the normalisation: dL/dphi -> dL/dr */
    if (spec->normalize == ATTN_NORMALIZE_NONE) {
        memcpy(g, dphi, n * dim * sizeof *g);
    } else {
        for (size_t i = 0; i < n; i++) {
            const float *ri = r + i * dim, *di = dphi + i * dim;
            float *gi = g + i * dim;
            double sum = 0;
            if (spec->normalize == ATTN_NORMALIZE_SUM)
                for (size_t f = 0; f < dim; f++) sum += ri[f];
            else
                for (size_t f = 0; f < dim; f++) sum += (double)ri[f] * ri[f];
            if (spec->normalize == ATTN_NORMALIZE_L2) sum = sqrt(sum);
            if (sum == 0) {  /* the forward's row is 0: so is its gradient */
                memset(gi, 0, dim * sizeof *gi);
                continue;
            }
            double c = 0;  /* dphi.phi */
            for (size_t f = 0; f < dim; f++) c += (double)di[f] * (ri[f] / sum);
            for (size_t f = 0; f < dim; f++)
                gi[f] = (float)(spec->normalize == ATTN_NORMALIZE_SUM ? (di[f] - c) / sum
                                                                      : (di[f] - ri[f] / sum * c) / sum);
        }
    }

    switch (spec->feature) {
    case ATTN_FEATURE_IDENTITY: memcpy(dx, g, n * d * sizeof *dx); break;
    case ATTN_FEATURE_ELU1:
        for (size_t i = 0; i < n * d; i++) dx[i] = x[i] > 0 ? g[i] : g[i] * r[i];
        break;
    case ATTN_FEATURE_RELU:
        for (size_t i = 0; i < n * d; i++) dx[i] = x[i] > 0 ? g[i] : 0.0f;
        break;
    case ATTN_FEATURE_TAYLOR:
        for (size_t i = 0; i < n; i++) {
            const float *xi = x + i * d, *gi = g + i * dim + 1;
            double norm = 0, gx = 0;
            for (size_t l = 0; l < d; l++) {
                norm += (double)xi[l] * xi[l];
                gx += (double)gi[l] * xi[l];
            }
            norm = sqrt(norm);
            double c = 1.0 / (norm + 1e-6);
            double b = norm > 0 ? c * c * gx / norm : 0.0;
            for (size_t l = 0; l < d; l++) dx[i * d + l] = (float)(c * gi[l] - b * xi[l]);
        }
        break;
    case ATTN_FEATURE_EFFICIENT:
        if (role == ATTN_ROLE_QUERY) {
            for (size_t i = 0; i < n; i++) {
                const float *ri = r + i * d, *gi = g + i * d;
                double c = 0;
                for (size_t l = 0; l < d; l++) c += (double)gi[l] * ri[l];
                for (size_t l = 0; l < d; l++) dx[i * d + l] = (float)(ri[l] * (gi[l] - c));
            }
        } else {
            for (size_t l = 0; l < d; l++) {
                double c = 0;
                for (size_t i = 0; i < n; i++) c += (double)g[i * d + l] * r[i * d + l];
                for (size_t i = 0; i < n; i++) dx[i * d + l] = (float)(r[i * d + l] * (g[i * d + l] - c));
            }
        }
        break;
    case ATTN_FEATURE_DPFP: {
        float *da = work + P.da;  // [2d]
        const size_t two_d = 2 * d;
        for (size_t i = 0; i < n; i++) {
            const float *xi = x + i * d, *gi = g + i * dim;
#define DPFP_A(p) ((p) < d ? attn__maxf(xi[p], 0.0f) : attn__maxf(-xi[(p) - d], 0.0f))
            memset(da, 0, two_d * sizeof *da);
            for (size_t j = 1; j <= spec->nu; j++)
                for (size_t p = 0; p < two_d; p++) {
                    size_t q = (p + two_d - j) % two_d;
                    float gf = gi[(j - 1) * two_d + p];
                    da[p] += gf * DPFP_A(q);
                    da[q] += gf * DPFP_A(p);
                }
#undef DPFP_A
            for (size_t l = 0; l < d; l++)
                dx[i * d + l] = xi[l] > 0 ? da[l] : xi[l] < 0 ? -da[d + l] : 0.0f;
        }
        break;
    }
    default:
        if (!is_performer(spec->feature)) return ATTN_ERR_KIND;  /* unreachable: checked above */
        performer_backward(spec, n, d, dim, x, r, g, work + P.dot, dx);
        break;
    }
    return attn__all_finite(dx, n * d) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}
