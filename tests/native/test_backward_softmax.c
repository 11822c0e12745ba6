/*
 * test_backward_softmax.c - the gradients of softmax and sparse attention
 * (src/softmax_backward.c, attn_sparse_attention_backward in src/sparse.c)
 * against float64, with both kernel tables.
 *
 * The oracle, written here independently of src/:
 *   1. a float64 forward Y(Q, K, V) (scale, causal, dense mask) and the loss
 *      L = sum dY o Y for a fixed random dY, so that dL/dY = dY;
 *   2. its gradient in float64 by the formulas of attn.h, checked against
 *      central differences of L, (L(x + h) - L(x - h)) / 2h, at sampled
 *      entries of Q, K and V (every size: rows 0, the last, and random ones);
 *   3. every entry of the core's float32 gradients against (2), at n in
 *      {1, 3, 4, 5, 17, 33, 129} (tile edges: panels of 4, strips of 8,
 *      blocks of 32, tiles of 128 keys), d in {1, 8, 64}, m = n and m != n,
 *      causal and not, with and without a mask (including a fully blocked
 *      row), lse recomputed and given, both kernel tables, and the sparse
 *      backward on the same mask as CSR.
 *
 * Tolerances (derived, not tuned):
 *   central differences: h = 2^-12 on inputs of magnitude <= 1.5. The
 *     truncation error is h^2/6 |L'''| and L''' of a softmax with logits of
 *     at most |s| <= 4 and |v|, |dY| <= 1 stays below ~100 per unit (each
 *     derivative of exp(s) brings |scale k| <= 1.5, three of them, times
 *     sums of at most a few P-weighted terms): 6e-8 / 6 * 100 = 1e-6. The
 *     rounding error, 1e-16 |L| / h with |L| <= n dv ~ 1e4, is 4e-9. So
 *     |fd - exact| <= FD_TOL (1 + |terms|) with FD_TOL = 1e-5 (a margin of
 *     10), |terms| the magnitude sum below.
 *   float32 gradients: u = 2^-24. A logit carries an error up to
 *     gamma(d + 1) A_ij (A_ij = |scale| sum_l |q_il k_jl|), lse up to
 *     gamma(d + 1) max_j A_ij + m u + u |lse| (its float32 sum and rounding),
 *     exp 3e-7 (5 u): so P_ij has a relative error below (d (1 + 2 Amax) +
 *     m + |lse| + 5) u. dP_ij and D_i are dv-term dot products (and Y's own
 *     error), and each gradient entry sums n or m products. So every entry
 *     is within eps * mag with
 *       eps = 4 u (d (1 + 2 Amax) + dv + n + m + |lse|max + 8)
 *     (the factor 4 covers the few roundings per product and the composition
 *     of the first-order bounds) and mag the sum of the magnitudes of the
 *     terms that make the entry:
 *       T_ij  = sum_c |dY_ic| |v_jc| + sum_c |dY_ic| sum_j' P_ij' |v_j'c|
 *       dq_ic: |scale| sum_j P_ij T_ij |k_jc|
 *       dk_jc: |scale| sum_i P_ij T_ij |q_ic|
 *       dv_jc: sum_i P_ij |dY_ic|
 *     A missing term or a wrong sign errs by about mag itself (>= 1 / eps).
 *   scalar against SIMD: both within eps * mag of float64: 2 eps * mag.
 *
 * Output: failures, then "# worst" lines (error / tolerance, <= 1 passes),
 * then "N passed, N failed".
 */
#include "../../src/attn.h"
#include "../../src/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define U32 (FLT_EPSILON / 2)
#define FD_TOL 1e-5
#define FD_H (1.0 / 4096)
#define EXP_REL 3e-7

/* ------------------------------------------------------------ inputs */

static uint64_t lcg_state = 11;
static double lcg_unit(void) {  /* in [0, 1) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}
static float *random_floats(size_t count, double amplitude) {  /* in [-amplitude, amplitude) */
    float *x = malloc((count ? count : 1) * sizeof *x);
    for (size_t i = 0; i < count; i++) x[i] = (float)(amplitude * (2 * lcg_unit() - 1));
    return x;
}

/* Worst error / tolerance per comparison kind, printed at the end. */
enum { W_FD, W_SIMD, W_SCALAR, W_LSE_GIVEN, W_SPARSE, W_TWINS, W_LSE, W_KERNELS, W_COUNT };
static const char *const W_NAMES[W_COUNT] = {"float64 gradient vs central differences", "simd vs float64",
                                             "scalar vs float64", "lse given vs float64", "sparse vs float64",
                                             "simd vs scalar", "lse vs float64", "panel_exp, panel_ds"};
static double worst[W_COUNT];

static double ratio(double err, double tol) {
    if (isnan(err)) return INFINITY;
    return err <= tol ? err / (tol > 0 ? tol : 1) : err / (tol > 0 ? tol : DBL_MIN);
}

/* ------------------------------------------------------------ float64 reference */

typedef struct problem {
    size_t n, m, d, dv;
    double scale;
    int causal;
    const uint8_t *mask;  // [n, m] or NULL
} problem;

static int allowed(const problem *pb, size_t i, size_t j) {
    return !(pb->causal && j > i) && (!pb->mask || pb->mask[i * pb->m + j]);
}

/* L = sum dY o Y for double inputs. */
static double loss64(const problem *pb, const double *q, const double *k, const double *v, const double *dy,
                     double *s) {  // s: [m] scratch
    double L = 0;
    for (size_t i = 0; i < pb->n; i++) {
        double mx = -INFINITY;
        for (size_t j = 0; j < pb->m; j++) {
            if (!allowed(pb, i, j)) continue;
            double acc = 0;
            for (size_t l = 0; l < pb->d; l++) acc += q[i * pb->d + l] * k[j * pb->d + l];
            s[j] = pb->scale * acc;
            if (s[j] > mx) mx = s[j];
        }
        if (mx == -INFINITY) continue;
        double sum = 0;
        for (size_t j = 0; j < pb->m; j++)
            if (allowed(pb, i, j)) sum += exp(s[j] - mx);
        for (size_t j = 0; j < pb->m; j++) {
            if (!allowed(pb, i, j)) continue;
            double p = exp(s[j] - mx) / sum, pv = 0;
            for (size_t c = 0; c < pb->dv; c++) pv += dy[i * pb->dv + c] * v[j * pb->dv + c];
            L += p * pv;
        }
    }
    return L;
}

/* The exact gradients (formulas of attn.h) in double, their magnitude sums
 * (the header's mag), lse, and Amax. */
typedef struct reference {
    double *dq, *dk, *dv, *aq, *ak, *av, *lse;
    double amax, lse_max;
} reference;

static void reference64(const problem *pb, const double *q, const double *k, const double *v, const double *dy,
                        reference *R) {
    size_t n = pb->n, m = pb->m, d = pb->d, dv = pb->dv;
    double as = fabs(pb->scale);
    double *p = calloc(m, sizeof *p), *t = calloc(m, sizeof *t), *y = calloc(dv, sizeof *y), *ya = calloc(dv, sizeof *ya);
    memset(R->dq, 0, n * d * sizeof *R->dq); memset(R->aq, 0, n * d * sizeof *R->aq);
    memset(R->dk, 0, m * d * sizeof *R->dk); memset(R->ak, 0, m * d * sizeof *R->ak);
    memset(R->dv, 0, m * dv * sizeof *R->dv); memset(R->av, 0, m * dv * sizeof *R->av);
    R->amax = 0;
    R->lse_max = 0;
    for (size_t i = 0; i < n; i++) {
        double mx = -INFINITY;
        for (size_t j = 0; j < m; j++) {
            double acc = 0, a = 0;
            for (size_t l = 0; l < d; l++) {
                acc += q[i * d + l] * k[j * d + l];
                a += fabs(q[i * d + l] * k[j * d + l]);
            }
            if (as * a > R->amax) R->amax = as * a;
            p[j] = allowed(pb, i, j) ? pb->scale * acc : -INFINITY;
            if (p[j] > mx) mx = p[j];
        }
        R->lse[i] = 0;
        if (mx == -INFINITY) continue;
        double sum = 0;
        for (size_t j = 0; j < m; j++) sum += p[j] == -INFINITY ? 0 : exp(p[j] - mx);
        R->lse[i] = mx + log(sum);
        if (fabs(R->lse[i]) > R->lse_max) R->lse_max = fabs(R->lse[i]);
        for (size_t j = 0; j < m; j++) p[j] = p[j] == -INFINITY ? 0 : exp(p[j] - mx) / sum;
        for (size_t c = 0; c < dv; c++) {
            y[c] = ya[c] = 0;
            for (size_t j = 0; j < m; j++) {
                y[c] += p[j] * v[j * dv + c];
                ya[c] += p[j] * fabs(v[j * dv + c]);
            }
        }
        double D = 0, Da = 0;
        for (size_t c = 0; c < dv; c++) {
            D += dy[i * dv + c] * y[c];
            Da += fabs(dy[i * dv + c]) * ya[c];
        }
        for (size_t j = 0; j < m; j++) {
            if (p[j] == 0) continue;
            double dp = 0, dpa = 0;
            for (size_t c = 0; c < dv; c++) {
                dp += dy[i * dv + c] * v[j * dv + c];
                dpa += fabs(dy[i * dv + c] * v[j * dv + c]);
            }
            double ds = p[j] * (dp - D);
            t[j] = p[j] * (dpa + Da);
            for (size_t l = 0; l < d; l++) {
                R->dq[i * d + l] += pb->scale * ds * k[j * d + l];
                R->aq[i * d + l] += as * t[j] * fabs(k[j * d + l]);
                R->dk[j * d + l] += pb->scale * ds * q[i * d + l];
                R->ak[j * d + l] += as * t[j] * fabs(q[i * d + l]);
            }
            for (size_t c = 0; c < dv; c++) {
                R->dv[j * dv + c] += p[j] * dy[i * dv + c];
                R->av[j * dv + c] += p[j] * fabs(dy[i * dv + c]);
            }
        }
    }
    free(p); free(t); free(y); free(ya);
}

/* Central differences of L at sampled entries of one input x (q, k or v,
 * count entries) against the exact gradient g, tolerance FD_TOL (1 + mag). */
static void check_fd(const problem *pb, double *q, double *k, double *v, const double *dy, double *x, size_t count,
                     const double *g, const double *mag, const char *what) {
    double *s = calloc(pb->m, sizeof *s);
    size_t samples = count <= 24 ? count : (pb->n > 40 ? 6 : 12);
    for (size_t e = 0; e < samples; e++) {
        size_t at = samples == count ? e : e == 0 ? 0 : e == 1 ? count - 1 : (size_t)(lcg_unit() * count);
        double keep = x[at];
        x[at] = keep + FD_H;
        double up = loss64(pb, q, k, v, dy, s);
        x[at] = keep - FD_H;
        double down = loss64(pb, q, k, v, dy, s);
        x[at] = keep;
        double fd = (up - down) / (2 * FD_H), tol = FD_TOL * (1 + mag[at]);
        double r = ratio(fabs(fd - g[at]), tol);
        if (r > worst[W_FD]) worst[W_FD] = r;
        CHECK(r <= 1, "central difference d%s[%zu] n %zu m %zu d %zu causal %d mask %d: fd %.9g exact %.9g", what, at,
              pb->n, pb->m, pb->d, pb->causal, pb->mask != NULL, fd, g[at]);
    }
    free(s);
}

/* Every entry of a float32 gradient against the reference. */
static void check_grad(const float *got, const double *want, const double *mag, size_t count, double eps, int kind,
                       const problem *pb, const char *what, const char *how) {
    for (size_t x = 0; x < count; x++) {
        double r = ratio(fabs(got[x] - want[x]), eps * mag[x]);
        if (r > worst[kind]) worst[kind] = r;
        if (r > 1) {
            CHECK(0, "%s %s[%zu] n %zu m %zu d %zu dv %zu causal %d mask %d: got %.9g want %.9g (mag %.3g)", how,
                  what, x, pb->n, pb->m, pb->d, pb->dv, pb->causal, pb->mask != NULL, got[x], want[x], mag[x]);
            return;
        }
    }
    passed++;
}

/* ------------------------------------------------------------ one problem */

static double *to_f64(const float *x, size_t count) {
    double *y = malloc((count ? count : 1) * sizeof *y);
    for (size_t i = 0; i < count; i++) y[i] = x[i];
    return y;
}

typedef struct grads {
    float *dq, *dk, *dv;
} grads;

static grads grads_new(size_t n, size_t m, size_t d, size_t dv) {
    grads G = {random_floats(n * d, 9), random_floats(m * d, 9), random_floats(m * dv, 9)};  /* garbage: all overwritten */
    return G;
}
static void grads_free(grads G) { free(G.dq); free(G.dk); free(G.dv); }

/* The CSR of the problem's allowed pairs (causal AND mask). */
static void csr_of(const problem *pb, int32_t *indptr, int32_t *indices) {
    size_t t = 0;
    indptr[0] = 0;
    for (size_t i = 0; i < pb->n; i++) {
        for (size_t j = 0; j < pb->m; j++)
            if (allowed(pb, i, j)) indices[t++] = (int32_t)j;
        indptr[i + 1] = (int32_t)t;
    }
}

static void run_problem(size_t n, size_t m, size_t d, size_t dv, int causal, int with_mask) {
    problem pb = {n, m, d, dv, 1.0 / sqrt((double)d), causal, NULL};
    float scale = (float)pb.scale;
    /* Logits up to about 3 (amplitude 1.5 at d = 1 gives |s| <= 2.25; at d = 64 the sums of
     * 64 products stay near sqrt(64) * 0.75 scale = 0.75 on average, up to ~3). */
    float *q = random_floats(n * d, 1.5), *k = random_floats(m * d, 1.5), *v = random_floats(m * dv, 1);
    float *dy = random_floats(n * dv, 1);
    uint8_t *mask = NULL;
    if (with_mask) {
        mask = malloc(n * m);
        for (size_t x = 0; x < n * m; x++) mask[x] = lcg_unit() < 0.6;
        if (n > 1) memset(mask + m, 0, m);  /* row 1 has no allowed key */
        pb.mask = mask;
    }
    double *q64 = to_f64(q, n * d), *k64 = to_f64(k, m * d), *v64 = to_f64(v, m * dv), *dy64 = to_f64(dy, n * dv);
    reference R = {calloc(n * d, 8), calloc(m * d, 8), calloc(m * dv, 8), calloc(n * d, 8), calloc(m * d, 8),
                   calloc(m * dv, 8), calloc(n, 8), 0, 0};
    reference64(&pb, q64, k64, v64, dy64, &R);
    /* (2) the float64 gradient against central differences */
    check_fd(&pb, q64, k64, v64, dy64, q64, n * d, R.dq, R.aq, "q");
    check_fd(&pb, q64, k64, v64, dy64, k64, m * d, R.dk, R.ak, "k");
    check_fd(&pb, q64, k64, v64, dy64, v64, m * dv, R.dv, R.av, "v");

    double eps = 4 * U32 * ((double)d * (1 + 2 * R.amax) + (double)dv + (double)n + (double)m + R.lse_max + 8);
    size_t floats = 0, fwd_floats = 0;
    CHECK(attn_softmax_attention_backward_workspace(n, m, d, dv, &floats) == ATTN_OK, "workspace");
    CHECK(attn_softmax_attention_workspace(n, m, d, dv, &fwd_floats) == ATTN_OK, "forward workspace");
    float *work = malloc(attn__maxsz(floats, fwd_floats) * sizeof *work);
    float *out = malloc(n * dv * sizeof *out), *out2 = malloc(n * dv * sizeof *out2), *lse = malloc(n * sizeof *lse);
    int32_t *indptr = malloc((n + 1) * sizeof *indptr), *indices = malloc(n * m * sizeof *indices);
    csr_of(&pb, indptr, indices);
    float *swork = malloc(2 * m * sizeof *swork);

    grads by_table[2] = {grads_new(n, m, d, dv), grads_new(n, m, d, dv)};
    for (int table = ATTN_KERNELS_SCALAR; table <= ATTN_KERNELS_SIMD; table++) {
        if (attn_use_kernels(table) != ATTN_OK) continue;
        const char *how = table == ATTN_KERNELS_SIMD ? "simd" : "scalar";
        int kind = table == ATTN_KERNELS_SIMD ? W_SIMD : W_SCALAR;
        grads G = by_table[table];
        /* lse recomputed (out not read) */
        attn_status st = attn_softmax_attention_backward(n, m, d, dv, q, k, v, scale, causal, mask, NULL, NULL, dy, G.dq,
                                                         G.dk, G.dv, work, floats);
        CHECK(st == ATTN_OK, "%s backward n %zu d %zu: %s", how, n, d, attn_status_code(st));
        check_grad(G.dq, R.dq, R.aq, n * d, eps, kind, &pb, "dq", how);
        check_grad(G.dk, R.dk, R.ak, m * d, eps, kind, &pb, "dk", how);
        check_grad(G.dv, R.dv, R.av, m * dv, eps, kind, &pb, "dv", how);

        /* the forward's lse: against float64, out bit for bit the plain forward's */
        st = attn_softmax_attention_lse(n, m, d, dv, q, k, v, scale, causal, mask, out, lse, work, fwd_floats);
        CHECK(st == ATTN_OK, "forward lse: %s", attn_status_code(st));
        st = attn_softmax_attention(n, m, d, dv, q, k, v, scale, causal, mask, out2, work, fwd_floats);
        CHECK(st == ATTN_OK && memcmp(out, out2, n * dv * sizeof *out) == 0, "lse forward's output differs");
        for (size_t i = 0; i < n; i++) {
            /* lse: d-term logits, an m-term float32 sum, two roundings */
            double tol = U32 * ((double)(d + 2) * R.amax + (double)m + 2 * fabs(R.lse[i]) + 4);
            double r = ratio(fabs(lse[i] - R.lse[i]), tol);
            if (r > worst[W_LSE]) worst[W_LSE] = r;
            CHECK(r <= 1, "%s lse[%zu] n %zu: got %.9g want %.9g", how, i, n, lse[i], R.lse[i]);
        }
        /* lse given */
        grads H = grads_new(n, m, d, dv);
        st = attn_softmax_attention_backward(n, m, d, dv, q, k, v, scale, causal, mask, out, lse, dy, H.dq, H.dk, H.dv,
                                             work, floats);
        CHECK(st == ATTN_OK, "%s backward with lse: %s", how, attn_status_code(st));
        check_grad(H.dq, R.dq, R.aq, n * d, eps, W_LSE_GIVEN, &pb, "dq", "lse given");
        check_grad(H.dk, R.dk, R.ak, m * d, eps, W_LSE_GIVEN, &pb, "dk", "lse given");
        check_grad(H.dv, R.dv, R.av, m * dv, eps, W_LSE_GIVEN, &pb, "dv", "lse given");
        /* sparse over the same pairs */
        st = attn_sparse_attention_backward(n, m, d, dv, q, k, v, scale, indptr, indices, dy, H.dq, H.dk, H.dv, swork,
                                            2 * m);
        CHECK(st == ATTN_OK, "%s sparse backward: %s", how, attn_status_code(st));
        check_grad(H.dq, R.dq, R.aq, n * d, eps, W_SPARSE, &pb, "dq", "sparse");
        check_grad(H.dk, R.dk, R.ak, m * d, eps, W_SPARSE, &pb, "dk", "sparse");
        check_grad(H.dv, R.dv, R.av, m * dv, eps, W_SPARSE, &pb, "dv", "sparse");
        grads_free(H);
    }
#if ATTN__HAVE_SIMD
    /* the twins: scalar against SIMD */
    {
        const float *a[3] = {by_table[0].dq, by_table[0].dk, by_table[0].dv};
        const float *b[3] = {by_table[1].dq, by_table[1].dk, by_table[1].dv};
        const double *mags[3] = {R.aq, R.ak, R.av};
        size_t counts[3] = {n * d, m * d, m * dv};
        for (int x = 0; x < 3; x++) {
            double *as64 = to_f64(a[x], counts[x]);
            check_grad(b[x], as64, mags[x], counts[x], 2 * eps, W_TWINS, &pb, x == 0 ? "dq" : x == 1 ? "dk" : "dv",
                       "simd vs scalar");
            free(as64);
        }
    }
    attn_use_kernels(ATTN_KERNELS_SIMD);
#endif
    grads_free(by_table[0]); grads_free(by_table[1]);
    free(q); free(k); free(v); free(dy); free(mask); free(q64); free(k64); free(v64); free(dy64);
    free(R.dq); free(R.dk); free(R.dv); free(R.aq); free(R.ak); free(R.av); free(R.lse);
    free(work); free(out); free(out2); free(lse); free(indptr); free(indices); free(swork);
}

/* ------------------------------------------------------------ the new kernels alone */

static void test_kernels(void) {
    static const size_t ROWS[] = {1, 3, 4, 5, 128, 129};
    const attn__kernels *tables[2] = {&attn__kernels_scalar,
#if ATTN__HAVE_SIMD
                                      &attn__kernels_simd
#else
                                      NULL
#endif
    };
    for (int t = 0; t < 2; t++) {
        if (!tables[t]) continue;
        for (size_t x = 0; x < sizeof ROWS / sizeof *ROWS; x++) {
            size_t rows = ROWS[x];
            float *panel = random_floats(4 * rows, 20), *dp = random_floats(4 * rows, 3);
            float shift[4] = {25, 0.5f, -3, 20}, dd[4] = {0.25f, -1, 0, 2};
            panel[0] = -INFINITY;
            if (rows > 2) panel[5] = 30;  /* above its shift 0.5: exp(min(., 0)) = 1 */
            double *want = malloc(4 * rows * sizeof *want), *want_ds = malloc(4 * rows * sizeof *want_ds);
            for (size_t j = 0; j < rows; j++)
                for (size_t r = 0; r < 4; r++) {
                    double e = (double)panel[4 * j + r] - shift[r];  /* exact in double */
                    want[4 * j + r] = exp(e < 0 ? e : 0);
                }
            tables[t]->panel_exp(rows, panel, shift);
            for (size_t e = 0; e < 4 * rows; e++) {
                /* one rounding of the difference (u |x - shift|, |x - shift| <= 45) then exp */
                double tol = want[e] * (EXP_REL + 50 * U32) + (want[e] < 1e-37 ? 1.2e-38 : 0);
                double r = ratio(fabs(panel[e] - want[e]), tol);
                if (r > worst[W_KERNELS]) worst[W_KERNELS] = r;
                CHECK(r <= 1, "%s panel_exp rows %zu [%zu]: %.9g vs %.9g", tables[t]->name, rows, e, panel[e], want[e]);
            }
            for (size_t j = 0; j < rows; j++)
                for (size_t r = 0; r < 4; r++)
                    want_ds[4 * j + r] = (double)panel[4 * j + r] * ((double)dp[4 * j + r] - dd[r]);
            tables[t]->panel_ds(rows, panel, dp, dd);
            for (size_t e = 0; e < 4 * rows; e++) {
                double tol = 2 * U32 * fabs(want_ds[e]) + 2 * U32 * fabs(panel[e]) * fabs(dd[e % 4]) + 1e-45;
                double r = ratio(fabs(dp[e] - want_ds[e]), tol);
                if (r > worst[W_KERNELS]) worst[W_KERNELS] = r;
                CHECK(r <= 1, "%s panel_ds rows %zu [%zu]: %.9g vs %.9g", tables[t]->name, rows, e, dp[e], want_ds[e]);
            }
            free(panel); free(dp); free(want); free(want_ds);
        }
    }
}

/* ------------------------------------------------------------ errors and memory */

static void test_errors(void) {
    float q[8] = {1, 2, 3, 4, 5, 6, 7, 8}, k[8] = {1, 0, 0, 1, 1, 1, -1, 0}, v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float dy[8] = {1, 1, 1, 1, 1, 1, 1, 1}, g1[8], g2[8], g3[8], out[8], lse[4];
    size_t floats;
    CHECK(attn_softmax_attention_backward_workspace(4, 4, 2, 2, NULL) == ATTN_ERR_NULL, "workspace NULL");
    CHECK(attn_softmax_attention_backward_workspace(4, 4, 2, 2, &floats) == ATTN_OK, "workspace");
    float *work = malloc(floats * sizeof *work);
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, q, k, v, 1, 0, NULL, NULL, NULL, dy, g1, g2, g3, work, floats) ==
              ATTN_OK, "ok");
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, q, k, v, 1, 0, NULL, NULL, NULL, dy, g1, g2, g3, work,
                                          floats - 1) == ATTN_ERR_WORKSPACE, "workspace short");
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, q, k, v, 1, 0, NULL, NULL, lse, dy, g1, g2, g3, work, floats) ==
              ATTN_ERR_NULL, "lse without out");
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, q, k, v, 1, 0, NULL, NULL, NULL, NULL, g1, g2, g3, work,
                                          floats) == ATTN_ERR_NULL, "dy NULL");
    CHECK(attn_softmax_attention_backward(0, 4, 2, 2, q, k, v, 1, 0, NULL, NULL, NULL, dy, g1, g2, g3, work, floats) ==
              ATTN_ERR_SHAPE, "n 0");
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, q, k, v, NAN, 0, NULL, NULL, NULL, dy, g1, g2, g3, work,
                                          floats) == ATTN_ERR_RANGE, "scale NaN");
    dy[3] = INFINITY;
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, q, k, v, 1, 0, NULL, NULL, NULL, dy, g1, g2, g3, work, floats) ==
              ATTN_ERR_NONFINITE, "dy inf");
    dy[3] = 1;
    size_t ffl;
    attn_softmax_attention_workspace(4, 4, 2, 2, &ffl);
    float *fwork = malloc(ffl * sizeof *fwork);
    CHECK(attn_softmax_attention_lse(4, 4, 2, 2, q, k, v, 1, 0, NULL, out, NULL, fwork, ffl) == ATTN_ERR_NULL,
          "lse NULL");
    CHECK(attn_softmax_attention_lse(4, 4, 2, 2, q, k, v, 1, 0, NULL, out, lse, fwork, ffl) == ATTN_OK, "lse");
    lse[2] = NAN;
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, q, k, v, 1, 0, NULL, out, lse, dy, g1, g2, g3, work, floats) ==
              ATTN_ERR_NONFINITE, "lse NaN");
    /* overflowing logits: as the forward */
    float big[8] = {1e20f, 1e20f, 1e20f, 1e20f, 1e20f, 1e20f, 1e20f, 1e20f};
    CHECK(attn_softmax_attention_backward(4, 4, 2, 2, big, big, v, 1, 0, NULL, NULL, NULL, dy, g1, g2, g3, work,
                                          floats) == ATTN_ERR_OVERFLOW, "logit overflow");
    /* a gradient beyond float32: dY . v = 2 * 3e38 */
    float huge[8] = {3e38f, 3e38f, -3e38f, -3e38f, 3e38f, -3e38f, 1, 1};
    float dyh[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    attn_status st = attn_softmax_attention_backward(4, 4, 2, 2, q, k, huge, 1, 0, NULL, NULL, NULL, dyh, g1, g2, g3,
                                                     work, floats);
    CHECK(st == ATTN_ERR_OVERFLOW, "gradient overflow: %s", attn_status_code(st));
    /* sparse: CSR checks, workspace */
    int32_t indptr[5] = {0, 2, 2, 3, 5}, indices[5] = {0, 3, 1, 1, 2}, bad[5] = {0, 3, 1, 2, 1};
    float sw[8];
    CHECK(attn_sparse_attention_backward(4, 4, 2, 2, q, k, v, 1, indptr, indices, dy, g1, g2, g3, sw, 4) == ATTN_OK,
          "sparse ok");
    CHECK(g1[2] == 0 && g1[3] == 0, "sparse: a row without keys has dq 0");
    CHECK(attn_sparse_attention_backward(4, 4, 2, 2, q, k, v, 1, indptr, indices, dy, g1, g2, g3, sw, 3) ==
              ATTN_ERR_WORKSPACE, "sparse workspace");
    CHECK(attn_sparse_attention_backward(4, 4, 2, 2, q, k, v, 1, indptr, bad, dy, g1, g2, g3, sw, 4) == ATTN_ERR_RANGE,
          "sparse unsorted");
    CHECK(attn_sparse_attention_backward(4, 4, 2, 2, big, big, v, 1, indptr, indices, dy, g1, g2, g3, sw, 4) ==
              ATTN_ERR_OVERFLOW, "sparse overflow");
    /* the workspace does not grow with n */
    size_t w16, w16384;
    attn_softmax_attention_backward_workspace(16, 64, 16, 16, &w16);
    attn_softmax_attention_backward_workspace(16384, 64, 16, 16, &w16384);
    CHECK(w16 == w16384, "workspace depends on n: %zu vs %zu", w16, w16384);
    CHECK(attn_softmax_attention_backward_workspace(1, SIZE_MAX / 2, 64, 64, &floats) == ATTN_ERR_MEMORY,
          "workspace overflow");
    free(work);
    free(fwork);
}

int main(void) {
    static const size_t NS[] = {1, 3, 4, 5, 17, 33, 129};
    static const size_t DS[] = {1, 8, 64};
    test_kernels();
    test_errors();
    for (size_t a = 0; a < sizeof NS / sizeof *NS; a++)
        for (size_t b = 0; b < sizeof DS / sizeof *DS; b++)
            for (int causal = 0; causal <= 1; causal++)
                for (int mask = 0; mask <= 1; mask++) {
                    size_t n = NS[a], d = DS[b];
                    size_t dv = d == 8 ? 13 : d;  /* a value width that is not a whole strip */
                    run_problem(n, n, d, dv, causal, mask);
                    if (n == 5 || n == 33) run_problem(n, n == 5 ? 17 : 131, d, dv, causal, mask);  /* m != n */
                }
    for (int w = 0; w < W_COUNT; w++) printf("# worst %-42s %.3g\n", W_NAMES[w], worst[w]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
