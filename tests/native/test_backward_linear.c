/*
 * test_backward_linear.c - native tests of the reverse mode of the feature
 * maps and of linear attention (src/features_backward.c,
 * src/linear_backward.c), run under ASan/UBSan and as wasm32 by
 * tests/native/run.sh.
 *
 * Expected values are central differences of a float64 forward written here
 * from the definitions (attn.h, docs/mechanisms.md), independent of src/:
 * phi in double, then linear attention in its RNN form in double. The
 * Performer stabilizers are held at their values at the unperturbed point,
 * as attn.h defines the gradient (stop-gradient).
 *
 * TOLERANCE. A gradient component is compared norm-wise, against the largest
 * |component| of the same tensor (components that cancel to ~0 have no
 * relative accuracy in float32):
 *     |got - fd| <= TOL_PER_TERM * K * max|fd| + FD_ABS,
 *     K = n + m + dim + dv + d,
 * K being the longest chain of float32 accumulations a component goes
 * through (the sums over keys for S and z, over queries for dS and dz, over
 * features for den and the products with S, over dv for a.v, and over d in
 * the Performer's Omega^T). Each such sum of t terms is within t U of
 * the sum of its |terms| (Higham 3.1, U = 2^-24 = 6e-8), and the terms of a
 * gradient are at most a few times max|gradient| (dP = S a + b z cancels:
 * P.dP = -eps b, about a factor of 2 to 4 with the inputs here): so K U
 * times 4, times 4 again for exp's and division's roundings in the maps:
 * TOL_PER_TERM = 16 U = 1e-6. The difference step h = 1e-5 (inputs kept
 * >= 0.05 from the kinks of relu, dpfp and elu+1) gives a truncation error
 * near h^2 |L'''| ~ 1e-10 and a rounding error near 1e-16 |L| / h ~ 1e-11:
 * FD_ABS = 1e-8 covers both. The worst ratio seen is printed.
 *
 * Output: one line per failure, then "N passed, N failed".
 */
#include "../../src/attn.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define U_F32 (1.0 / 16777216.0)
#define TOL_PER_TERM (16 * U_F32)
#define FD_ABS 1e-8
#define FD_STEP 1e-5

static double worst_ratio;  /* the largest error / allowed seen */

/* ------------------------------------------------------------ test inputs */

static uint64_t lcg_state = 7;
static double lcg_uniform(void) { /* in [-1, 1) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}
/* Entries of size 0.05 .. 1 times amplitude, either sign (or positive), so
 * that no entry is within FD_STEP of a kink at 0. */
static float *inputs(size_t rows, size_t cols, double amplitude, int positive) {
    float *x = malloc(rows * cols * sizeof *x);
    for (size_t i = 0; i < rows * cols; i++) {
        double u = lcg_uniform();
        double mag = (0.05 + 0.95 * fabs(u)) * amplitude;
        x[i] = (float)(positive || u >= 0 ? mag : -mag);
    }
    return x;
}

/* ------------------------------------------------- the maps in float64 */

typedef struct spec64 {
    int feature, normalize, stabilize;
    size_t m, nu;  /* Performer features, DPFP order */
    const float *omega;  /* [m, d] */
    double kernel_eps;
} spec64;

static size_t dim_of(const spec64 *s, size_t d) {
    switch (s->feature) {
    case ATTN_FEATURE_TAYLOR: return d + 1;
    case ATTN_FEATURE_FAVOR_POS: return s->m;
    case ATTN_FEATURE_FAVOR_TRIG:
    case ATTN_FEATURE_FAVOR_HYP: return 2 * s->m;
    case ATTN_FEATURE_DPFP: return 2 * d * s->nu;
    default: return d;
    }
}

/* phi of the rows of x [n, d] into out [n, dim], in double. C: the
 * Performer stabilizers (query: one per row; key: C[0] for all rows);
 * computed when fixed == 0, else used as given. */
static void phi64(const spec64 *s, int role, size_t n, size_t d, const double *x, double *out, double *C,
                  int fixed) {
    const size_t dim = dim_of(s, d), m = s->m;
    const double sc = pow((double)d, -0.25);
    int performer = s->feature >= ATTN_FEATURE_FAVOR_POS && s->feature <= ATTN_FEATURE_FAVOR_HYP;
    if (performer && !fixed) {
        double global = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            const double *xi = x + i * d;
            double h = 0, row = -INFINITY;
            for (size_t l = 0; l < d; l++) h += xi[l] * xi[l];
            h *= sc * sc / 2;
            if (s->feature == ATTN_FEATURE_FAVOR_TRIG) {
                row = h;
            } else {
                for (size_t f = 0; f < m; f++) {
                    double u = 0;
                    for (size_t l = 0; l < d; l++) u += (double)s->omega[f * d + l] * xi[l] * sc;
                    row = fmax(row, u - h);
                    if (s->feature == ATTN_FEATURE_FAVOR_HYP) row = fmax(row, -u - h);
                }
            }
            if (!s->stabilize) row = 0;
            if (role == ATTN_ROLE_QUERY) C[i] = row;
            global = fmax(global, row);
        }
        if (role == ATTN_ROLE_KEY) C[0] = global;
    }
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * d;
        double *o = out + i * dim;
        double Ci = performer ? (role == ATTN_ROLE_QUERY ? C[i] : C[0]) : 0;
        switch (s->feature) {
        case ATTN_FEATURE_IDENTITY:
            for (size_t l = 0; l < d; l++) o[l] = xi[l];
            break;
        case ATTN_FEATURE_ELU1:
            for (size_t l = 0; l < d; l++) o[l] = xi[l] > 0 ? xi[l] + 1 : exp(xi[l]);
            break;
        case ATTN_FEATURE_RELU:
            for (size_t l = 0; l < d; l++) o[l] = fmax(xi[l], 0) + (double)(float)s->kernel_eps;
            break;
        case ATTN_FEATURE_TAYLOR: {
            double norm = 0;
            for (size_t l = 0; l < d; l++) norm += xi[l] * xi[l];
            o[0] = 1;
            for (size_t l = 0; l < d; l++) o[1 + l] = xi[l] / (sqrt(norm) + 1e-6);
            break;
        }
        case ATTN_FEATURE_EFFICIENT:
            if (role == ATTN_ROLE_QUERY) {
                double mx = -INFINITY, sum = 0;
                for (size_t l = 0; l < d; l++) mx = fmax(mx, xi[l]);
                for (size_t l = 0; l < d; l++) sum += o[l] = exp(xi[l] - mx);
                for (size_t l = 0; l < d; l++) o[l] /= sum;
            }
            break;  /* key: by columns below */
        case ATTN_FEATURE_DPFP: {
            const size_t D = 2 * d;
            for (size_t j = 1; j <= s->nu; j++)
                for (size_t p = 0; p < D; p++) {
                    size_t q = (p + D - j) % D;
                    double a = p < d ? fmax(xi[p], 0) : fmax(-xi[p - d], 0);
                    double b = q < d ? fmax(xi[q], 0) : fmax(-xi[q - d], 0);
                    o[(j - 1) * D + p] = a * b;
                }
            break;
        }
        default: {  /* Performer */
            double h = 0;
            for (size_t l = 0; l < d; l++) h += xi[l] * xi[l];
            h *= sc * sc / 2;
            double c = 1 / sqrt((double)(s->feature == ATTN_FEATURE_FAVOR_HYP ? 2 * m : m));
            for (size_t f = 0; f < m; f++) {
                double u = 0;
                for (size_t l = 0; l < d; l++) u += (double)s->omega[f * d + l] * xi[l] * sc;
                if (s->feature == ATTN_FEATURE_FAVOR_POS) {
                    o[f] = c * exp(u - h - Ci);
                } else if (s->feature == ATTN_FEATURE_FAVOR_HYP) {
                    o[f] = c * exp(u - h - Ci);
                    o[m + f] = c * exp(-u - h - Ci);
                } else {
                    double mag = c * exp(h - Ci);
                    o[f] = mag * sin(u);
                    o[m + f] = mag * cos(u);
                }
            }
        }
        }
    }
    if (s->feature == ATTN_FEATURE_EFFICIENT && role == ATTN_ROLE_KEY)
        for (size_t l = 0; l < d; l++) {
            double mx = -INFINITY, sum = 0;
            for (size_t i = 0; i < n; i++) mx = fmax(mx, x[i * d + l]);
            for (size_t i = 0; i < n; i++) sum += out[i * d + l] = exp(x[i * d + l] - mx);
            for (size_t i = 0; i < n; i++) out[i * d + l] /= sum;
        }
    if (s->normalize != ATTN_NORMALIZE_NONE)
        for (size_t i = 0; i < n; i++) {
            double *o = out + i * dim, sum = 0;
            for (size_t f = 0; f < dim; f++) sum += s->normalize == ATTN_NORMALIZE_SUM ? o[f] : o[f] * o[f];
            if (s->normalize == ATTN_NORMALIZE_L2) sum = sqrt(sum);
            for (size_t f = 0; f < dim; f++) o[f] = sum == 0 ? 0 : o[f] / sum;
        }
}

/* Linear attention in double, the RNN form: num [n, dv] and den [n]
 * (y_i = num_i / den_i, 0 where den_i = 0). */
static void attention64(size_t n, size_t m, size_t dim, size_t dv, const double *P, const double *F,
                        const float *v, int causal, double eps, double *num, double *den) {
    double *S = calloc(dim * dv, sizeof *S), *z = calloc(dim, sizeof *z);
    size_t added = 0;  /* keys in S */
    for (size_t i = 0; i < n; i++) {
        size_t want = causal ? (i + 1 < m ? i + 1 : m) : m;
        for (; added < want; added++) {
            for (size_t f = 0; f < dim; f++) {
                z[f] += F[added * dim + f];
                for (size_t c = 0; c < dv; c++) S[f * dv + c] += F[added * dim + f] * v[added * dv + c];
            }
        }
        den[i] = eps;
        for (size_t f = 0; f < dim; f++) den[i] += P[i * dim + f] * z[f];
        for (size_t c = 0; c < dv; c++) {
            num[i * dv + c] = 0;
            for (size_t f = 0; f < dim; f++) num[i * dv + c] += P[i * dim + f] * S[f * dv + c];
        }
    }
    free(S), free(z);
}

/* ------------------------------------------------------ the comparisons */

/* Indices of a tensor of `count` entries to difference: all of them when
 * few, else the first and last rows' entries and an even spread. */
static size_t pick(size_t count, size_t t, size_t *how_many) {
    const size_t most = 32;
    *how_many = count <= most ? count : most;
    if (count <= most) return t;
    if (t < 8) return t;
    if (t < 16) return count - 16 + t;
    return 8 + (t - 16) * (count - 16) / (most - 16);
}

/* |got - fd| against the norm-wise tolerance for the checked entries:
 * TOL_PER_TERM K max(terms) + FD_ABS, terms[t] the size of the terms that
 * entry t sums (or |fd[t]| when terms is NULL). */
static int compare(const char *what, const float *got, const double *fd, const double *terms, const size_t *idx,
                   size_t checked, size_t K) {
    double scale = 0, worst = 0;
    size_t at = 0;
    for (size_t t = 0; t < checked; t++) scale = fmax(scale, fabs(fd[t])), scale = fmax(scale, terms ? terms[t] : 0);
    double allowed = TOL_PER_TERM * (double)K * scale + FD_ABS;
    for (size_t t = 0; t < checked; t++) {
        double err = fabs((double)got[idx[t]] - fd[t]);
        if (!(err <= worst)) worst = err, at = t;
    }
    worst_ratio = fmax(worst_ratio, worst / allowed);
    if (!(worst <= allowed)) {
        fprintf(stderr, "  %s: entry %zu got %.9g want %.9g (scale %.3g, allowed %.3g)\n", what, idx[at],
                (double)got[idx[at]], fd[at], scale, allowed);
        return 0;
    }
    return 1;
}

typedef struct problem {
    spec64 s;
    size_t n, m, d, dv;
    int causal;
    double eps;
    const float *q, *k, *v, *g;  /* g: dL/dY [n, dv] */
    double *Cq, *Ck;             /* stabilizers at the base point */
    double *c, *e;               /* at the base point: g_i / den_i [n, dv], -(g_i.y_i) / den_i [n] */
} problem;

/* In double, from q, k, v (perturbed copies): L[0], the loss
 * L = sum_i g_i.y_i; L[1] = sum_i c_i.num_i and L[2] = sum_i e_i den_i
 * with c, e fixed at the base point. dL = dL[1] + dL[2]: the two
 * parts of the gradient that cancel where the gradient is small (a
 * denominator that hardly depends on the input), so their sizes are the
 * scale of the terms a float32 gradient sums. */
static void loss(const problem *p, const double *q, const double *k, const float *v, double L[3]) {
    size_t dim = dim_of(&p->s, p->d);
    double *P = malloc(p->n * dim * sizeof *P), *F = malloc(p->m * dim * sizeof *F);
    double *num = malloc(p->n * p->dv * sizeof *num), *den = malloc(p->n * sizeof *den);
    phi64(&p->s, ATTN_ROLE_QUERY, p->n, p->d, q, P, p->Cq, 1);
    phi64(&p->s, ATTN_ROLE_KEY, p->m, p->d, k, F, p->Ck, 1);
    attention64(p->n, p->m, dim, p->dv, P, F, v, p->causal, p->eps, num, den);
    L[0] = L[1] = L[2] = 0;
    for (size_t i = 0; i < p->n; i++) {
        L[2] += p->e[i] * den[i];
        for (size_t c = 0; c < p->dv; c++) {
            size_t at = i * p->dv + c;
            L[0] += den[i] == 0 ? 0 : p->g[at] * num[at] / den[i];
            L[1] += p->c[at] * num[at];
        }
    }
    free(P), free(F), free(num), free(den);
}

static double *widen(const float *x, size_t count) {
    double *y = malloc(count * sizeof *y);
    for (size_t i = 0; i < count; i++) y[i] = x[i];
    return y;
}

/* attn_linear_attention_backward against central differences of loss(). */
static void check_attention(const problem *p, const char *label) {
    const size_t n = p->n, m = p->m, d = p->d, dv = p->dv, dim = dim_of(&p->s, d);
    attn_feature_spec spec;
    attn_feature_spec_set(&spec, p->s.feature, p->s.m, p->s.omega, p->s.nu, (float)p->s.kernel_eps,
                          p->s.stabilize, p->s.normalize);
    size_t floats = 0;
    CHECK(attn_linear_attention_backward_workspace(&spec, n, m, d, dv, &floats) == ATTN_OK, "%s: workspace", label);
    float *work = malloc((floats + 1) * sizeof *work);
    float *dq = malloc(n * d * sizeof *dq), *dk = malloc(m * d * sizeof *dk), *dvo = malloc(m * dv * sizeof *dvo);
    attn_status st = attn_linear_attention_backward(&spec, n, m, d, dv, p->q, p->k, p->v, p->causal, (float)p->eps,
                                                    p->g, dq, dk, dvo, work, floats);
    CHECK(st == ATTN_OK, "%s: %s", label, attn_status_str(st));
    if (st != ATTN_OK) goto done;

    double *q64 = widen(p->q, n * d), *k64 = widen(p->k, m * d);
    float *vv = malloc(m * dv * sizeof *vv);
    memcpy(vv, p->v, m * dv * sizeof *vv);
    size_t K = n + m + dim + dv + d;
    const struct { const char *name; size_t count; const float *got; } T[3] = {
        {"dq", n * d, dq}, {"dk", m * d, dk}, {"dv", m * dv, dvo}};
    for (int t = 0; t < 3; t++) {
        size_t checked, idx[64];
        double fd[64], terms[64];
        pick(T[t].count, 0, &checked);
        for (size_t c = 0; c < checked; c++) {
            size_t e = idx[c] = pick(T[t].count, c, &checked);
            double Lp[3], Lm[3], step = t == 2 ? 1.0 : FD_STEP;
            if (t == 0) {
                double x0 = q64[e];
                q64[e] = x0 + FD_STEP, loss(p, q64, k64, vv, Lp);
                q64[e] = x0 - FD_STEP, loss(p, q64, k64, vv, Lm);
                q64[e] = x0;
            } else if (t == 1) {
                double x0 = k64[e];
                k64[e] = x0 + FD_STEP, loss(p, q64, k64, vv, Lp);
                k64[e] = x0 - FD_STEP, loss(p, q64, k64, vv, Lm);
                k64[e] = x0;
            } else {  /* L is linear in v: a difference of 1 is exact up to rounding */
                float x0 = vv[e];
                vv[e] = x0 + 1.0f, loss(p, q64, k64, vv, Lp);
                vv[e] = x0 - 1.0f, loss(p, q64, k64, vv, Lm);
                vv[e] = x0;
            }
            double part[3];
            for (int mode = 0; mode < 3; mode++) part[mode] = (Lp[mode] - Lm[mode]) / (2 * step);
            fd[c] = part[0];
            terms[c] = fabs(part[1]) + fabs(part[2]);
        }
        char what[200];
        snprintf(what, sizeof what, "%s %s", label, T[t].name);
        CHECK(compare(what, T[t].got, fd, terms, idx, checked, K), "%s", what);
    }
    free(q64), free(k64), free(vv);
done:
    free(work), free(dq), free(dk), free(dvo);
}

static const char *const feature_names[] = {"identity", "elu+1", "relu", "taylor", "efficient",
                                            "favor+", "favor-trig", "favor-hyp", "dpfp"};

/* A problem for the feature, its inputs drawn here; runs check_attention. */
static void attention_case(int feature, int normalize, size_t n, size_t m, size_t d, size_t dv, int causal,
                           double eps, size_t nu, int stabilize) {
    const size_t fm = 16;
    int positive = feature == ATTN_FEATURE_IDENTITY || feature == ATTN_FEATURE_TAYLOR;
    double amplitude = feature == ATTN_FEATURE_FAVOR_TRIG ? 0.5 : 1.0;
    float *omega = inputs(fm, d, 1.0, 0);
    problem p = {{feature, normalize, stabilize, fm, nu, omega, 1e-3}, n, m, d, dv, causal, eps,
                 inputs(n, d, amplitude, positive), inputs(m, d, amplitude, positive), inputs(m, dv, 1.0, 0),
                 inputs(n, dv, 1.0, 0), malloc(n * sizeof(double)), malloc(sizeof(double)), NULL, NULL};
    double *q64 = widen(p.q, n * d), *k64 = widen(p.k, m * d);
    size_t dim = dim_of(&p.s, d);
    double *tmp = malloc(n * dim * sizeof *tmp);
    double *F = malloc(m * dim * sizeof *F), *num = malloc(n * dv * sizeof *num), *den = malloc(n * sizeof *den);
    phi64(&p.s, ATTN_ROLE_QUERY, n, d, q64, tmp, p.Cq, 0);  /* the stabilizers at the base point */
    phi64(&p.s, ATTN_ROLE_KEY, m, d, k64, F, p.Ck, 0);
    attention64(n, m, dim, dv, tmp, F, p.v, causal, eps, num, den);
    p.c = malloc(n * dv * sizeof *p.c), p.e = malloc(n * sizeof *p.e);
    for (size_t i = 0; i < n; i++) {
        double gy = 0;
        for (size_t c = 0; c < dv; c++) {
            p.c[i * dv + c] = den[i] == 0 ? 0 : p.g[i * dv + c] / den[i];
            gy += den[i] == 0 ? 0 : p.g[i * dv + c] * num[i * dv + c] / den[i];
        }
        p.e[i] = den[i] == 0 ? 0 : -gy / den[i];
    }
    free(F), free(num), free(den);
    char label[160];
    snprintf(label, sizeof label, "%s normalize %d nu %zu n %zu m %zu d %zu dv %zu causal %d eps %g stab %d",
             feature_names[feature], normalize, nu, n, m, d, dv, causal, eps, stabilize);
    check_attention(&p, label);
    free(tmp), free(q64), free(k64), free(omega);
    free((void *)p.q), free((void *)p.k), free((void *)p.v), free((void *)p.g), free(p.Cq), free(p.Ck), free(p.c), free(p.e);
}

/* --------------------------------------------------------------- tests */

/* attn_feature_map_backward alone: L = sum g . phi(x), every map, role and
 * normalisation, against central differences. */
static void test_map_backward(void) {
    static const size_t sizes[][2] = {{1, 1}, {3, 8}, {5, 1}, {17, 8}, {4, 64}};
    const size_t fm = 16;
    for (int feature = 0; feature < ATTN_FEATURE_COUNT; feature++)
        for (int normalize = 0; normalize < ATTN_NORMALIZE_COUNT; normalize++)
            for (int role = 0; role < 2; role++)
                for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
                    size_t n = sizes[z][0], d = sizes[z][1];
                    size_t nu = feature == ATTN_FEATURE_DPFP ? (d == 1 ? 1 : 3) : 1;
                    int positive = feature == ATTN_FEATURE_IDENTITY || feature == ATTN_FEATURE_TAYLOR;
                    if (normalize == ATTN_NORMALIZE_SUM && feature == ATTN_FEATURE_FAVOR_TRIG) continue;  /* signed */
                    float *omega = inputs(fm, d, 1.0, 0), *x = inputs(n, d, 1.0, positive);
                    spec64 s = {feature, normalize, 1, fm, nu, omega, 1e-3};
                    size_t dim = dim_of(&s, d);
                    float *g = inputs(n, dim, 1.0, 0), *dx = malloc(n * d * sizeof *dx);
                    attn_feature_spec spec;
                    attn_feature_spec_set(&spec, feature, fm, omega, nu, 1e-3f, 1, normalize);
                    size_t floats = 0;
                    CHECK(attn_feature_map_backward_workspace(&spec, n, d, &floats) == ATTN_OK, "map workspace");
                    float *work = malloc((floats + 1) * sizeof *work);
                    attn_status st = attn_feature_map_backward(&spec, role, n, d, x, g, dx, work, floats);
                    char label[160];
                    snprintf(label, sizeof label, "map %s normalize %d role %d n %zu d %zu nu %zu",
                             feature_names[feature], normalize, role, n, d, nu);
                    CHECK(st == ATTN_OK, "%s: %s", label, attn_status_str(st));
                    CHECK(attn_feature_map_backward(&spec, role, n, d, x, g, dx, work, floats - 1) ==
                              ATTN_ERR_WORKSPACE, "%s: small workspace", label);
                    double *x64 = widen(x, n * d), *phi = malloc(n * dim * sizeof *phi);
                    double *C = malloc(n * sizeof *C);
                    phi64(&s, role, n, d, x64, phi, C, 0);
                    size_t checked, idx[64];
                    double fd[64];
                    pick(n * d, 0, &checked);
                    for (size_t c = 0; c < checked; c++) {
                        size_t e = idx[c] = pick(n * d, c, &checked);
                        double x0 = x64[e], L[2];
                        for (int sgn = 0; sgn < 2; sgn++) {
                            x64[e] = x0 + (sgn ? -FD_STEP : FD_STEP);
                            phi64(&s, role, n, d, x64, phi, C, 1);
                            L[sgn] = 0;
                            for (size_t f = 0; f < n * dim; f++) L[sgn] += g[f] * phi[f];
                        }
                        x64[e] = x0;
                        fd[c] = (L[0] - L[1]) / (2 * FD_STEP);
                    }
                    if (st == ATTN_OK) CHECK(compare(label, dx, fd, NULL, idx, checked, n + d + dim), "%s", label);
                    free(omega), free(x), free(g), free(dx), free(work), free(x64), free(phi), free(C);
                }
}

/* Every map (normalize none), both causal forms, n at and around the block
 * sizes, d in {1, 8, 64}. */
static void test_attention_sizes(void) {
    static const size_t ns[] = {1, 3, 4, 5, 17, 33, 129};
    static const size_t ds[] = {1, 8, 64};
    for (int feature = 0; feature < ATTN_FEATURE_COUNT; feature++)
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
            for (size_t b = 0; b < sizeof ds / sizeof *ds; b++)
                for (int causal = 0; causal < 2; causal++) {
                    if (causal && feature == ATTN_FEATURE_EFFICIENT) continue;
                    size_t d = ds[b], nu = feature == ATTN_FEATURE_DPFP ? (d == 1 ? 1 : d == 8 ? 3 : 2) : 1;
                    attention_case(feature, ATTN_NORMALIZE_NONE, ns[a], ns[a], d, 3, causal, 1e-6, nu, 1);
                }
}

/* Every normalisation with every map; n != m; dv 1 and 17; eps 0 and 0.5;
 * the Performer maps without their stabilizers. */
static void test_attention_variants(void) {
    static const size_t shapes[][4] = {{1, 1, 1, 1}, {5, 5, 8, 3}, {33, 33, 8, 2}, {17, 17, 64, 3},
                                       {5, 3, 8, 17}, {3, 17, 8, 3}, {70, 129, 8, 1}, {129, 70, 8, 2}};
    for (int feature = 0; feature < ATTN_FEATURE_COUNT; feature++)
        for (int normalize = 0; normalize < ATTN_NORMALIZE_COUNT; normalize++)
            for (size_t z = 0; z < sizeof shapes / sizeof *shapes; z++)
                for (int causal = 0; causal < 2; causal++) {
                    if (causal && feature == ATTN_FEATURE_EFFICIENT) continue;
                    if (normalize == ATTN_NORMALIZE_SUM && feature == ATTN_FEATURE_FAVOR_TRIG) continue;
                    const size_t *sh = shapes[z];
                    size_t nu = feature == ATTN_FEATURE_DPFP ? (sh[2] == 1 ? 1 : 2) : 1;
                    attention_case(feature, normalize, sh[0], sh[1], sh[2], sh[3], causal, 1e-6, nu, 1);
                }
    for (int causal = 0; causal < 2; causal++) {
        for (int feature = ATTN_FEATURE_FAVOR_POS; feature <= ATTN_FEATURE_FAVOR_HYP; feature++)
            attention_case(feature, ATTN_NORMALIZE_NONE, 17, 17, 8, 3, causal, 1e-6, 1, 0);
        attention_case(ATTN_FEATURE_ELU1, ATTN_NORMALIZE_NONE, 33, 33, 8, 3, causal, 0.0, 1, 1);
        attention_case(ATTN_FEATURE_ELU1, ATTN_NORMALIZE_NONE, 33, 33, 8, 3, causal, 0.5, 1, 1);
    }
}

/* Both kernel tables give the same gradients (up to rounding). */
static void test_kernel_tables(void) {
    if (!attn_simd_available()) return;
    attn_use_kernels(ATTN_KERNELS_SCALAR);
    for (int feature = 0; feature < ATTN_FEATURE_COUNT; feature++)
        for (int causal = 0; causal < 2; causal++)
            if (!(causal && feature == ATTN_FEATURE_EFFICIENT))
                attention_case(feature, ATTN_NORMALIZE_NONE, 129, 129, 8, 5, causal, 1e-6,
                               feature == ATTN_FEATURE_DPFP ? 2 : 1, 1);
    attn_use_kernels(ATTN_KERNELS_SIMD);
}

/* Statuses, zero-denominator rows, unseen keys. */
static void test_edges(void) {
    float q[4] = {-1, -2, 0.5f, 1}, k[4] = {1, 2, 0.5f, 0.25f}, v[4] = {1, 2, 3, 4}, g[4] = {1, -1, 2, 0.5f};
    float dq[4], dk[4], dvo[4];
    static float work[65536];
    attn_feature_spec spec;
    size_t floats;
    /* identity, eps 0: query row 0 (1, -1) against z = (1, 1) has denominator 0 */
    float q0[4] = {1, -1, 0.5f, 1}, k0[4] = {0.5f, 0.25f, 0.5f, 0.75f};
    attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0.0f, 1, 0);
    CHECK(attn_linear_attention_backward_workspace(&spec, 2, 2, 2, 2, &floats) == ATTN_OK && floats <= 65536,
          "edge workspace");
    CHECK(attn_linear_attention_backward(&spec, 2, 2, 2, 2, q0, k0, v, 0, 0.0f, g, dq, dk, dvo, work, floats) ==
              ATTN_OK, "zero denominator row");
    CHECK(dq[0] == 0 && dq[1] == 0, "zero denominator: dq row 0 is 0 (%g %g)", dq[0], dq[1]);
    for (int i = 0; i < 4; i++) CHECK(isfinite(dk[i]) && isfinite(dvo[i]), "finite");
    /* causal with m > n: key 1 is seen by no query */
    attn_feature_spec_set(&spec, ATTN_FEATURE_ELU1, 0, NULL, 1, 0.0f, 1, 0);
    CHECK(attn_linear_attention_backward_workspace(&spec, 1, 2, 2, 2, &floats) == ATTN_OK, "workspace m > n");
    CHECK(attn_linear_attention_backward(&spec, 1, 2, 2, 2, q, k, v, 1, 1e-6f, g, dq, dk, dvo, work, floats) == ATTN_OK,
          "m > n causal");
    CHECK(dk[2] == 0 && dk[3] == 0 && dvo[2] == 0 && dvo[3] == 0, "unseen key: gradient 0");
    CHECK(dvo[0] != 0 && dvo[1] != 0, "the seen key has a gradient");

    attn_linear_attention_backward_workspace(&spec, 2, 2, 2, 2, &floats);
#define BWD(...) attn_linear_attention_backward(&spec, __VA_ARGS__)
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, 1e-6f, g, dq, dk, dvo, work, floats - 1) == ATTN_ERR_WORKSPACE, "workspace");
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, 1e-6f, g, dq, dk, dvo, NULL, floats) == ATTN_ERR_WORKSPACE, "no workspace");
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, 1e-6f, NULL, dq, dk, dvo, work, floats) == ATTN_ERR_NULL, "dout NULL");
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, 1e-6f, g, dq, NULL, dvo, work, floats) == ATTN_ERR_NULL, "dk NULL");
    CHECK(BWD(0, 2, 2, 2, q, k, v, 0, 1e-6f, g, dq, dk, dvo, work, floats) == ATTN_ERR_SHAPE, "n = 0");
    CHECK(BWD(2, 2, 2, 0, q, k, v, 0, 1e-6f, g, dq, dk, dvo, work, floats) == ATTN_ERR_SHAPE, "dv = 0");
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, -1.0f, g, dq, dk, dvo, work, floats) == ATTN_ERR_RANGE, "eps < 0");
    float bad[4] = {1, NAN, 0, 0};
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, 1e-6f, bad, dq, dk, dvo, work, floats) == ATTN_ERR_NONFINITE, "dout NaN");
    CHECK(BWD(2, 2, 2, 2, q, bad, v, 0, 1e-6f, g, dq, dk, dvo, work, floats) == ATTN_ERR_NONFINITE, "k NaN");
    float huge[4] = {3e38f, 3e38f, -3e38f, 3e38f};
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, 1e-6f, huge, dq, dk, dvo, work, floats) == ATTN_ERR_OVERFLOW,
          "a gradient beyond float32");
    attn_feature_spec_set(&spec, ATTN_FEATURE_EFFICIENT, 0, NULL, 1, 0.0f, 1, 0);
    CHECK(attn_linear_attention_backward_workspace(&spec, 2, 2, 2, 2, &floats) == ATTN_OK, "workspace");
    CHECK(BWD(2, 2, 2, 2, q, k, v, 1, 1e-6f, g, dq, dk, dvo, work, floats) == ATTN_ERR_RANGE, "efficient causal");
    attn_feature_spec_set(&spec, 42, 0, NULL, 1, 0.0f, 1, 0);
    CHECK(attn_linear_attention_backward_workspace(&spec, 2, 2, 2, 2, &floats) == ATTN_ERR_KIND, "unknown feature");
    CHECK(BWD(2, 2, 2, 2, q, k, v, 0, 1e-6f, g, dq, dk, dvo, work, 65536) == ATTN_ERR_KIND, "unknown feature");
#undef BWD
    attn_feature_spec_set(&spec, ATTN_FEATURE_ELU1, 0, NULL, 1, 0.0f, 1, 0);
    attn_feature_map_backward_workspace(&spec, 2, 2, &floats);
    CHECK(attn_feature_map_backward(&spec, 2, 2, 2, q, g, dq, work, floats) == ATTN_ERR_KIND, "unknown role");
    CHECK(attn_feature_map_backward(&spec, 0, 2, 2, q, bad, dq, work, floats) == ATTN_ERR_NONFINITE, "dphi NaN");
    CHECK(attn_feature_map_backward(&spec, 0, 0, 2, q, g, dq, work, floats) == ATTN_ERR_SHAPE, "n = 0");
    CHECK(attn_feature_map_backward(&spec, 0, 2, 2, NULL, g, dq, work, floats) == ATTN_ERR_NULL, "x NULL");
    /* l2 of a zero row (relu, kernel_eps 0, negative x): forward 0, gradient 0 */
    attn_feature_spec_set(&spec, ATTN_FEATURE_RELU, 0, NULL, 1, 0.0f, 1, ATTN_NORMALIZE_L2);
    attn_feature_map_backward_workspace(&spec, 2, 2, &floats);
    CHECK(attn_feature_map_backward(&spec, 0, 2, 2, q, g, dq, work, floats) == ATTN_OK && dq[0] == 0 && dq[1] == 0,
          "zero row: zero gradient");
}

int main(void) {
    test_edges();
    test_map_backward();
    test_attention_sizes();
    test_attention_variants();
    test_kernel_tables();
    printf("worst error / allowed: %.3g\n", worst_ratio);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
