/*
 * features.c - feature maps phi for kernel (linear) attention, and the
 * Performer's random projections. Definitions: attn.h and docs/mechanisms.md
 * ("Kernel (linear) attention").
 *
 *   elu+1      phi(x) = exp(min(x, 0)) + max(x, 0)
 *   relu       phi(x) = max(x, 0) + kernel_eps
 *   taylor     phi(x) = [1, x / (|x| + 1e-6)]
 *   efficient  query: softmax_l(x_l);  key: softmax over positions, per column
 *   favor+     phi(x) = m^-1/2 exp(Omega x' - |x'|^2 / 2),  x' = x d^-1/4
 *   favor-trig phi(x) = m^-1/2 exp(|x'|^2 / 2) [sin Omega x', cos Omega x']
 *   favor-hyp  phi(x) = (2m)^-1/2 exp(-|x'|^2 / 2) [exp(Omega x'), exp(-Omega x')]
 *   dpfp       phi(x)_{(j-1) 2d + p} = r_p r_{(p - j) mod 2d},  r = [relu(x), relu(-x)]
 *   normalize  phi / sum(phi)  or  phi / |phi|  (a zero sum or norm: 0)
 *
 * A feature beyond float32 gives ATTN_ERR_OVERFLOW (one scan of the output).
 */
#include "internal.h"

#include <float.h>
#include <math.h>

size_t attn_feature_spec_size(void) { return sizeof(attn_feature_spec); }

attn_status attn_feature_spec_set(attn_feature_spec *spec, int feature, size_t m,
                                  const float *projection,  // [m, d] or NULL
                                  size_t nu, float kernel_eps, int stabilize, int normalize) {
    if (!spec) return ATTN_ERR_NULL;
    *spec = (attn_feature_spec){feature, m, projection, nu, kernel_eps, stabilize, normalize, ~0u};
    return ATTN_OK;
}

attn_status attn_feature_spec_init(attn_feature_spec *spec) {
    if (!spec) return ATTN_ERR_NULL;
    memset(spec, 0, sizeof *spec);
    spec->projection = NULL;
    return ATTN_OK;
}

attn_status attn_feature_spec_set_field(attn_feature_spec *spec, int field, double value) {
    if (!spec) return ATTN_ERR_NULL;
    if (field < 0 || field > 5) return ATTN_ERR_KIND;
    if (field == 3) {  /* kernelEpsilon: any float (checked where used) */
        spec->kernel_eps = (float)value;
    } else {
        /* before any conversion: a double past SIZE_MAX or INT_MAX is undefined behaviour */
        if (!(value >= 0 && value <= (double)INT32_MAX) || value != floor(value)) return ATTN_ERR_RANGE;
        switch (field) {
        case 0: spec->feature = (int)value; break;
        case 1: spec->m = (size_t)value; break;
        case 2: spec->nu = (size_t)value; break;
        case 4: spec->stabilize = (int)value; break;
        default: spec->normalize = (int)value; break;
        }
    }
    spec->set |= 1u << field;
    return ATTN_OK;
}

attn_status attn_feature_spec_resolve(attn_feature_spec *s, int use) {
    if (!s) return ATTN_ERR_NULL;
    static const int feature_default[] = {ATTN_DEFAULT_LINEAR_FEATURE, ATTN_DEFAULT_FAST_FEATURE,
                                          ATTN_DEFAULT_CAPACITY_FEATURE};
    static const int normalize_default[] = {ATTN_DEFAULT_LINEAR_NORMALIZE, ATTN_DEFAULT_FAST_NORMALIZE,
                                            ATTN_DEFAULT_CAPACITY_NORMALIZE};
    if (use < 0 || use >= ATTN_FEATURE_USE_COUNT) return ATTN_ERR_KIND;
#define ATTN__UNSET(id, member) (!(s->set & (1u << (id))) && s->member == 0)
    if (ATTN__UNSET(0, feature)) s->feature = (int)attn_default_value(feature_default[use]);
    if (ATTN__UNSET(1, m)) s->m = (size_t)attn_default_value(ATTN_DEFAULT_FEATURE_M);
    if (ATTN__UNSET(2, nu)) s->nu = (size_t)attn_default_value(ATTN_DEFAULT_FEATURE_NU);
    if (ATTN__UNSET(3, kernel_eps)) s->kernel_eps = (float)attn_default_value(ATTN_DEFAULT_FEATURE_KERNEL_EPS);
    if (ATTN__UNSET(4, stabilize)) s->stabilize = (int)attn_default_value(ATTN_DEFAULT_FEATURE_STABILIZE);
    if (ATTN__UNSET(5, normalize)) s->normalize = (int)attn_default_value(normalize_default[use]);
#undef ATTN__UNSET
    s->set = ~0u;
    return ATTN_OK;
}

attn_status attn_feature_spec_get(const attn_feature_spec *spec, int field, double *value) {
    if (!spec || !value) return ATTN_ERR_NULL;
    switch (field) {
#define ATTN__GET(id, name, member) case id: *value = (double)spec->member; return ATTN_OK;
        ATTN_FEATURE_FIELDS(ATTN__GET)
#undef ATTN__GET
    default: return ATTN_ERR_KIND;
    }
}

const char *attn_feature_field_name(int field) {
    switch (field) {
#define ATTN__NAME(id, name, member) case id: return name;
        ATTN_FEATURE_FIELDS(ATTN__NAME)
#undef ATTN__NAME
    default: return NULL;
    }
}

attn_status attn__feature_resolved(const attn_feature_spec *spec, int use, attn_feature_spec *out) {
    if (!spec) return ATTN_ERR_NULL;
    *out = *spec;
    return attn_feature_spec_resolve(out, use);
}

static int is_performer(int feature) {
    return feature == ATTN_FEATURE_FAVOR_POS || feature == ATTN_FEATURE_FAVOR_TRIG ||
           feature == ATTN_FEATURE_FAVOR_HYP;
}

#define ATTN__FAIL(status, name)                                              \
    do {                                                                      \
        *argument = name;                                                     \
        return status;                                                        \
    } while (0)
/* The width of the feature rows of a resolved spec; *argument names the
 * field at fault. */
static attn_status dim_of(const attn_feature_spec *spec, size_t d, size_t *dim, const char **argument) {
    *argument = NULL;
    if (d == 0) ATTN__FAIL(ATTN_ERR_SHAPE, "d");
    size_t two_d;
    if (!attn__mul(d, 2, &two_d)) ATTN__FAIL(ATTN_ERR_MEMORY, "d");
    switch (spec->feature) {
    case ATTN_FEATURE_IDENTITY:
    case ATTN_FEATURE_ELU1:
    case ATTN_FEATURE_RELU:
    case ATTN_FEATURE_EFFICIENT: *dim = d; return ATTN_OK;
    case ATTN_FEATURE_TAYLOR:
        if (!attn__add(d, 1, dim)) ATTN__FAIL(ATTN_ERR_MEMORY, "d");
        return ATTN_OK;
    case ATTN_FEATURE_FAVOR_POS:
        if (spec->m == 0) ATTN__FAIL(ATTN_ERR_RANGE, "features");
        *dim = spec->m;
        return ATTN_OK;
    case ATTN_FEATURE_FAVOR_TRIG:
    case ATTN_FEATURE_FAVOR_HYP:
        if (spec->m == 0) ATTN__FAIL(ATTN_ERR_RANGE, "features");
        if (!attn__mul(spec->m, 2, dim)) ATTN__FAIL(ATTN_ERR_MEMORY, "features");
        return ATTN_OK;
    case ATTN_FEATURE_DPFP:
        if (spec->nu == 0 || spec->nu > two_d - 1) ATTN__FAIL(ATTN_ERR_RANGE, "nu");  /* roll by 2d is r * r again */
        if (!attn__mul(two_d, spec->nu, dim)) ATTN__FAIL(ATTN_ERR_MEMORY, "nu");
        return ATTN_OK;
    default: ATTN__FAIL(ATTN_ERR_KIND, "feature");
    }
}

/* Validates a resolved spec against inputs of width d; *dim receives the
 * feature width, *argument the field at fault. */
static attn_status check_fields(const attn_feature_spec *spec, size_t d, size_t *dim, const char **argument) {
    attn_status st = dim_of(spec, d, dim, argument);
    if (st != ATTN_OK) return st;
    if (is_performer(spec->feature)) {
        if (!spec->projection) ATTN__FAIL(ATTN_ERR_NULL, "projection");
        if (attn__matrix_fits(spec->m, d) != ATTN_OK) ATTN__FAIL(ATTN_ERR_MEMORY, "projection");
        if (!attn__all_finite(spec->projection, spec->m * d)) ATTN__FAIL(ATTN_ERR_NONFINITE, "projection");
    }
    if (spec->feature == ATTN_FEATURE_RELU && !(spec->kernel_eps >= 0 && isfinite(spec->kernel_eps)))
        ATTN__FAIL(ATTN_ERR_RANGE, "kernelEpsilon");
    if (spec->normalize < ATTN_NORMALIZE_NONE || spec->normalize > ATTN_NORMALIZE_L2)
        ATTN__FAIL(ATTN_ERR_KIND, "normalize");
    return ATTN_OK;
}
#undef ATTN__FAIL

attn_status attn_feature_spec_check(const attn_feature_spec *spec, int use, size_t d, const char **argument) {
    const char *ignored;
    size_t dim;
    if (!argument) argument = &ignored;
    *argument = NULL;
    attn_feature_spec s;
    attn_status st = attn__feature_resolved(spec, use, &s);
    if (st != ATTN_OK) {
        *argument = spec ? "use" : "spec";
        return st;
    }
    return check_fields(&s, d, &dim, argument);
}

attn_status attn_feature_dim(const attn_feature_spec *spec, size_t d, size_t *dim) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    const char *argument;
    if (!dim) return ATTN_ERR_NULL;
    return dim_of(spec, d, dim, &argument);
}

/* Validates spec against inputs of width d; *dim receives the feature width. */
static attn_status check_spec(const attn_feature_spec *spec, size_t d, size_t *dim) {
    const char *argument;
    return check_fields(spec, d, dim, &argument);
}

/* u_f = xscale x . omega_f in double (for a row whose float u overflowed). */
static double performer_u(const attn_feature_spec *spec, size_t d, const float *x,  // [d]
                          size_t f, double xscale) {
    double u = 0;
    for (size_t l = 0; l < d; l++) u += (double)x[l] * spec->projection[f * d + l];
    return u * xscale;
}

/* U = max over f of u_f (and -u_f for FAVOR_HYP), from the float u of the
 * row, or in double if one of them overflowed. */
static double performer_max(const attn_feature_spec *spec, size_t d, const float *x,  // [d]
                            const float *u_row,  // [m]
                            double xscale) {
    int wide = !attn__all_finite(u_row, spec->m);
    double U = -INFINITY;
    for (size_t f = 0; f < spec->m; f++) {
        double u = wide ? performer_u(spec, d, x, f, xscale) : u_row[f];
        U = attn__maxd(U, u);
        if (spec->feature == ATTN_FEATURE_FAVOR_HYP) U = attn__maxd(U, -u);
    }
    return U;
}

/* Performer maps. Pass 1 writes the exponents (pos: u - h; hyp: u - h and
 * -u - h; trig: u, with h parked in the first cos slot) and the keys' global
 * maximum; pass 2 subtracts the stabiliser and exponentiates. */
static void performer(const attn_feature_spec *spec, int role, size_t n, size_t d,
                      const float *x,  // [n, d]
                      float *out,      // [n, dim]
                      size_t dim,
                      float *omega_t) {  // [d, m] workspace
    const attn__kernels *kern = attn__kernels_get();
    const int feature = spec->feature;
    const size_t m = spec->m;
    const size_t width = feature == ATTN_FEATURE_FAVOR_POS ? m : 2 * m;  /* exponents per row */
    const double xscale = pow((double)d, -0.25);
    for (size_t f = 0; f < m; f++)
        for (size_t l = 0; l < d; l++) omega_t[l * m + f] = spec->projection[f * d + l];
    kern->gemm(n, m, d, (float)xscale, x, d, omega_t, m, out, dim, 0);  /* u = x' Omega^T */

    /* Exponents in double, so that a large h (|x|^2 / 2) cancels exactly
     * instead of being rounded to float first: with U_i = max_f (+-u_if),
     * e = (+-u_f - U_i) + off_i, where off_i = U_i - h_i (plain), 0 (query,
     * stabilised: e = +-u_f - max) or (U_i - h_i) - G (key, stabilised, G
     * the largest U_i - h_i over the rows), so the largest stabilised
     * exponent is exactly 0. A row whose u overflowed float32 in the gemm
     * (|x| near FLT_MAX) has its u recomputed in double. Pass 1: G. */
    double global_max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float *row = out + i * dim;
        double h = 0;
        for (size_t l = 0; l < d; l++) h += (double)x[i * d + l] * x[i * d + l];
        h *= xscale * xscale * 0.5;
        double row_max = h;  /* trig: the log-magnitude */
        if (feature == ATTN_FEATURE_FAVOR_TRIG) {
            row[m] = (float)h;
        } else {
            row_max = performer_max(spec, d, x + i * d, row, xscale) - h;
        }
        global_max = attn__maxd(global_max, row_max);
    }

    const float c = (float)(1.0 / sqrt((double)(feature == ATTN_FEATURE_FAVOR_HYP ? 2 * m : m)));
    for (size_t i = 0; i < n; i++) {
        float *row = out + i * dim;
        if (feature == ATTN_FEATURE_FAVOR_TRIG) {
            double h = row[m];
            double shift = !spec->stabilize ? 0.0 : role == ATTN_ROLE_KEY ? global_max : h;
            float mag = (float)(c * exp(h - shift));
            for (size_t f = 0; f < m; f++) {
                float u = row[f];
                row[f] = mag * sinf(u);
                row[m + f] = mag * cosf(u);
            }
            continue;
        }
        /* Pass 2: h again from x and U_i again (O(d + m) beside the O(m d) of
         * u), each exponent rounded to float once. */
        const float *xi = x + i * d;
        int wide = !attn__all_finite(row, m);
        double h = 0;
        for (size_t l = 0; l < d; l++) h += (double)xi[l] * xi[l];
        h *= xscale * xscale * 0.5;
        double U = performer_max(spec, d, xi, row, xscale);
        double off = !spec->stabilize ? U - h : role == ATTN_ROLE_KEY ? (U - h) - global_max : 0.0;
        for (size_t f = 0; f < m; f++) {
            double u = wide ? performer_u(spec, d, xi, f, xscale) : row[f];
            if (feature == ATTN_FEATURE_FAVOR_HYP) row[m + f] = (float)((-u - U) + off);
            row[f] = (float)((u - U) + off);
        }
        if (spec->stabilize) {
            kern->exp_shift_sum(row, width, 0.0f);
            kern->scale(row, width, c);
        } else {  /* the plain estimator; may overflow for large inputs */
            for (size_t f = 0; f < width; f++) row[f] = c * expf(row[f]);
        }
    }
}

/* Efficient attention's key map: softmax over positions, per feature column. */
static void softmax_columns(size_t n, size_t d, const float *x,  // [n, d]
                            float *out) {                         // [n, d]
    for (size_t l = 0; l < d; l++) {
        float mx = -INFINITY;
        for (size_t i = 0; i < n; i++) mx = attn__maxf(mx, x[i * d + l]);
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += out[i * d + l] = expf(x[i * d + l] - mx);
        for (size_t i = 0; i < n; i++) out[i * d + l] = (float)(out[i * d + l] / sum);
    }
}

/* The Performer maps' workspace: Omega transposed. */
typedef struct map_plan {
    size_t omega_t, total;
} map_plan;

static attn_status plan_map(const attn_feature_spec *spec, size_t d, map_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->omega_t = attn__layout_add(&L, d, is_performer(spec->feature) ? spec->m : 0);  // [d, m]
    return attn__layout_end(&L, &P->total);
}

attn_status attn_feature_map_workspace(const attn_feature_spec *spec, size_t d, size_t *floats) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    if (!floats) return ATTN_ERR_NULL;
    map_plan P;
    attn_status st = plan_map(spec, d, &P);
    if (st == ATTN_OK) *floats = P.total;
    return st;
}

attn_status attn_feature_map(const attn_feature_spec *spec, int role, size_t n, size_t d,
                             const float *x,  // [n, d]
                             float *out,      // [n, dim]
                             float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    size_t dim;
    attn_status st = check_spec(spec, d, &dim);
    if (st != ATTN_OK) return st;
    if (!x || !out) return ATTN_ERR_NULL;
    if (n == 0) return ATTN_ERR_SHAPE;
    if (role != ATTN_ROLE_QUERY && role != ATTN_ROLE_KEY) return ATTN_ERR_KIND;
    if ((st = attn__matrix_fits(n, d)) || (st = attn__matrix_fits(n, dim))) return st;
    map_plan P;
    if ((st = plan_map(spec, d, &P)) != ATTN_OK) return st;
    if (P.total > 0 && (!work || work_floats < P.total)) return ATTN_ERR_WORKSPACE;
    if (!attn__all_finite(x, n * d)) return ATTN_ERR_NONFINITE;

    switch (spec->feature) {
    case ATTN_FEATURE_IDENTITY: memcpy(out, x, n * d * sizeof *out); break;
    case ATTN_FEATURE_ELU1: {
        /* elu(x) + 1 = exp(min(x, 0)) + max(x, 0): branch-free (signs are
         * random, so branches would mispredict), the exp vectorised, a
         * cache-sized piece at a time. */
        const attn__kernels *kern = attn__kernels_get();
        for (size_t i0 = 0; i0 < n * d; i0 += 1024) {
            size_t len = attn__min(1024, n * d - i0);
            const float *xs = x + i0;
            float *ys = out + i0;
            for (size_t i = 0; i < len; i++) ys[i] = attn__minf(xs[i], 0.0f);
            kern->exp_shift_sum(ys, len, 0.0f);
            for (size_t i = 0; i < len; i++) ys[i] += attn__maxf(xs[i], 0.0f);
        }
        break;
    }
    case ATTN_FEATURE_RELU:
        for (size_t i = 0; i < n * d; i++) out[i] = attn__maxf(x[i], 0.0f) + spec->kernel_eps;
        break;
    case ATTN_FEATURE_TAYLOR:
        for (size_t i = 0; i < n; i++) {
            double norm = 0;
            for (size_t l = 0; l < d; l++) norm += (double)x[i * d + l] * x[i * d + l];
            float inv = (float)(1.0 / (sqrt(norm) + 1e-6));
            out[i * dim] = 1.0f;
            for (size_t l = 0; l < d; l++) out[i * dim + 1 + l] = x[i * d + l] * inv;
        }
        break;
    case ATTN_FEATURE_EFFICIENT:
        if (role == ATTN_ROLE_KEY) {
            softmax_columns(n, d, x, out);
        } else {
            const attn__kernels *kern = attn__kernels_get();
            memcpy(out, x, n * d * sizeof *out);
            for (size_t i = 0; i < n; i++) {
                float *row = out + i * d;
                kern->scale(row, d, 1.0f / kern->exp_shift_sum(row, d, kern->max(row, d)));
            }
        }
        break;
    case ATTN_FEATURE_DPFP:
        for (size_t i = 0; i < n; i++) {
            const float *xi = x + i * d;
            float *row = out + i * dim;
            size_t two_d = 2 * d;
            /* r = [relu(x), relu(-x)] is read on the fly: r(p) below. */
#define DPFP_R(p) ((p) < d ? attn__maxf(xi[p], 0.0f) : attn__maxf(-xi[(p) - d], 0.0f))
            for (size_t j = 1; j <= spec->nu; j++)
                for (size_t p = 0; p < two_d; p++)
                    row[(j - 1) * two_d + p] = DPFP_R(p) * DPFP_R((p + two_d - j) % two_d);
#undef DPFP_R
        }
        break;
    default:  /* the Performer maps */
        performer(spec, role, n, d, x, out, dim, work + P.omega_t);
        break;
    }
    if (spec->normalize != ATTN_NORMALIZE_NONE) {
        for (size_t i = 0; i < n; i++) {
            float *row = out + i * dim;
            double s = 0;
            if (spec->normalize == ATTN_NORMALIZE_SUM)
                for (size_t f = 0; f < dim; f++) s += row[f];
            else
                for (size_t f = 0; f < dim; f++) s += (double)row[f] * row[f];
            if (spec->normalize == ATTN_NORMALIZE_L2) s = sqrt(s);
            attn__divide_row(row, dim, s);  /* a sum or norm of 0: the row stays 0 */
        }
    }
    /* Overflow: large inputs without stabilize, DPFP products, u = x' Omega^T,
     * a signed row divided by a sum near 0. */
    return attn__all_finite(out, n * dim) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

void attn__divide_row(float *x, size_t count, double den) {  // [count]
    if (den == 0) {
        memset(x, 0, count * sizeof *x);
        return;
    }
    double inv = 1.0 / den;
    if (fabs(inv) <= FLT_MAX && fabs(inv) >= FLT_MIN) {
        attn__kernels_get()->scale(x, count, (float)inv);
    } else {  /* 1 / den beyond float32, or subnormal there (|den| above
               * 1 / FLT_MIN, where (float)inv keeps only a few bits): divide
               * each element instead */
        for (size_t i = 0; i < count; i++) x[i] = (float)(x[i] / den);
    }
}

/* ------------------------------------------------------- random features */

/* rows (<= d) orthonormal rows of width d: Gaussian draws orthonormalised by
 * modified Gram-Schmidt, dot products in double, applied twice ("twice is
 * enough" for float storage). Shared by the Performer projections and the
 * rotation of the structured inputs (inputs.c). */
void attn__orthonormal_rows(attn_rng *rng, size_t rows, size_t d, float *out) {  // [rows, d]
    for (size_t r = 0; r < rows; r++) {
        float *v = out + r * d;
        double norm = 0;
        while (norm < 1e-12) {  /* a Gaussian draw is degenerate with probability 0 */
            for (size_t l = 0; l < d; l++) v[l] = (float)attn_rng_normal(rng);
            for (int pass = 0; pass < 2; pass++)
                for (size_t p = 0; p < r; p++) {
                    const float *u = out + p * d;
                    double dot = 0;
                    for (size_t l = 0; l < d; l++) dot += (double)v[l] * u[l];
                    for (size_t l = 0; l < d; l++) v[l] = (float)(v[l] - dot * u[l]);
                }
            norm = 0;
            for (size_t l = 0; l < d; l++) norm += (double)v[l] * v[l];
        }
        for (size_t l = 0; l < d; l++) v[l] = (float)(v[l] / sqrt(norm));
    }
}

attn_status attn_random_features(attn_rng *rng, size_t m, size_t d, int orthogonal,
                                 float *out) {  // [m, d]
    if (!rng || !out) return ATTN_ERR_NULL;
    if (m == 0 || d == 0) return ATTN_ERR_SHAPE;
    attn_status st = attn__matrix_fits(m, d);
    if (st != ATTN_OK) return st;
    if (!orthogonal) {
        for (size_t i = 0; i < m * d; i++) out[i] = (float)attn_rng_normal(rng);
        return ATTN_OK;
    }
    /* Block by block: d Gaussian rows orthonormalised by modified Gram-Schmidt
     * (dot products in double, applied twice: "twice is enough" for float
     * storage), then every row of the block scaled to a chi_d norm. */
    for (size_t b0 = 0; b0 < m; b0 += d) {
        size_t rows = attn__min(d, m - b0);
        float *block = out + b0 * d;
        attn__orthonormal_rows(rng, rows, d, block);
        for (size_t r = 0; r < rows; r++) {
            double chi = 0;
            for (size_t l = 0; l < d; l++) {
                double g = attn_rng_normal(rng);
                chi += g * g;
            }
            chi = sqrt(chi);
            for (size_t l = 0; l < d; l++) block[r * d + l] = (float)(block[r * d + l] * chi);
        }
    }
    return ATTN_OK;
}
