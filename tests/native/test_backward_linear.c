/*
 * test_backward_linear.c - native tests of the reverse mode of the feature
 * maps, of linear attention and of the fast weight memory
 * (src/features_backward.c, src/linear_backward.c,
 * src/fastweight_backward.c), run under ASan/UBSan and as wasm32 by
 * tests/native/run.sh.
 *
 * Expected values are central differences of a float64 forward written here
 * from the definitions (attn.h, docs/mechanisms.md), independent of src/:
 * phi in double, then linear attention in its RNN form (or the fast weight
 * recurrence) in double. The Performer stabilizers are held at their values
 * at the unperturbed point, as attn.h defines the gradient (stop-gradient).
 *
 * TOLERANCE. Components are compared norm-wise against the size of the
 * terms a float32 gradient sums (a component that cancels to ~0 has no
 * relative accuracy in float32):
 *     |got - fd| <= TOL_PER_TERM * K * scale + FD_ABS,
 *     K = n + m + dim + dv + d   (fast weights: T + dim + dv + d),
 * K being the longest chain of float32 accumulations a component goes
 * through (the sums over keys for S and z, over queries for dS and dz, over
 * features for den and the products with S, over dv for a.v, over d in the
 * Performer's Omega^T). Each such sum of t terms is within t U of the sum
 * of its |terms| (Higham 3.1, U = 2^-24 = 6e-8). scale: for attention, the
 * largest over the tensor of |fd| and of |d(sum c.num)| + |d(sum e den)|,
 * the two parts of dL (c, e frozen at the point) that cancel where the
 * gradient is small (a denominator that hardly depends on the input, e.g.
 * dim = 1); for the map alone, max |fd|; for fast weights, the largest |fd|
 * of all five gradients (see fw_case). A factor 4 for the terms inside a
 * part and 4 for exp's and division's roundings in the maps:
 * TOL_PER_TERM = 16 U = 1e-6. The difference step h = 1e-5 (inputs kept
 * >= 0.05 from the kinks of relu, dpfp and elu+1) gives a truncation error
 * near h^2 |L'''| ~ 1e-10 and a rounding error near 1e-16 |L| / h ~ 1e-11:
 * FD_ABS = 1e-8 covers both. The worst error / allowed seen is printed
 * (0.05 at the time of writing); a change of 0.1 % in one coefficient
 * (b_i, dbeta) fails hundreds of checks.
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

/* ------------------------------------------------- fast weight memory */

typedef struct fw_problem {
    spec64 s;
    int rule;
    size_t T, d, dv;
    const float *g;  /* dL/d outputs [T, dv] */
    double *Cq, *Ck;
} fw_problem;

/* L = sum g.y of the fast weight memory in double, from keys, values,
 * queries, beta, alpha (all [T] arrays). */
static double fw_loss(const fw_problem *p, const double *k, const double *v, const double *q, const double *beta,
                      const double *alpha) {
    const size_t T = p->T, d = p->d, dv = p->dv, dim = dim_of(&p->s, d);
    double *F = malloc(T * dim * sizeof *F), *P = malloc(T * dim * sizeof *P), *W = calloc(dv * dim, sizeof *W);
    phi64(&p->s, ATTN_ROLE_KEY, T, d, k, F, p->Ck, 1);
    phi64(&p->s, ATTN_ROLE_QUERY, T, d, q, P, p->Cq, 1);
    double L = 0;
    for (size_t t = 0; t < T; t++) {
        const double *phi = F + t * dim, *psi = P + t * dim;
        if (p->rule == ATTN_RULE_GATED_DELTA)
            for (size_t i = 0; i < dv * dim; i++) W[i] *= alpha[t];
        for (size_t r = 0; r < dv; r++) {
            double e = v[t * dv + r];
            if (p->rule != ATTN_RULE_SUM) {
                double wphi = 0;
                for (size_t f = 0; f < dim; f++) wphi += W[r * dim + f] * phi[f];
                e = beta[t] * (e - wphi);
            }
            for (size_t f = 0; f < dim; f++) W[r * dim + f] += e * phi[f];
        }
        for (size_t r = 0; r < dv; r++) {
            double y = 0;
            for (size_t f = 0; f < dim; f++) y += W[r * dim + f] * psi[f];
            L += p->g[t * dv + r] * y;
        }
    }
    free(F), free(P), free(W);
    return L;
}

static const char *const rule_names[] = {"sum", "delta", "gated-delta"};

/* One case: every gradient of attn_fast_weights_backward against central
 * differences of fw_loss (beta and alpha per step, in [0.2, 1] and [0.5, 1]). */
static void fw_case(int feature, int normalize, int rule, size_t T, size_t d, size_t dv, int separate_queries) {
    const size_t fm = 8;
    float *omega = inputs(fm, d, 1.0, 0);
    size_t nu = feature == ATTN_FEATURE_DPFP ? (d == 1 ? 1 : 2) : 1;
    fw_problem p = {{feature, normalize, 1, fm, nu, omega, 1e-3}, rule, T, d, dv, inputs(T, dv, 1.0, 0),
                    malloc(T * sizeof(double)), malloc(sizeof(double))};
    int positive = feature == ATTN_FEATURE_TAYLOR;  /* d = 1 and signs apart: phi(q).phi(k) cancels to ~1e-6 */
    float *k = inputs(T, d, 1.0, positive), *v = inputs(T, dv, 1.0, 0), *q = inputs(T, d, 1.0, positive);
    float *beta = malloc(T * sizeof *beta), *alpha = malloc(T * sizeof *alpha);
    for (size_t t = 0; t < T; t++) {
        beta[t] = (float)(0.6 + 0.4 * lcg_uniform());
        alpha[t] = (float)(0.75 + 0.25 * lcg_uniform());
    }
    const float *qq = separate_queries ? q : NULL;
    attn_feature_spec spec;
    attn_feature_spec_set(&spec, feature, fm, omega, nu, 1e-3f, 1, normalize);
    size_t floats = 0, dim = dim_of(&p.s, d);
    char label[160];
    snprintf(label, sizeof label, "fast weights %s %s normalize %d T %zu d %zu dv %zu queries %d", rule_names[rule],
             feature_names[feature], normalize, T, d, dv, separate_queries);
    CHECK(attn_fast_weights_backward_workspace(&spec, T, d, dv, &floats) == ATTN_OK, "%s: workspace", label);
    float *work = malloc(floats * sizeof *work);
    float *dk = malloc(T * d * sizeof *dk), *dvv = malloc(T * dv * sizeof *dvv), *dq = malloc(T * d * sizeof *dq);
    float *db = malloc(T * sizeof *db), *da = malloc(T * sizeof *da);
    attn_status st = attn_fast_weights_backward(&spec, rule, T, d, dv, k, v, qq, beta, 0, alpha, 0, p.g, dk, dvv,
                                                separate_queries ? dq : NULL, db, da, work, floats);
    CHECK(st == ATTN_OK, "%s: %s", label, attn_status_str(st));
    CHECK(attn_fast_weights_backward(&spec, rule, T, d, dv, k, v, qq, beta, 0, alpha, 0, p.g, dk, dvv,
                                     separate_queries ? dq : NULL, db, da, work, floats - 1) == ATTN_ERR_WORKSPACE,
          "%s: small workspace", label);
    if (st == ATTN_OK) {
        double *k64 = widen(k, T * d), *v64 = widen(v, T * dv), *q64 = widen(separate_queries ? q : k, T * d);
        double *b64 = widen(beta, T), *a64 = widen(alpha, T);
        double *tmp = malloc(T * dim * sizeof *tmp);
        phi64(&p.s, ATTN_ROLE_KEY, T, d, k64, tmp, p.Ck, 0);
        phi64(&p.s, ATTN_ROLE_QUERY, T, d, q64, tmp, p.Cq, 0);
        free(tmp);
        struct { const char *name; double *x; size_t count; const float *got; } X[5] = {
            {"dkeys", k64, T * d, dk}, {"dvalues", v64, T * dv, dvv}, {"dqueries", q64, T * d, dq},
            {"dbeta", b64, T, db}, {"dalpha", a64, T, da}};
        size_t K = T + dim + dv + d;
        /* One scale for the five gradients: each is a sum of products of the
         * same factors (g, v, W, phi and its derivative), so the largest of
         * them bounds the terms of the others, also where one cancels to ~0
         * (T = 1 with L2 keys as queries: y = v |phi|^2 = v, dkeys = 0). */
        size_t checked[5] = {0}, idx[5][64];
        double fd[5][64], scale[64], largest = 0;
        for (int x = 0; x < 5; x++) {
            if (x == 2 && !separate_queries) continue;
            pick(X[x].count, 0, &checked[x]);
            for (size_t c = 0; c < checked[x]; c++) {
                size_t e = idx[x][c] = pick(X[x].count, c, &checked[x]);
                double x0 = X[x].x[e], Lp, Lm;
                /* the queries are the keys: perturb both together */
                X[x].x[e] = x0 + FD_STEP;
                if (x == 0 && !separate_queries) q64[e] = X[x].x[e];
                Lp = fw_loss(&p, k64, v64, q64, b64, a64);
                X[x].x[e] = x0 - FD_STEP;
                if (x == 0 && !separate_queries) q64[e] = X[x].x[e];
                Lm = fw_loss(&p, k64, v64, q64, b64, a64);
                X[x].x[e] = x0;
                if (x == 0 && !separate_queries) q64[e] = x0;
                fd[x][c] = (Lp - Lm) / (2 * FD_STEP);
                largest = fmax(largest, fabs(fd[x][c]));
            }
        }
        for (size_t c = 0; c < 64; c++) scale[c] = largest;
        for (int x = 0; x < 5; x++) {
            if (x == 2 && !separate_queries) continue;
            char what[200];
            snprintf(what, sizeof what, "%s %s", label, X[x].name);
            CHECK(compare(what, X[x].got, fd[x], scale, idx[x], checked[x], K), "%s", what);
        }
        /* a scalar beta and alpha: their gradients are the sums over the steps */
        float *db1 = malloc(T * sizeof *db1), *da1 = malloc(T * sizeof *da1);
        for (size_t t = 0; t < T; t++) beta[t] = 0.8f, alpha[t] = 0.9f;
        attn_fast_weights_backward(&spec, rule, T, d, dv, k, v, qq, beta, 0, alpha, 0, p.g, dk, dvv,
                                   separate_queries ? dq : NULL, db, da, work, floats);
        attn_fast_weights_backward(&spec, rule, T, d, dv, k, v, qq, NULL, 0.8f, NULL, 0.9f, p.g, dk, dvv,
                                   separate_queries ? dq : NULL, db1, da1, work, floats);
        int same = 1;
        for (size_t t = 0; t < T; t++) same &= db[t] == db1[t] && da[t] == da1[t];
        CHECK(same, "%s: scalar beta, alpha give the per-step gradients", label);
        free(db1), free(da1);
        free(k64), free(v64), free(q64), free(b64), free(a64);
    }
    free(work), free(dk), free(dvv), free(dq), free(db), free(da), free(omega), free(k), free(v), free(q);
    free(beta), free(alpha), free((void *)p.g), free(p.Cq), free(p.Ck);
}

static void test_fast_weights_backward(void) {
    static const size_t Ts[] = {1, 3, 4, 5, 17, 33, 129};
    static const int maps[][2] = {{ATTN_FEATURE_DPFP, ATTN_NORMALIZE_SUM}, {ATTN_FEATURE_DPFP, ATTN_NORMALIZE_L2},
                                  {ATTN_FEATURE_ELU1, ATTN_NORMALIZE_L2}, {ATTN_FEATURE_FAVOR_POS, ATTN_NORMALIZE_SUM},
                                  {ATTN_FEATURE_IDENTITY, ATTN_NORMALIZE_L2}, {ATTN_FEATURE_TAYLOR, ATTN_NORMALIZE_L2}};
    for (int rule = 0; rule < ATTN_RULE_COUNT; rule++)
        for (size_t z = 0; z < sizeof maps / sizeof *maps; z++)
            for (size_t a = 0; a < sizeof Ts / sizeof *Ts; a++) {
                if (Ts[a] == 129 && z > 1) continue;
                fw_case(maps[z][0], maps[z][1], rule, Ts[a], 8, 3, a % 2);
                if (Ts[a] <= 17) fw_case(maps[z][0], maps[z][1], rule, Ts[a], 1, 2, 1);
            }
    fw_case(ATTN_FEATURE_DPFP, ATTN_NORMALIZE_SUM, ATTN_RULE_GATED_DELTA, 17, 64, 3, 1);
    fw_case(ATTN_FEATURE_FAVOR_HYP, ATTN_NORMALIZE_L2, ATTN_RULE_DELTA, 33, 16, 3, 0);  /* m = 8 < d */
    /* statuses */
    float x[4] = {1, 2, 3, 4}, out[64], work[4096];
    attn_feature_spec spec;
    attn_feature_spec_set(&spec, ATTN_FEATURE_EFFICIENT, 0, NULL, 1, 0.0f, 1, 0);
    CHECK(attn_fast_weights_backward(&spec, 0, 2, 2, 2, x, x, NULL, NULL, 1, NULL, 1, x, out, out, NULL, NULL, NULL,
                                     work, 4096) == ATTN_ERR_RANGE, "efficient refused");
    attn_feature_spec_set(&spec, ATTN_FEATURE_ELU1, 0, NULL, 1, 0.0f, 1, 0);
    CHECK(attn_fast_weights_backward(&spec, 3, 2, 2, 2, x, x, NULL, NULL, 1, NULL, 1, x, out, out, NULL, NULL, NULL,
                                     work, 4096) == ATTN_ERR_KIND, "unknown rule");
    CHECK(attn_fast_weights_backward(&spec, 1, 2, 2, 2, x, x, x, NULL, 1, NULL, 1, x, out, out, NULL, NULL, NULL,
                                     work, 4096) == ATTN_ERR_NULL, "queries without dqueries");
    CHECK(attn_fast_weights_backward(&spec, 1, 2, 2, 2, x, x, NULL, NULL, 1.5f, NULL, 1, x, out, out, NULL, NULL,
                                     NULL, work, 4096) == ATTN_ERR_RANGE, "beta > 1");
    float bad[4] = {0, INFINITY, 0, 0};
    CHECK(attn_fast_weights_backward(&spec, 1, 2, 2, 2, x, x, NULL, NULL, 1, NULL, 1, bad, out, out, NULL, NULL, NULL,
                                     work, 4096) == ATTN_ERR_NONFINITE, "doutputs infinite");
    CHECK(attn_fast_weights_backward(&spec, 1, 0, 2, 2, x, x, NULL, NULL, 1, NULL, 1, x, out, out, NULL, NULL, NULL,
                                     work, 4096) == ATTN_ERR_SHAPE, "T = 0");
}

int main(void) {
    test_edges();
    test_map_backward();
    test_attention_sizes();
    test_attention_variants();
    test_kernel_tables();
    test_fast_weights_backward();
    printf("worst error / allowed: %.3g\n", worst_ratio);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
