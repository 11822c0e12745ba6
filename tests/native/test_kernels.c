/*
 * test_kernels.c - every entry of the kernel table (src/internal.h,
 * attn__kernels) tested on its own, for both tables (scalar and SIMD), at row
 * counts {1, 2, 3, 4, 5, 127, 128, 129} and column / key / length counts
 * around the 4- and 8-float widths, so that every vector loop and every
 * scalar tail runs. Each result is compared with a float64 evaluation of the
 * kernel's definition (internal.h) written here, independently of src/.
 * Built and run by tests/native/run.sh under ASan/UBSan (and as wasm32).
 *
 * Output: one line per failure, a "# worst" line per table, then
 * "N passed, N failed".
 */
#include "../../src/attn.h"
#include "../../src/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ tolerances */

/* Unit roundoff of float32 (round to nearest). */
#define U32 (FLT_EPSILON / 2)
/* A sum of `terms` float32 products (or terms), accumulated in any order and
 * any blocking: |error| <= gamma(terms) * sum |term| with gamma(t) = t u /
 * (1 - t u) (Higham, Accuracy and Stability, 3.1). The dot, gemm, scores and
 * P V kernels are checked against this bound, so no constant is tuned to the
 * code: it holds for the scalar loop and for any SIMD blocking alike. */
static double gamma_n(double terms) { return terms * U32 / (1 - terms * U32); }
/* exp: the SIMD exp's maximum relative error (kernels.c measures 1.05e-7
 * before float32 rounding; test_core.c asserts < 3e-7 over [-87.3, 0]); libm
 * expf is within one ulp (1.2e-7). Arguments here are exact in float32 (data
 * on a 2^-8 grid), so this is the only error of each exp. */
#define EXP_REL 3e-7
/* A float32 value that no kernel writes: marks padding that must stay. */
#define SENTINEL 1234.5f

#include "check.h"

/* ------------------------------------------------------------ test inputs */

/* Deterministic inputs from a tiny LCG (independent of attn_rng). */
static uint64_t lcg_state = 7;
static double lcg_unit(void) {  /* in [0, 1) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}
static float *random_floats(size_t count, float amplitude) {  /* in [-amplitude, amplitude) */
    float *x = malloc((count ? count : 1) * sizeof *x);
    for (size_t i = 0; i < count; i++) x[i] = amplitude * (float)(2 * lcg_unit() - 1);
    return x;
}
/* On the 2^-8 grid in [lo, hi): differences of such values are exact in float32. */
static float grid_value(double lo, double hi) { return (float)(floor((lo + (hi - lo) * lcg_unit()) * 256) / 256); }

/* |got - want| <= tol, as a ratio (0 when within; +inf for NaN). */
static double excess(double got, double want, double tol) {
    double err = fabs(got - want);
    if (err <= tol) return 0;
    return isnan(err) ? INFINITY : err / (tol > 0 ? tol : DBL_MIN);
}

static const size_t ROWS[] = {1, 2, 3, 4, 5, 127, 128, 129};
static const size_t COLS[] = {1, 3, 4, 5, 7, 8, 9, 16, 17};
enum { NROWS = sizeof ROWS / sizeof *ROWS, NCOLS = sizeof COLS / sizeof *COLS };

/* The tables to test. */
static const attn__kernels *const TABLES[] = {
    &attn__kernels_scalar,
#if ATTN__HAVE_SIMD
    &attn__kernels_simd,
#endif
};
enum { NTABLES = sizeof TABLES / sizeof *TABLES };

/* Worst error ratio (error / bound, <= 1 passes) seen per kernel, printed. */
enum { K_GEMM, K_EXP, K_DOT, K_AXPY, K_SCORES, K_SOFTMAX, K_PV, K_COUNT };
static const char *const K_NAMES[K_COUNT] = {"gemm", "exp_shift_sum", "dot", "axpy", "panel_scores", "panel_softmax",
                                             "panel_pv"};
static double worst_seen[K_COUNT];
static void seen(int kernel, double ratio) { if (ratio > worst_seen[kernel]) worst_seen[kernel] = ratio; }
/* The ratio error / bound of one value (0 < ratio <= 1 within the bound). */
static double ratio(double got, double want, double tol) { return tol > 0 ? fabs(got - want) / tol : (got == want ? 0 : INFINITY); }

/* ------------------------------------------------------------------- gemm */

static void test_gemm(const attn__kernels *kt) {
    static const size_t KS[] = {0, 1, 4, 5, 17, 130};  /* 130: two k blocks of the SIMD gemm (128) */
    for (size_t a = 0; a < NROWS; a++)
        for (size_t b = 0; b < NCOLS; b++)
            for (size_t c = 0; c < sizeof KS / sizeof *KS; c++) {
                size_t m = ROWS[a], n = COLS[b], k = KS[c], lda = k + 2, ldb = n + 1, ldc = n + 3;
                float alpha = c % 2 ? -0.75f : 1.0f;
                float *A = random_floats(m * lda, 1), *B = random_floats(k * ldb, 1);
                float *A0 = malloc(m * lda * sizeof *A0), *B0 = malloc((k ? k : 1) * ldb * sizeof *B0);
                float *C0 = random_floats(m * ldc, 1), *C = malloc(m * ldc * sizeof *C);
                memcpy(A0, A, m * lda * sizeof *A);
                if (k) memcpy(B0, B, k * ldb * sizeof *B);
                for (int acc = 0; acc < 2; acc++) {
                    memcpy(C, C0, m * ldc * sizeof *C);
                    kt->gemm(m, n, k, alpha, A, lda, B, ldb, C, ldc, acc);
                    double worst = 0;
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < ldc; j++) {
                            if (j >= n) {  /* padding of C: untouched */
                                worst = fmax(worst, C[i * ldc + j] == C0[i * ldc + j] ? 0 : INFINITY);
                                continue;
                            }
                            double want = acc ? C0[i * ldc + j] : 0.0, mag = fabs(want);
                            for (size_t l = 0; l < k; l++) {
                                double term = (double)alpha * A[i * lda + l] * B[l * ldb + j];
                                want += term;
                                mag += fabs(term);
                            }
                            /* k products, each of a rounded alpha a (one more
                             * rounding), plus C: gamma(k + 2) */
                            double tol = gamma_n((double)k + 2) * mag;
                            worst = fmax(worst, excess(C[i * ldc + j], want, tol));
                            seen(K_GEMM, ratio(C[i * ldc + j], want, tol));
                        }
                    CHECK(worst == 0, "%s gemm m=%zu n=%zu k=%zu alpha=%g accumulate=%d: %.3g x bound", kt->name, m, n, k,
                          alpha, acc, worst);
                }
                CHECK(memcmp(A, A0, m * lda * sizeof *A) == 0 && (k == 0 || memcmp(B, B0, k * ldb * sizeof *B) == 0),
                      "%s gemm m=%zu n=%zu k=%zu: A and B unchanged", kt->name, m, n, k);
                free(A), free(B), free(A0), free(B0), free(C0), free(C);
            }
}

/* ------------------------------------------------------- vector kernels */

/* Lengths: every row and column count above, and a few longer ones. */
static const size_t LENGTHS[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 127, 128, 129};
enum { NLENGTHS = sizeof LENGTHS / sizeof *LENGTHS };

static void test_max(const attn__kernels *kt) {
    for (size_t t = 0; t < NLENGTHS; t++) {
        size_t n = LENGTHS[t];
        float *x = random_floats(n, 10);
        /* the largest element first, last (in the scalar tail when n % 4 != 0) and in between */
        for (size_t at = 0; at < 3; at++) {
            size_t where = at == 0 ? 0 : at == 1 ? n - 1 : n / 2;
            float save = x[where];
            x[where] = 11.0f;
            double want = -INFINITY;
            for (size_t i = 0; i < n; i++) want = fmax(want, x[i]);
            CHECK(kt->max(x, n) == (float)want, "%s max n=%zu (largest at %zu): %g, want %g", kt->name, n, where,
                  kt->max(x, n), want);
            x[where] = save;
        }
        /* all below zero, largest negative */
        for (size_t i = 0; i < n; i++) x[i] = -1.0f - fabsf(x[i]);
        double want = -INFINITY;
        for (size_t i = 0; i < n; i++) want = fmax(want, x[i]);
        CHECK(kt->max(x, n) == (float)want, "%s max n=%zu negative", kt->name, n);
        for (size_t i = 0; i < n; i++) x[i] = -INFINITY;
        CHECK(kt->max(x, n) == -INFINITY, "%s max n=%zu of -inf = %g", kt->name, n, kt->max(x, n));
        free(x);
    }
}

static void test_exp_shift_sum(const attn__kernels *kt) {
    for (size_t t = 0; t < NLENGTHS; t++) {
        size_t n = LENGTHS[t];
        float shift = 2.0f, *x = malloc(n * sizeof *x);
        double *want = malloc(n * sizeof *want), want_sum = 0;
        for (size_t i = 0; i < n; i++) {
            /* x - shift exactly on the 2^-8 grid in [-30, 0]; every fifth masked */
            x[i] = i % 5 == 3 ? -INFINITY : shift + grid_value(-30, 0);
            want[i] = exp((double)x[i] - shift);
            want_sum += want[i];
        }
        if (n > 1) x[n - 1] = shift, want_sum += 1 - want[n - 1], want[n - 1] = 1;  /* the maximum, in the tail */
        float sum = kt->exp_shift_sum(x, n, shift);
        double worst = 0;
        int zeros = 1;
        for (size_t i = 0; i < n; i++) {
            if (want[i] == 0) zeros &= x[i] == 0.0f;
            else worst = fmax(worst, excess(x[i], want[i], EXP_REL * want[i]));
            seen(K_EXP, ratio(x[i], want[i], EXP_REL * want[i]));
        }
        CHECK(worst == 0, "%s exp_shift_sum n=%zu: %.3g x bound", kt->name, n, worst);
        CHECK(zeros, "%s exp_shift_sum n=%zu: exp(-inf) is exactly 0", kt->name, n);
        /* each term within EXP_REL, then n - 1 float32 additions */
        double tol = (EXP_REL + gamma_n((double)n)) * want_sum;
        CHECK(excess(sum, want_sum, tol) == 0, "%s exp_shift_sum n=%zu: sum %.9g, want %.9g", kt->name, n, sum, want_sum);
        seen(K_EXP, ratio(sum, want_sum, tol));
        free(x), free(want);
    }
}

static void test_scale_dot_axpy(const attn__kernels *kt) {
    for (size_t t = 0; t < NLENGTHS; t++) {
        size_t n = LENGTHS[t];
        float *x = random_floats(n + 1, 3), *y = random_floats(n + 1, 3), *y0 = malloc((n + 1) * sizeof *y0);
        memcpy(y0, y, (n + 1) * sizeof *y);

        /* scale: the product of two floats is exact in double, so the float32
         * result must be that product correctly rounded, exactly. */
        float a = -1.3f;
        kt->scale(y, n, a);
        int exact = y[n] == y0[n];  /* one past the end: untouched */
        for (size_t i = 0; i < n; i++) exact &= y[i] == (float)((double)y0[i] * a);
        CHECK(exact, "%s scale n=%zu", kt->name, n);
        memcpy(y, y0, (n + 1) * sizeof *y);

        /* dot: n products summed: gamma(n) sum |a_i b_i| */
        double want = 0, mag = 0;
        for (size_t i = 0; i < n; i++) want += (double)x[i] * y[i], mag += fabs((double)x[i] * y[i]);
        float got = kt->dot(x, y, n);
        CHECK(excess(got, want, gamma_n((double)n) * mag) == 0, "%s dot n=%zu: %.9g, want %.9g", kt->name, n, got, want);
        seen(K_DOT, ratio(got, want, gamma_n((double)n) * mag));

        /* axpy: y + a x with two roundings (one with a fused multiply-add) */
        kt->axpy(n, a, x, y);
        double worst = y[n] == y0[n] ? 0 : INFINITY;
        for (size_t i = 0; i < n; i++) {
            double w = y0[i] + (double)a * x[i], tol = gamma_n(2) * (fabs(y0[i]) + fabs((double)a * x[i]));
            worst = fmax(worst, excess(y[i], w, tol));
            seen(K_AXPY, ratio(y[i], w, tol));
        }
        CHECK(worst == 0, "%s axpy n=%zu: %.3g x bound (and y[n] untouched)", kt->name, n, worst);
        free(x), free(y), free(y0);
    }
}

/* ---------------------------------------------------------- panel kernels */

static void test_panel_scores(const attn__kernels *kt) {
    static const size_t DS[] = {1, 3, 4, 5, 8, 9, 17};
    for (size_t a = 0; a < NROWS; a++)
        for (size_t strips = 1; strips <= 3; strips++)
            for (size_t b = 0; b < sizeof DS / sizeof *DS; b++) {
                size_t groups = ROWS[a], d = DS[b], stride = 16 * groups + 4;  /* 4 floats of padding per panel */
                float *kp = random_floats(groups * d * 4, 1), *qt = random_floats(strips * d * 8, 1);
                float *s = malloc(2 * strips * stride * sizeof *s);
                for (size_t i = 0; i < 2 * strips * stride; i++) s[i] = SENTINEL;
                kt->panel_scores(d, groups, strips, kp, qt, s, stride);
                double worst = 0;
                for (size_t t = 0; t < strips; t++)
                    for (size_t g = 0; g < groups; g++)
                        for (size_t r = 0; r < 4; r++)
                            for (size_t c = 0; c < 8; c++) {
                                double want = 0, mag = 0;
                                for (size_t l = 0; l < d; l++) {
                                    double term = (double)qt[t * d * 8 + 8 * l + c] * kp[g * d * 4 + 4 * l + r];
                                    want += term, mag += fabs(term);
                                }
                                float got = s[(2 * t + c / 4) * stride + 4 * (4 * g + r) + c % 4];
                                worst = fmax(worst, excess(got, want, gamma_n((double)d) * mag));
                                seen(K_SCORES, ratio(got, want, gamma_n((double)d) * mag));
                            }
                for (size_t p = 0; p < 2 * strips; p++)
                    for (size_t i = 16 * groups; i < stride; i++) worst = fmax(worst, s[p * stride + i] == SENTINEL ? 0 : INFINITY);
                CHECK(worst == 0, "%s panel_scores groups=%zu strips=%zu d=%zu: %.3g x bound (padding untouched)", kt->name,
                      groups, strips, d, worst);
                free(kp), free(qt), free(s);
            }
}

/* One online-softmax step of a [rows, 4] panel against float64. Column r:
 * mode 0 fresh (run_max -inf), 1 continuing with a running max above the
 * panel's, 2 continuing below it, 3 everything masked and nothing before. */
static void check_panel_softmax(const attn__kernels *kt, size_t rows, const int mode[4], int masked_every) {
    float *panel = malloc(rows * 4 * sizeof *panel), run_max[4], run_sum[4], rescale[4];
    double *want = malloc(rows * 4 * sizeof *want), want_max[4], want_sum[4], want_rescale[4];
    for (size_t r = 0; r < 4; r++) {
        for (size_t j = 0; j < rows; j++) {
            int masked = mode[r] == 3 || (masked_every && j % (size_t)masked_every == 1);
            panel[4 * j + r] = masked ? -INFINITY : grid_value(-12, 12);
        }
        /* the column's largest value in the last row (a tail row when rows % 4 != 0) */
        if (mode[r] != 3) panel[4 * (rows - 1) + r] = 12.0f;
        run_max[r] = mode[r] == 0 || mode[r] == 3 ? -INFINITY : mode[r] == 1 ? 14.5f : grid_value(-12, 0);
        run_sum[r] = mode[r] == 0 || mode[r] == 3 ? 0.0f : (float)(1 + 4 * lcg_unit());
    }
    for (size_t r = 0; r < 4; r++) {
        double mx = run_max[r];
        for (size_t j = 0; j < rows; j++) mx = fmax(mx, panel[4 * j + r]);
        double shift = mx == -INFINITY ? 0 : mx, sum = 0;
        for (size_t j = 0; j < rows; j++) sum += want[4 * j + r] = exp((double)panel[4 * j + r] - shift);
        want_max[r] = mx;
        want_rescale[r] = exp((double)run_max[r] - shift);
        want_sum[r] = run_sum[r] * want_rescale[r] + sum;
    }
    kt->panel_softmax(rows, panel, run_max, run_sum, rescale);
    double worst = 0;
    int zeros = 1;
    for (size_t i = 0; i < rows * 4; i++) {
        if (want[i] == 0) zeros &= panel[i] == 0.0f;
        else worst = fmax(worst, excess(panel[i], want[i], EXP_REL * want[i]));
        seen(K_SOFTMAX, ratio(panel[i], want[i], EXP_REL * want[i]));
    }
    for (size_t r = 0; r < 4; r++) {
        worst = fmax(worst, run_max[r] == (float)want_max[r] ? 0 : INFINITY);
        if (want_rescale[r] == 0) zeros &= rescale[r] == 0.0f;
        else worst = fmax(worst, excess(rescale[r], want_rescale[r], EXP_REL * want_rescale[r]));
        /* rows exps and the rescaled old sum (EXP_REL each), rows + 1 additions and a product */
        double tol = (EXP_REL + gamma_n((double)rows + 2)) * want_sum[r];
        if (want_sum[r] == 0) zeros &= run_sum[r] == 0.0f;
        else worst = fmax(worst, excess(run_sum[r], want_sum[r], tol));
        seen(K_SOFTMAX, ratio(run_sum[r], want_sum[r], tol));
    }
    CHECK(worst == 0, "%s panel_softmax rows=%zu modes=%d%d%d%d masked_every=%d: %.3g x bound", kt->name, rows, mode[0],
          mode[1], mode[2], mode[3], masked_every, worst);
    CHECK(zeros, "%s panel_softmax rows=%zu modes=%d%d%d%d: masked entries, empty columns exactly 0", kt->name, rows,
          mode[0], mode[1], mode[2], mode[3]);
    free(panel), free(want);
}

static void test_panel_softmax(const attn__kernels *kt) {
    static const int modes[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 1, 2, 3}, {3, 2, 1, 0}};
    for (size_t a = 0; a < NROWS; a++)
        for (size_t mo = 0; mo < sizeof modes / sizeof *modes; mo++) {
            check_panel_softmax(kt, ROWS[a], modes[mo], 0);
            check_panel_softmax(kt, ROWS[a], modes[mo], 3);
        }
}

static void test_panel_pv(const attn__kernels *kt) {
    for (size_t a = 0; a < NROWS; a++)
        for (size_t strips = 1; strips <= 3; strips++) {
            size_t rows = ROWS[a], sstride = rows * 8 + 5, ldo = 8 * strips + 3;
            float *panel = random_floats(rows * 4, 1), *v = random_floats(strips * sstride, 2);
            float *o0 = random_floats(4 * ldo, 2), *o = malloc(4 * ldo * sizeof *o);
            float rescale[4] = {1.0f, 0.5f, 0.0f, 0.123f};
            memcpy(o, o0, 4 * ldo * sizeof *o);
            kt->panel_pv(rows, strips, panel, v, sstride, rescale, o, ldo);
            double worst = 0;
            for (size_t r = 0; r < 4; r++)
                for (size_t col = 0; col < ldo; col++) {
                    if (col >= 8 * strips) {  /* padding of o: untouched */
                        worst = fmax(worst, o[r * ldo + col] == o0[r * ldo + col] ? 0 : INFINITY);
                        continue;
                    }
                    size_t t = col / 8, c = col % 8;
                    double want = (double)rescale[r] * o0[r * ldo + col], mag = fabs(want);
                    for (size_t j = 0; j < rows; j++) {
                        double term = (double)panel[4 * j + r] * v[t * sstride + 8 * j + c];
                        want += term, mag += fabs(term);
                    }
                    /* rows products and the rescaled output: gamma(rows + 2) */
                    double tol = gamma_n((double)rows + 2) * mag;
                    worst = fmax(worst, excess(o[r * ldo + col], want, tol));
                    seen(K_PV, ratio(o[r * ldo + col], want, tol));
                }
            CHECK(worst == 0, "%s panel_pv rows=%zu strips=%zu: %.3g x bound (padding untouched)", kt->name, rows, strips,
                  worst);
            free(panel), free(v), free(o0), free(o);
        }
}

int main(void) {
    CHECK(NTABLES == 1 + ATTN__HAVE_SIMD, "both tables present where SIMD is");
    for (size_t t = 0; t < NTABLES; t++) {
        const attn__kernels *kt = TABLES[t];
        memset(worst_seen, 0, sizeof worst_seen);
        test_gemm(kt);
        test_max(kt);
        test_exp_shift_sum(kt);
        test_scale_dot_axpy(kt);
        test_panel_scores(kt);
        test_panel_softmax(kt);
        test_panel_pv(kt);
        printf("# %s kernels, worst error / bound:", kt->name);
        for (int i = 0; i < K_COUNT; i++) printf(" %s %.3f", K_NAMES[i], worst_seen[i]);
        printf(" (max, scale: exact)\n");
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
