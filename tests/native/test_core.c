/*
 * test_core.c - native tests of the C core, run under AddressSanitizer and
 * UBSan by tests/native/run.sh. Expected values come from a float64
 * evaluation of the definitions written here, independently of src/.
 *
 * Output: one line per failure, then "N passed, N failed".
 */
#include "../../src/attn.h"
#include "../../src/internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ------------------------------------------------------------ test inputs */

/* Deterministic inputs from a tiny LCG (independent of attn_rng). */
static uint64_t lcg_state = 42;
static float lcg_uniform(void) {  /* in [-1, 1) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(lcg_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *random_matrix(size_t rows, size_t cols, float amplitude) {
    float *x = malloc(rows * cols * sizeof *x);
    for (size_t i = 0; i < rows * cols; i++) x[i] = amplitude * lcg_uniform();
    return x;
}

/* ------------------------------------------------------- float64 reference */

static int ref_allowed(size_t i, size_t j, size_t m, int causal, const uint8_t *mask) {
    if (causal && j > i) return 0;
    if (mask && !mask[i * m + j]) return 0;
    return 1;
}

/* p: [n, m] weights in double. */
static void ref_weights(size_t n, size_t m, size_t d, const float *q, const float *k, double scale,
                        int causal, const uint8_t *mask, double *p) {
    for (size_t i = 0; i < n; i++) {
        double mx = -INFINITY;
        for (size_t j = 0; j < m; j++) {
            double s = 0;
            for (size_t l = 0; l < d; l++) s += (double)q[i * d + l] * k[j * d + l];
            p[i * m + j] = ref_allowed(i, j, m, causal, mask) ? s * scale : -INFINITY;
            if (p[i * m + j] > mx) mx = p[i * m + j];
        }
        double sum = 0;
        for (size_t j = 0; j < m; j++) {
            double e = mx == -INFINITY ? 0.0 : exp(p[i * m + j] - mx);
            p[i * m + j] = e;
            sum += e;
        }
        for (size_t j = 0; j < m; j++) p[i * m + j] = sum > 0 ? p[i * m + j] / sum : 0.0;
    }
}

/* ------------------------------------------------------------ comparisons */

/* Weights: |got - ref| <= rel * ref + 1e-7 (float32 resolution near 1). */
static double weights_excess(size_t count, const float *got, const double *ref, double rel) {
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double err = fabs(got[i] - ref[i]), tol = rel * ref[i] + 1e-7;
        if (!(err <= tol)) worst = fmax(worst, isnan(err) ? INFINITY : err / tol);
    }
    return worst;  /* 0 when every entry is within tolerance */
}

/* Outputs: |y - y_ref| <= rel * sum_j p_ij |v_jc| (the backward-error scale
 * of a weighted average), elementwise. */
static double outputs_excess(size_t n, size_t m, size_t dv, const float *y, const double *p,
                             const float *v, double rel) {
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < dv; c++) {
            double ref = 0, mag = 0;
            for (size_t j = 0; j < m; j++) {
                ref += p[i * m + j] * v[j * dv + c];
                mag += p[i * m + j] * fabs(v[j * dv + c]);
            }
            double err = fabs(y[i * dv + c] - ref), tol = rel * mag + 1e-30;
            if (!(err <= tol)) worst = fmax(worst, isnan(err) ? INFINITY : err / tol);
        }
    return worst;
}

/* ------------------------------------------------------------------ tests */

static void test_status(void) {
    const char *seen[64] = {0};
    CHECK(attn_status_count() == ATTN_STATUS_COUNT, "status count");
    for (int s = 0; s < attn_status_count(); s++) {
        CHECK(attn_status_str(s) && strlen(attn_status_str(s)) > 0, "message of %d", s);
        CHECK(strncmp(attn_status_code(s), s == 0 ? "OK" : "ERR_", s == 0 ? 2 : 4) == 0, "code %d", s);
        for (int t = 0; t < s; t++) CHECK(strcmp(seen[t], attn_status_code(s)) != 0, "codes unique");
        seen[s] = attn_status_code(s);
    }
    CHECK(strcmp(attn_status_code(-1), "ERR_UNKNOWN") == 0, "unknown code");
    CHECK(strcmp(attn_status_code(ATTN_STATUS_COUNT), "ERR_UNKNOWN") == 0, "unknown code");
    CHECK(strcmp(attn_status_str(999), "unknown status") == 0, "unknown message");
    CHECK(strcmp(attn_version(), ATTN_VERSION) == 0, "version");
}

static void test_rng(void) {
    attn_rng a, b;
    CHECK(attn_rng_seed(NULL, 1) == ATTN_ERR_NULL, "seed NULL");
    attn_rng_seed(&a, 7);
    attn_rng_seed(&b, 7);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= attn_rng_u32(&a) == attn_rng_u32(&b);
    CHECK(same, "same seed, same stream");
    attn_rng_seed(&b, 8);
    int differ = 0;
    for (int i = 0; i < 100; i++) differ += attn_rng_u32(&a) != attn_rng_u32(&b);
    CHECK(differ > 90, "different seeds differ (%d of 100)", differ);

    /* N(0,1): mean and variance of 2e5 samples within 5 standard errors. */
    enum { N = 200000 };
    float *x = malloc(N * sizeof *x);
    attn_rng_seed(&a, 123);
    CHECK(attn_randn(&a, N, x) == ATTN_OK, "randn");
    double mean = 0, var = 0, m4 = 0;
    for (int i = 0; i < N; i++) mean += x[i];
    mean /= N;
    for (int i = 0; i < N; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= N - 1;
    for (int i = 0; i < N; i++) m4 += pow(x[i] - mean, 4);
    m4 /= N;
    CHECK(fabs(mean) < 5 / sqrt(N), "normal mean %g", mean);
    CHECK(fabs(var - 1) < 5 * sqrt(2.0 / N), "normal variance %g", var);
    CHECK(fabs(m4 / (var * var) - 3) < 5 * sqrt(24.0 / N), "normal kurtosis %g", m4 / (var * var));
    /* Uniform in [0, 1). */
    double lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        double u = attn_rng_uniform(&a);
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    CHECK(lo >= 0 && lo < 1e-4 && hi < 1 && hi > 1 - 1e-4, "uniform range [%g, %g]", lo, hi);
    CHECK(attn_randn(&a, 3, NULL) == ATTN_ERR_NULL, "randn NULL");
    free(x);
}

/* A spec for kind with the fields most kinds use. */
static attn_mask_spec make_spec(int kind, size_t n, const int32_t *tokens, size_t n_tokens,
                                const int32_t *assignments) {
    attn_mask_spec s;
    attn_mask_spec_init(&s, kind, n);
    attn_mask_spec_set(&s, 1, 3);   /* window */
    attn_mask_spec_set(&s, 2, 2);   /* dilation */
    attn_mask_spec_set(&s, 3, 4);   /* stride */
    attn_mask_spec_set(&s, 4, 4);   /* block */
    attn_mask_spec_set(&s, 5, 1);   /* summary */
    attn_mask_spec_set(&s, 6, (double)n_tokens);
    attn_mask_spec_set(&s, 7, 3);   /* perRow */
    attn_mask_spec_set(&s, 8, 3);   /* windowBlocks */
    attn_mask_spec_set(&s, 9, 1);   /* globalBlocks */
    attn_mask_spec_set(&s, 10, 2);  /* randomBlocks */
    attn_mask_spec_set(&s, 11, 7);  /* seed */
    attn_mask_spec_set(&s, 12, 2);  /* rounds */
    attn_mask_spec_set_arrays(&s, tokens, assignments);
    return s;
}

/* Every kind: dense, nnz and CSR agree; the rules of the simple kinds hold;
 * bad specs are refused. (tests/masks.test.mjs checks every rule.) */
static void test_masks(void) {
    size_t sizes[] = {1, 7, 64, 100};
    int32_t tokens[] = {0, 5};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        size_t n = sizes[t] < 8 ? 8 : sizes[t];  /* bigbird: block 4 divides n */
        if (sizes[t] == 7) n = 12;
        int32_t *assign = malloc(2 * n * sizeof *assign);
        for (size_t i = 0; i < 2 * n; i++) assign[i] = (int32_t)(i * 7 % 5);
        uint8_t *dense = malloc(n * n), *work = malloc(n), *bits = malloc(n * n);
        int32_t *indptr = malloc((n + 1) * sizeof *indptr), *indices = malloc(n * n * sizeof *indices);
        for (int kind = 0; kind < ATTN_MASK_KIND_COUNT; kind++)
            for (int causal = 0; causal < 2; causal++) {
                attn_mask_spec s = make_spec(kind, n, tokens, 2, assign);
                attn_mask_spec_set(&s, 0, causal);
                size_t nnz = 0;
                int ok = attn_mask_dense(&s, dense) == ATTN_OK && attn_mask_nnz(&s, &nnz, work) == ATTN_OK &&
                         attn_mask_csr(&s, n * n, indptr, indices, bits, work) == ATTN_OK;
                size_t count = 0;
                for (size_t c = 0; c < n * n; c++) count += dense[c] != 0;
                ok &= count == nnz && (size_t)indptr[n] == nnz;
                for (size_t i = 0; i < n && ok; i++)
                    for (int32_t p = indptr[i]; p < indptr[i + 1]; p++)
                        ok &= dense[i * n + indices[p]] == bits[p] && bits[p] != 0 &&
                              (p == indptr[i] || indices[p] > indices[p - 1]);
                if (kind == ATTN_MASK_KIND_CAUSAL || kind == ATTN_MASK_KIND_LOCAL)
                    for (size_t i = 0; i < n; i++)
                        for (size_t j = 0; j < n; j++) {
                            long diff = (long)i - (long)j;
                            int want = kind == ATTN_MASK_KIND_CAUSAL ? diff >= 0
                                       : causal ? diff >= 0 && diff <= 3 : labs(diff) <= 3;
                            ok &= (dense[i * n + j] == ATTN_MASK_LOCAL) == want;
                        }
                CHECK(ok, "mask kind %d n=%zu causal=%d (nnz %zu)", kind, n, causal, nnz);
                if (nnz > 0)
                    CHECK(attn_mask_csr(&s, nnz - 1, indptr, indices, bits, work) == ATTN_ERR_WORKSPACE,
                          "csr capacity kind %d", kind);
            }
        free(assign), free(dense), free(work), free(bits), free(indptr), free(indices);
    }
    attn_mask_spec s;
    uint8_t one;
    int32_t bad_token[] = {9};
    s = make_spec(ATTN_MASK_KIND_FULL, 0, NULL, 0, NULL);
    CHECK(attn_mask_dense(&s, &one) == ATTN_ERR_SHAPE, "n = 0");
    s = make_spec(99, 4, NULL, 0, NULL);
    CHECK(attn_mask_dense(&s, &one) == ATTN_ERR_KIND, "unknown kind");
    s = make_spec(ATTN_MASK_KIND_STRIDED, 4, NULL, 0, NULL);
    attn_mask_spec_set(&s, 3, 0);
    CHECK(attn_mask_check(&s) == ATTN_ERR_RANGE, "stride 0");
    s = make_spec(ATTN_MASK_KIND_BIGBIRD, 10, NULL, 0, NULL);
    CHECK(attn_mask_check(&s) == ATTN_ERR_RANGE, "block 4 does not divide 10");
    s = make_spec(ATTN_MASK_KIND_BIGBIRD, 16, NULL, 0, NULL);
    attn_mask_spec_set(&s, 8, 2);
    CHECK(attn_mask_check(&s) == ATTN_ERR_RANGE, "even window blocks");
    s = make_spec(ATTN_MASK_KIND_GLOBAL, 4, bad_token, 1, NULL);
    CHECK(attn_mask_check(&s) == ATTN_ERR_RANGE, "token out of range");
    s = make_spec(ATTN_MASK_KIND_GLOBAL, 4, NULL, 1, NULL);
    CHECK(attn_mask_check(&s) == ATTN_ERR_NULL, "tokens NULL");
    s = make_spec(ATTN_MASK_KIND_CLUSTER, 4, NULL, 0, NULL);
    CHECK(attn_mask_check(&s) == ATTN_ERR_NULL, "assignments NULL");
    s = make_spec(ATTN_MASK_KIND_FIXED, 4, NULL, 0, NULL);
    attn_mask_spec_set(&s, 5, 5);
    CHECK(attn_mask_check(&s) == ATTN_ERR_RANGE, "summary > block");
    CHECK(attn_mask_spec_set(&s, 1, -1) == ATTN_ERR_RANGE, "negative field");
    CHECK(attn_mask_spec_set(&s, 1, 1.5) == ATTN_ERR_RANGE, "fractional field");
    CHECK(attn_mask_spec_set(&s, 99, 1) == ATTN_ERR_KIND, "unknown field");
    CHECK(strcmp(attn_mask_field_name(1), "window") == 0 && attn_mask_field_name(13) == NULL, "field names");
}

/* LSH and k-means: partitions, duplicates together; layers of simple masks. */
static void test_clusters_and_layers(void) {
    size_t n = 50, d = 6;
    float *x = random_matrix(n, d, 1);
    memcpy(x + 7 * d, x + 3 * d, d * sizeof *x);  /* row 7 duplicates row 3 */
    for (size_t l = 0; l < d; l++) x[9 * d + l] = 2.5f * x[3 * d + l];  /* same direction */
    int32_t assign[4 * 50];
    float work[4096];
    CHECK(attn_lsh_buckets(n, d, x, 8, 4, 3, assign, work, 4096) == ATTN_OK, "lsh");
    int ok = 1;
    for (size_t r = 0; r < 4; r++) {
        ok &= assign[r * n + 7] == assign[r * n + 3] && assign[r * n + 9] == assign[r * n + 3];
        for (size_t i = 0; i < n; i++) ok &= assign[r * n + i] >= 0 && assign[r * n + i] < 8;
    }
    CHECK(ok, "lsh buckets in range, duplicates and scaled copies together");
    CHECK(attn_lsh_buckets(n, d, x, 7, 1, 3, assign, work, 4096) == ATTN_ERR_RANGE, "odd buckets");
    CHECK(attn_lsh_buckets(n, d, x, 8, 0, 3, assign, work, 4096) == ATTN_ERR_RANGE, "0 hashes");
    size_t lw, kw;
    CHECK(attn_lsh_workspace(d, 8, &lw) == ATTN_OK && lw == (d + 64) * 4, "lsh workspace");
    CHECK(attn_lsh_buckets(n, d, x, 8, 1, 3, assign, work, lw - 1) == ATTN_ERR_WORKSPACE, "lsh work");
    CHECK(attn_kmeans(n, d, x, 5, 10, 1, assign, work, 4096) == ATTN_OK, "kmeans");
    ok = assign[7] == assign[3] && assign[9] == assign[3];
    for (size_t i = 0; i < n; i++) ok &= assign[i] >= 0 && assign[i] < 5;
    CHECK(ok, "kmeans clusters in range, duplicates together");
    CHECK(attn_kmeans(n, d, x, 51, 10, 1, assign, work, 4096) == ATTN_ERR_RANGE, "more clusters than rows");
    CHECK(attn_kmeans_workspace(n, d, 5, &kw) == ATTN_OK && kw <= 4096, "kmeans workspace");
    CHECK(attn_kmeans(n, d, x, 5, 10, 1, assign, work, kw - 1) == ATTN_ERR_WORKSPACE, "kmeans work");
    free(x);

    /* A causal window of 1 on n tokens: token i reaches i - L after L layers;
     * everything reachable (all j <= i) after n - 1 layers. */
    size_t m = 20, words = 1;
    uint8_t *mask = malloc(m * m);
    attn_mask_spec s = make_spec(ATTN_MASK_KIND_LOCAL, m, NULL, 0, NULL);
    attn_mask_spec_set(&s, 1, 1);
    attn_mask_spec_set(&s, 0, 1);
    attn_mask_dense(&s, mask);
    double reached[40];
    size_t layers;
    uint64_t bits[3 * 20 * 1];
    size_t lwords;
    CHECK(attn_mask_layers_workspace(m, &lwords) == ATTN_OK && lwords == 3 * m * words, "layers workspace");
    CHECK(attn_mask_layers(m, mask, 40, reached, &layers, bits, lwords) == ATTN_OK, "layers");
    int ok_pairs = 1;  /* token i reaches min(L, i) + 1 tokens after L layers */
    for (size_t L = 1; L <= 40; L++) {
        double want = 0;
        for (size_t i = 0; i < m; i++) want += (double)(L < i ? L : i) + 1;
        ok_pairs &= reached[L - 1] == want;
    }
    CHECK(layers == m - 1 && reached[39] == m * (m + 1) / 2.0 && reached[0] == 2 * m - 1 && ok_pairs,
          "causal window 1: %zu layers, %g pairs", layers, reached[39]);
    CHECK(attn_mask_layers(m, mask, 5, reached, &layers, bits, lwords) == ATTN_OK && layers == 0,
          "still growing after 5 layers");
    CHECK(attn_mask_layers(m, mask, 19, reached, &layers, bits, lwords) == ATTN_OK && layers == 0,
          "still growing at layer 19");
    CHECK(attn_mask_layers(m, mask, 20, reached, &layers, bits, lwords) == ATTN_OK && layers == 19,
          "stops after layer 19 of 20");
    CHECK(attn_mask_layers(m, mask, 5, reached, &layers, bits, lwords - 1) == ATTN_ERR_WORKSPACE, "layers work");
    memset(mask, 0, m * m);  /* nothing but the residual path: no growth from the first layer */
    CHECK(attn_mask_layers(m, mask, 1, reached, &layers, bits, lwords) == ATTN_OK && layers == 1 && reached[0] == m,
          "empty mask: 1 layer");
    free(mask);
}

/* Sparse attention equals softmax attention with the same (dense) mask. */
static void test_sparse(void) {
    size_t n = 70, d = 9, dv = 5;
    float *q = random_matrix(n, d, 1), *k = random_matrix(n, d, 1), *v = random_matrix(n, dv, 1);
    int32_t tokens[] = {3};
    uint8_t *mask = malloc(n * n);
    int32_t *indptr = malloc((n + 1) * sizeof *indptr), *indices = malloc(n * n * sizeof *indices);
    float *y = malloc(n * dv * sizeof *y), *ref = malloc(n * dv * sizeof *ref);
    size_t wa;
    attn_softmax_attention_workspace(n, n, d, dv, &wa);
    float *work = malloc(wa * sizeof *work);
    for (int kernels = 0; kernels <= attn_simd_available(); kernels++) {
        attn_use_kernels(kernels);
        int kinds[] = {ATTN_MASK_KIND_LOCAL, ATTN_MASK_KIND_LONGFORMER, ATTN_MASK_KIND_RANDOM};
        for (int t = 0; t < 3; t++) {
            attn_mask_spec s = make_spec(kinds[t], n, tokens, 1, NULL);
            attn_mask_dense(&s, mask);
            for (size_t j = 0; j < n; j++) mask[5 * n + j] = 0;  /* an empty row */
            CHECK(attn_dense_to_csr(n, n, mask, n * n, indptr, indices) == ATTN_OK, "dense to csr");
            attn_status a = attn_sparse_attention(n, n, d, dv, q, k, v, 0.4f, indptr, indices, y, work, n);
            attn_status b = attn_softmax_attention(n, n, d, dv, q, k, v, 0.4f, 0, mask, ref, work, wa);
            double worst = 0;
            for (size_t c = 0; c < n * dv; c++) worst = fmax(worst, fabs(y[c] - ref[c]));
            CHECK(a == ATTN_OK && b == ATTN_OK && worst < 1e-5, "sparse = masked softmax, kind %d %s: %g",
                  kinds[t], kernels ? "simd" : "scalar", worst);
            CHECK(y[5 * dv] == 0.0f, "empty row gives 0");
        }
    }
    attn_use_kernels(ATTN_KERNELS_SIMD);
    indices[0] = (int32_t)n;
    CHECK(attn_sparse_attention(n, n, d, dv, q, k, v, 1, indptr, indices, y, work, n) == ATTN_ERR_RANGE, "index >= m");
    indices[0] = 0;
    indptr[1] = indptr[2] + 1;
    CHECK(attn_sparse_attention(n, n, d, dv, q, k, v, 1, indptr, indices, y, work, n) == ATTN_ERR_RANGE, "decreasing");
    free(q), free(k), free(v), free(mask), free(indptr), free(indices), free(y), free(ref), free(work);
}

/* One case of softmax weights and outputs against the reference. */
static void check_case(size_t n, size_t m, size_t d, size_t dv, float amplitude, int causal,
                       int with_mask, int kernels, double rel) {
    attn_use_kernels(kernels);
    float *q = random_matrix(n, d, amplitude), *k = random_matrix(m, d, amplitude);
    float *v = random_matrix(m, dv, 1.0f);
    uint8_t *mask = NULL;
    if (with_mask) {  /* about half blocked, and every third row fully blocked */
        mask = malloc(n * m);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) mask[i * m + j] = i % 3 == 1 ? 0 : lcg_uniform() > 0;
    }
    double scale = 1.0 / sqrt((double)d);
    double *ref = malloc(n * m * sizeof *ref);
    ref_weights(n, m, d, q, k, (float)scale, causal, mask, ref);

    size_t wn, wa;
    attn_softmax_weights_workspace(n, m, d, &wn);
    attn_softmax_attention_workspace(n, m, d, dv, &wa);
    float *work = malloc((wn > wa ? wn : wa) * sizeof *work);
    float *p = malloc(n * m * sizeof *p), *y = malloc(n * dv * sizeof *y);

    attn_status st = attn_softmax_weights(n, m, d, q, k, (float)scale, causal, mask, p, work, wn);
    double ex = weights_excess(n * m, p, ref, rel);
    CHECK(st == ATTN_OK && ex == 0, "weights n=%zu m=%zu d=%zu amp=%g causal=%d mask=%d %s: %s, %.3g x tol",
          n, m, d, amplitude, causal, with_mask, kernels ? "simd" : "scalar", attn_status_str(st), ex);
    st = attn_softmax_attention(n, m, d, dv, q, k, v, (float)scale, causal, mask, y, work, wa);
    ex = outputs_excess(n, m, dv, y, ref, v, rel);
    CHECK(st == ATTN_OK && ex == 0, "outputs n=%zu m=%zu d=%zu dv=%zu amp=%g causal=%d mask=%d %s: %s, %.3g x tol",
          n, m, d, dv, amplitude, causal, with_mask, kernels ? "simd" : "scalar", attn_status_str(st), ex);
    free(q), free(k), free(v), free(mask), free(ref), free(work), free(p), free(y);
}

static void test_softmax_against_reference(void) {
    size_t sizes[] = {1, 3, 4, 5, 15, 16, 17, 33, 64, 257};
    size_t count = sizeof sizes / sizeof *sizes;
    for (int kernels = 0; kernels <= attn_simd_available(); kernels++)
        for (size_t t = 0; t < count; t++) {
            size_t n = sizes[t], m = sizes[(t + 3) % count], d = sizes[(t + 5) % count] % 70 + 1;
            for (int causal = 0; causal < 2; causal++)
                for (int with_mask = 0; with_mask < 2; with_mask++) {
                    check_case(n, n, d, d, 1.0f, causal, with_mask, kernels, 2e-5);
                    check_case(n, m, d, sizes[(t + 7) % count], 1.0f, causal, with_mask, kernels, 2e-5);
                }
        }
    /* Logits up to +-100: float32 rounding of each logit s is about
     * d * 2^-24 * sum|q k| * scale, so weights can only be as accurate as
     * exp(that); here max|s| is near 100 and d = 16, so 1e-3 relative. */
    for (int kernels = 0; kernels <= attn_simd_available(); kernels++)
        for (int causal = 0; causal < 2; causal++) {
            check_case(33, 40, 16, 8, 10.0f, causal, 0, kernels, 1e-3);
            check_case(33, 40, 16, 8, 10.0f, causal, 1, kernels, 1e-3);
        }
    attn_use_kernels(ATTN_KERNELS_SIMD);
}

/* The benchmark kernel runs under both tables and validates its workspace. */
static void test_kernel_benchmark(void) {
    size_t floats = 0;
    CHECK(attn_kernel_benchmark_workspace(&floats) == ATTN_OK && floats > 0, "benchmark workspace");
    CHECK(attn_kernel_benchmark_workspace(NULL) == ATTN_ERR_NULL, "benchmark workspace NULL");
    float *work = malloc(floats * sizeof *work);
    for (int kernels = 0; kernels <= attn_simd_available(); kernels++) {
        attn_use_kernels(kernels);
        CHECK(attn_kernel_benchmark(3, work, floats) == ATTN_OK, "benchmark runs (%d)", kernels);
        CHECK(attn_kernel_benchmark(3, work, floats - 1) == ATTN_ERR_WORKSPACE, "benchmark small workspace");
        CHECK(attn_kernel_benchmark(3, NULL, floats) == ATTN_ERR_NULL, "benchmark NULL");
    }
    attn_use_kernels(ATTN_KERNELS_SIMD);
    free(work);
}

/* The SIMD exp against double exp over [-87.3, 0], and -inf -> 0. */
static void test_simd_exp(void) {
#if ATTN__HAVE_SIMD
    enum { N = 1 << 16 };
    float *x = malloc(N * sizeof *x), *orig = malloc(N * sizeof *orig);
    for (int i = 0; i < N; i++) orig[i] = x[i] = -87.3f * (float)i / (N - 1);
    x[N - 1] = -INFINITY;
    orig[N - 1] = -INFINITY;
    float sum = attn__kernels_simd.exp_shift_sum(x, N, 0.0f);
    double worst = 0, ref_sum = 0;
    for (int i = 0; i < N; i++) {
        double want = exp((double)orig[i]);
        ref_sum += want;
        if (want > 0) worst = fmax(worst, fabs(x[i] - want) / want);
    }
    CHECK(x[N - 1] == 0.0f, "exp(-inf) = %g", x[N - 1]);
    CHECK(worst < 3e-7, "simd exp max relative error %.3g", worst);
    CHECK(fabs(sum - ref_sum) < 1e-5 * ref_sum, "simd exp sum");
    printf("# simd exp: max relative error %.3g on [-87.3, 0]\n", worst);
    /* Below -88 the result is exactly 0; between -88 and -87.3 at most the
     * smallest normal float (exp there is subnormal or 0). */
    float low[6] = {-88.0f, -88.5f, -100.0f, -1e30f, -87.5f, -87.9f};
    attn__kernels_simd.exp_shift_sum(low, 6, 0.0f);
    for (int i = 0; i < 4; i++) CHECK(low[i] == 0.0f, "exp(low[%d]) = %g, want 0", i, low[i]);
    for (int i = 4; i < 6; i++) CHECK(low[i] >= 0.0f && low[i] <= 1.2e-38f, "exp(low[%d]) = %g", i, low[i]);
    free(x), free(orig);
#endif
}

/* The two gemm kernels against a double product, sizes around the blocks. */
static void test_gemm(void) {
#if ATTN__HAVE_SIMD
    size_t sizes[] = {1, 3, 4, 5, 8, 9, 15, 16, 17, 33};
    for (size_t a = 0; a < 10; a++)
        for (size_t b = 0; b < 10; b++) {
            size_t m = sizes[a], n = sizes[b], k = sizes[(a + b) % 10];
            float *A = random_matrix(m, k + 2, 1), *B = random_matrix(k, n + 1, 1);
            float *C = random_matrix(m, n + 3, 1), *C0 = malloc(m * (n + 3) * sizeof *C0);
            memcpy(C0, C, m * (n + 3) * sizeof *C0);
            int ok = 1;
            for (int acc = 0; acc < 2; acc++) {
                memcpy(C, C0, m * (n + 3) * sizeof *C);
                attn__kernels_simd.gemm(m, n, k, 0.5f, A, k + 2, B, n + 1, C, n + 3, acc);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n + 3; j++) {
                        double want = j < n ? (acc ? C0[i * (n + 3) + j] : 0.0) : C0[i * (n + 3) + j];
                        double mag = fabs(want);
                        if (j < n)
                            for (size_t l = 0; l < k; l++) {
                                want += 0.5 * A[i * (k + 2) + l] * B[l * (n + 1) + j];
                                mag += fabs(0.5 * A[i * (k + 2) + l] * B[l * (n + 1) + j]);
                            }
                        ok &= fabs(C[i * (n + 3) + j] - want) <= 1e-6 * (mag + 1);
                    }
            }
            CHECK(ok, "simd gemm m=%zu n=%zu k=%zu (and the padding untouched)", m, n, k);
            free(A), free(B), free(C), free(C0);
        }
#endif
}

static void test_bad_inputs(void) {
    float q[8] = {1, 2, 3, 4, 5, 6, 7, 8}, k[8] = {1, 0, 0, 1, 1, 1, 2, 2}, v[8] = {0};
    float out[16], work[8192];
    size_t wa;
    attn_softmax_attention_workspace(2, 2, 4, 4, &wa);
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, 0.5f, 0, NULL, out, work, wa) == ATTN_OK, "ok");
    CHECK(attn_softmax_attention(2, 2, 4, 4, NULL, k, v, 0.5f, 0, NULL, out, work, wa) == ATTN_ERR_NULL, "q NULL");
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, NULL, 0.5f, 0, NULL, out, work, wa) == ATTN_ERR_NULL, "v NULL");
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, 0.5f, 0, NULL, NULL, work, wa) == ATTN_ERR_NULL, "out NULL");
    CHECK(attn_softmax_attention(0, 2, 4, 4, q, k, v, 0.5f, 0, NULL, out, work, wa) == ATTN_ERR_SHAPE, "n=0");
    CHECK(attn_softmax_attention(2, 2, 0, 4, q, k, v, 0.5f, 0, NULL, out, work, wa) == ATTN_ERR_SHAPE, "d=0");
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, NAN, 0, NULL, out, work, wa) == ATTN_ERR_RANGE, "scale NaN");
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, INFINITY, 0, NULL, out, work, wa) == ATTN_ERR_RANGE, "scale inf");
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, 0.5f, 0, NULL, out, work, wa - 1) == ATTN_ERR_WORKSPACE, "small work");
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, 0.5f, 0, NULL, out, NULL, wa) == ATTN_ERR_WORKSPACE, "work NULL");
    CHECK(attn_softmax_attention(SIZE_MAX / 2, 2, 4, 4, q, k, v, 0.5f, 0, NULL, out, work, wa) == ATTN_ERR_MEMORY, "overflow");
    size_t big;
    CHECK(attn_softmax_attention_workspace(2, SIZE_MAX / 2, 4, 4, &big) == ATTN_ERR_MEMORY, "workspace overflow");
    CHECK(attn_softmax_weights_workspace(2, 2, 4, NULL) == ATTN_ERR_NULL, "workspace NULL");
    CHECK(attn_softmax_weights(SIZE_MAX / 4, SIZE_MAX / 4, 1, q, k, 1, 0, NULL, out, work, 4096) == ATTN_ERR_MEMORY,
          "weights n*m overflow");
    q[5] = NAN;
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, 0.5f, 0, NULL, out, work, wa) == ATTN_ERR_NONFINITE, "q NaN");
    q[5] = 6;
    v[7] = -INFINITY;
    CHECK(attn_softmax_attention(2, 2, 4, 4, q, k, v, 0.5f, 0, NULL, out, work, wa) == ATTN_ERR_NONFINITE, "v -inf");
    k[0] = INFINITY;
    CHECK(attn_softmax_weights(2, 2, 4, q, k, 0.5f, 0, NULL, out, work, 8) == ATTN_ERR_NONFINITE, "k inf");
    CHECK(attn_use_kernels(7) == ATTN_ERR_KIND, "unknown kernels");
    CHECK(attn_use_kernels(ATTN_KERNELS_SCALAR) == ATTN_OK && attn_kernels_in_use() == ATTN_KERNELS_SCALAR, "scalar");
    attn_use_kernels(ATTN_KERNELS_SIMD);
}

/* A row whose keys are all blocked gives exactly 0, also when its only
 * allowed key sits in a later tile than the blocked ones. */
static void test_blocked_rows(void) {
    size_t n = 5, m = 300, d = 7, dv = 9;
    float *q = random_matrix(n, d, 1), *k = random_matrix(m, d, 1), *v = random_matrix(m, dv, 1);
    uint8_t *mask = calloc(n * m, 1);
    mask[2 * m + 299] = 1;  /* row 2: only the last key, in the third tile */
    size_t wa;
    attn_softmax_attention_workspace(n, m, d, dv, &wa);
    float *work = malloc(wa * sizeof *work), *y = malloc(n * dv * sizeof *y);
    CHECK(attn_softmax_attention(n, m, d, dv, q, k, v, 1, 0, mask, y, work, wa) == ATTN_OK, "ok");
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < dv; c++)
            ok &= i == 2 ? fabsf(y[i * dv + c] - v[299 * dv + c]) < 1e-6f : y[i * dv + c] == 0.0f;
    CHECK(ok, "blocked rows give 0, a single allowed key gives its value");
    free(q), free(k), free(v), free(mask), free(work), free(y);
}

/* Kernel attention: outputs equal the implied weights times V (float64
 * product), for every feature, both tables, causal or not, m across the
 * transpose chunks; and the validation of feature specs. */
static void test_linear(void) {
    size_t n = 37, m = 300, d = 5, dv = 6, fm = 12;
    float *q = random_matrix(n, d, 1), *k = random_matrix(m, d, 1), *v = random_matrix(m, dv, 1);
    float *omega = malloc(fm * d * sizeof *omega);
    attn_rng rng;
    attn_rng_seed(&rng, 3);
    CHECK(attn_random_features(&rng, fm, d, 1, omega) == ATTN_OK, "random features");
    for (size_t r = 0; r < d; r++)  /* the first block is orthogonal */
        for (size_t s = 0; s < r; s++) {
            double dot = 0;
            for (size_t l = 0; l < d; l++) dot += (double)omega[r * d + l] * omega[s * d + l];
            CHECK(fabs(dot) < 1e-4, "rows %zu, %zu orthogonal (%g)", r, s, dot);
        }
    float *w = malloc(n * m * sizeof *w), *y = malloc(n * dv * sizeof *y);
    for (int kernels = 0; kernels <= attn_simd_available(); kernels++) {
        attn_use_kernels(kernels);
        for (int feature = 0; feature < ATTN_FEATURE_COUNT; feature++)
            for (int causal = 0; causal < 2; causal++) {
                attn_feature_spec spec;
                attn_feature_spec_set(&spec, feature, fm, omega, 2, 1e-3f, 1, 0);
                size_t floats;
                CHECK(attn_linear_workspace(&spec, n, m, d, dv, &floats) == ATTN_OK, "workspace");
                float *work = malloc(floats * sizeof *work);
                attn_status a = attn_kernel_weights(&spec, n, m, d, q, k, causal, 1e-6f, w, work, floats);
                attn_status b = attn_linear_attention(&spec, n, m, d, dv, q, k, v, causal, 1e-6f, y, work, floats);
                if (causal && feature == ATTN_FEATURE_EFFICIENT) {  /* its key map reads the future */
                    CHECK(a == ATTN_ERR_RANGE && b == ATTN_ERR_RANGE, "efficient causal refused");
                    free(work);
                    continue;
                }
                double worst = 0;
                for (size_t i = 0; i < n; i++)
                    for (size_t c = 0; c < dv; c++) {
                        double want = 0, mag = 0;
                        for (size_t j = 0; j < m; j++) {
                            want += (double)w[i * m + j] * v[j * dv + c];
                            mag += fabs((double)w[i * m + j] * v[j * dv + c]);
                        }
                        worst = fmax(worst, fabs(y[i * dv + c] - want) / (mag + 1e-30));
                    }
                CHECK(a == ATTN_OK && b == ATTN_OK && worst < 1e-4,
                      "linear = weights V: feature %d causal %d %s: %s %s, %.3g", feature, causal,
                      kernels ? "simd" : "scalar", attn_status_str(a), attn_status_str(b), worst);
                CHECK(attn_linear_attention(&spec, n, m, d, dv, q, k, v, causal, 1e-6f, y, work, floats - 1) ==
                          ATTN_ERR_WORKSPACE, "small workspace");
                free(work);
            }
    }
    attn_use_kernels(ATTN_KERNELS_SIMD);

    attn_feature_spec spec;
    size_t dim, floats;
    float out[64], work[256];
    attn_feature_spec_set(&spec, 99, 4, omega, 1, 0, 1, 0);
    CHECK(attn_feature_dim(&spec, 5, &dim) == ATTN_ERR_KIND, "unknown feature");
    attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_POS, 0, omega, 1, 0, 1, 0);
    CHECK(attn_feature_dim(&spec, 5, &dim) == ATTN_ERR_RANGE, "m = 0");
    attn_feature_spec_set(&spec, ATTN_FEATURE_DPFP, 4, NULL, 0, 0, 1, 0);
    CHECK(attn_feature_dim(&spec, 5, &dim) == ATTN_ERR_RANGE, "nu = 0");
    attn_feature_spec_set(&spec, ATTN_FEATURE_DPFP, 4, NULL, 10, 0, 1, 0);
    CHECK(attn_feature_dim(&spec, 5, &dim) == ATTN_ERR_RANGE, "nu = 2d");
    attn_feature_spec_set(&spec, ATTN_FEATURE_DPFP, 4, NULL, 3, 0, 1, 0);
    CHECK(attn_feature_dim(&spec, 5, &dim) == ATTN_OK && dim == 30, "dpfp dim");
    attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_TRIG, 4, NULL, 1, 0, 1, 0);
    CHECK(attn_feature_map(&spec, ATTN_ROLE_QUERY, 2, 5, q, out, work, 256) == ATTN_ERR_NULL, "projection NULL");
    attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_TRIG, 4, omega, 1, 0, 1, 0);
    CHECK(attn_feature_map_workspace(&spec, 5, &floats) == ATTN_OK && floats == 20, "feature workspace");
    CHECK(attn_feature_map(&spec, ATTN_ROLE_QUERY, 2, 5, q, out, work, 19) == ATTN_ERR_WORKSPACE, "small work");
    CHECK(attn_feature_map(&spec, 2, 2, 5, q, out, work, 256) == ATTN_ERR_KIND, "unknown role");
    CHECK(attn_feature_map(&spec, ATTN_ROLE_KEY, 2, 5, q, out, work, 256) == ATTN_OK, "trig key");
    attn_feature_spec_set(&spec, ATTN_FEATURE_RELU, 4, NULL, 1, -1.0f, 1, 0);
    CHECK(attn_feature_map(&spec, ATTN_ROLE_KEY, 2, 5, q, out, NULL, 0) == ATTN_ERR_RANGE, "negative epsilon");
    attn_feature_spec_set(&spec, ATTN_FEATURE_ELU1, 4, NULL, 1, 0, 1, 0);
    CHECK(attn_linear_attention(&spec, 2, 2, 5, 2, q, k, v, 0, -1.0f, out, work, 256) == ATTN_ERR_RANGE, "eps < 0");
    CHECK(attn_linear_attention(&spec, 2, 2, 5, 2, q, k, v, 0, NAN, out, work, 256) == ATTN_ERR_RANGE, "eps NaN");
    CHECK(attn_random_features(&rng, 0, 5, 1, omega) == ATTN_ERR_SHAPE, "m = 0 features");
    free(q), free(k), free(v), free(omega), free(w), free(y);
}

/* Fast weights: every rule against a double recurrence on the same
 * features, with states and errors; capacity; bad inputs. */
static void test_fast_weights(void) {
    size_t T = 23, d = 5, dv = 4;
    float *keys = random_matrix(T, d, 1), *values = random_matrix(T, dv, 1);
    float beta[23], alpha[23];
    for (size_t t = 0; t < T; t++) beta[t] = (float)(t % 4) / 3, alpha[t] = 0.6f + 0.1f * (float)(t % 3);
    attn_feature_spec spec;
    attn_feature_spec_set(&spec, ATTN_FEATURE_DPFP, 0, NULL, 2, 0, 1, ATTN_NORMALIZE_SUM);
    size_t dim, floats;
    attn_feature_dim(&spec, d, &dim);
    attn_fast_weights_workspace(&spec, T, d, dv, &floats);
    float *work = malloc(floats * sizeof *work), *fk = malloc(T * dim * sizeof *fk);
    float *out = malloc(T * dv * sizeof *out), *fin = malloc(dv * dim * sizeof *fin);
    float *states = malloc(T * dv * dim * sizeof *states), *errors = malloc(T * T * sizeof *errors);
    attn_feature_map(&spec, ATTN_ROLE_KEY, T, d, keys, fk, NULL, 0);
    double *W = malloc(dv * dim * sizeof *W);
    for (int kernels = 0; kernels <= attn_simd_available(); kernels++)
        for (int rule = 0; rule < 3; rule++) {
            attn_use_kernels(kernels);
            attn_status st = attn_fast_weights(&spec, rule, T, d, dv, keys, values, NULL, beta, 0, alpha, 0, out, fin,
                                               states, errors, work, floats);
            memset(W, 0, dv * dim * sizeof *W);
            double worst = 0;
            for (size_t t = 0; t < T; t++) {
                const float *phi = fk + t * dim;
                if (rule == ATTN_RULE_GATED_DELTA)
                    for (size_t c = 0; c < dv * dim; c++) W[c] *= alpha[t];
                for (size_t r = 0; r < dv; r++) {
                    double vbar = 0;
                    for (size_t f = 0; f < dim; f++) vbar += W[r * dim + f] * phi[f];
                    double a = rule == ATTN_RULE_SUM ? values[t * dv + r] : beta[t] * (values[t * dv + r] - vbar);
                    for (size_t f = 0; f < dim; f++) W[r * dim + f] += a * phi[f];
                }
                for (size_t r = 0; r < dv; r++) {
                    double y = 0;
                    for (size_t f = 0; f < dim; f++) y += W[r * dim + f] * phi[f];
                    worst = fmax(worst, fabs(out[t * dv + r] - y));
                }
                for (size_t c = 0; c < dv * dim; c++) worst = fmax(worst, fabs(states[t * dv * dim + c] - W[c]));
            }
            CHECK(st == ATTN_OK && worst < 1e-5 && memcmp(fin, states + (T - 1) * dv * dim, dv * dim * sizeof *fin) == 0 &&
                      errors[0 * T + 1] == 0.0f && errors[(T - 1) * T] >= 0.0f,
                  "fast weights rule %d %s: %s, %g", rule, kernels ? "simd" : "scalar", attn_status_str(st), worst);
        }
    attn_use_kernels(ATTN_KERNELS_SIMD);
    beta[3] = 1.5f;
    CHECK(attn_fast_weights(&spec, 1, T, d, dv, keys, values, NULL, beta, 0, NULL, 1, out, fin, NULL, NULL, work, floats) ==
              ATTN_ERR_RANGE, "beta > 1");
    CHECK(attn_fast_weights(&spec, 3, T, d, dv, keys, values, NULL, NULL, 1, NULL, 1, out, fin, NULL, NULL, work, floats) ==
              ATTN_ERR_KIND, "unknown rule");
    CHECK(attn_fast_weights(&spec, 0, T, d, dv, keys, values, NULL, NULL, 1, NULL, 1, out, fin, NULL, NULL, work,
                            floats - 1) == ATTN_ERR_WORKSPACE, "small workspace");

    attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 1, ATTN_NORMALIZE_L2);
    double e1 = 0, e2 = 0;
    attn_capacity_workspace(&spec, 8, 40, &floats);
    float *cw = malloc(floats * sizeof *cw);
    CHECK(attn_capacity(&spec, ATTN_RULE_SUM, 8, 1, 1, 2, 5, &e1, cw, floats) == ATTN_OK && e1 < 1e-10, "one pair exact");
    CHECK(attn_capacity(&spec, ATTN_RULE_SUM, 8, 40, 1, 2, 5, &e1, cw, floats) == ATTN_OK &&
              attn_capacity(&spec, ATTN_RULE_DELTA, 8, 40, 1, 2, 5, &e2, cw, floats) == ATTN_OK && e2 < e1 && e1 > 0.5,
          "40 pairs in 8 dims: sum %g fails, delta %g less", e1, e2);
    CHECK(attn_capacity(&spec, ATTN_RULE_SUM, 8, 40, 1, 2, 5, &e1, cw, floats - 1) == ATTN_ERR_WORKSPACE, "capacity work");
    CHECK(attn_capacity(&spec, ATTN_RULE_SUM, 8, 40, 2, 2, 5, &e1, cw, floats) == ATTN_ERR_RANGE, "capacity beta");
    free(keys), free(values), free(work), free(fk), free(out), free(fin), free(states), free(errors), free(W), free(cw);
}

/* The gallery's building blocks against double computations. */
static void test_gallery(void) {
    size_t n = 13, k = 7, m = 9;
    float *a = random_matrix(n, k, 1), *b = random_matrix(k, m, 1), *bt = random_matrix(m, k, 1);
    float *c = malloc(n * m * sizeof *c), work[4096];
    int ok = attn_matmul(n, k, m, 0.5f, a, b, c) == ATTN_OK;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double want = 0;
            for (size_t l = 0; l < k; l++) want += 0.5 * a[i * k + l] * b[l * m + j];
            ok &= fabs(c[i * m + j] - want) < 1e-5;
        }
    CHECK(ok, "matmul");
    ok = attn_matmul_nt(n, m, k, 2.0f, a, bt, c, work, 4096) == ATTN_OK;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double want = 0;
            for (size_t l = 0; l < k; l++) want += 2.0 * a[i * k + l] * bt[j * k + l];
            ok &= fabs(c[i * m + j] - want) < 1e-5;
        }
    CHECK(ok, "matmul_nt");
    float kernel[3] = {1, 2, 3}, pooled[5 * 7];
    ok = attn_pool_rows(n, k, 3, a, kernel, pooled) == ATTN_OK;
    for (size_t s = 0; s < 5; s++)
        for (size_t l = 0; l < k; l++) {
            double want = 0;
            for (size_t t = 0; t < 3 && s * 3 + t < n; t++) want += kernel[t] * a[(s * 3 + t) * k + l];
            ok &= fabs(pooled[s * k + l] - want) < 1e-5;
        }
    CHECK(ok, "pool_rows with a short last slot");
    memcpy(c, b, k * m * sizeof *c);
    ok = attn_softmax_rows(k, m, c, 1, NULL) == ATTN_OK;
    for (size_t i = 0; i < k; i++) {
        double sum = 0;
        for (size_t j = 0; j < m; j++) sum += c[i * m + j], ok &= j <= i || c[i * m + j] == 0.0f;
        ok &= fabs(sum - 1) < 1e-6;
    }
    CHECK(ok, "softmax_rows causal");
    float *L = random_matrix(8, 8, 3);
    ok = attn_sinkhorn(8, L, 300, 1.0f, 0) == ATTN_OK;
    for (size_t i = 0; i < 8; i++) {
        double row = 0, col = 0;
        for (size_t j = 0; j < 8; j++) row += L[i * 8 + j], col += L[j * 8 + i];
        ok &= fabs(row - 1) < 1e-5 && fabs(col - 1) < 1e-5;
    }
    CHECK(ok, "sinkhorn doubly stochastic");
    CHECK(attn_sinkhorn(8, L, 3, 0.0f, 0) == ATTN_ERR_RANGE, "tau 0");
    CHECK(attn_pool_rows(n, k, 0, a, kernel, pooled) == ATTN_ERR_RANGE, "pool c 0");
    CHECK(attn_matmul(n, 0, m, 1, a, b, c) == ATTN_ERR_SHAPE, "matmul k 0");
    CHECK(attn_matmul_nt(n, m, k, 1, a, bt, c, work, 10) == ATTN_ERR_WORKSPACE, "matmul_nt work");
    L[5] = NAN;
    CHECK(attn_sinkhorn(8, L, 3, 1.0f, 0) == ATTN_ERR_NONFINITE, "sinkhorn NaN");
    free(a), free(b), free(bt), free(c), free(L);
}

/* ------------------------------------------------- finite or an error */

/* The three softmax paths on one input (dense mask or none; the CSR is made
 * from it): statuses and outputs. p: [n, m] weights, y / ys: [n, dv]. */
typedef struct three {
    attn_status weights, streaming, sparse;
} three;

static three softmax_three(size_t n, size_t m, size_t d, size_t dv, const float *q, const float *k, const float *v,
                           float scale, int causal, float *p, float *y, float *ys) {
    uint8_t *mask = malloc(n * m);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) mask[i * m + j] = !causal || j <= i;
    int32_t *indptr = malloc((n + 1) * sizeof *indptr), *indices = malloc(n * m * sizeof *indices);
    attn_dense_to_csr(n, m, mask, n * m, indptr, indices);
    size_t ww, wa;
    attn_softmax_weights_workspace(n, m, d, &ww);
    attn_softmax_attention_workspace(n, m, d, dv, &wa);
    float *work = malloc(attn__maxsz(attn__maxsz(ww, wa), m) * sizeof *work);
    three r;
    r.weights = attn_softmax_weights(n, m, d, q, k, scale, causal, NULL, p, work, ww);
    r.streaming = attn_softmax_attention(n, m, d, dv, q, k, v, scale, causal, NULL, y, work, wa);
    r.sparse = attn_sparse_attention(n, m, d, dv, q, k, v, scale, indptr, indices, ys, work, m);
    free(mask), free(indptr), free(indices), free(work);
    return r;
}

static int all_three(three r, attn_status want) {
    return r.weights == want && r.streaming == want && r.sparse == want;
}

/* Every issue-12 reproducer gives a finite right answer or ERR_OVERFLOW, in
 * both kernel tables, and the three softmax paths agree. */
static void test_values(void) {
    for (int kernels = 0; kernels <= attn_simd_available(); kernels++) {
        attn_use_kernels(kernels);
        const char *tab = kernels ? "simd" : "scalar";
        float p[8], y[8], ys[8];
        {   /* softmaxWeights([[1e20]], [[1e20], [1]]): the logit 1e40 overflows */
            float q[] = {1e20f}, k[] = {1e20f, 1}, v[] = {1, 2};
            three r = softmax_three(1, 2, 1, 1, q, k, v, 1, 0, p, y, ys);
            CHECK(all_three(r, ATTN_ERR_OVERFLOW), "1e20 x 1e20 overflows in all paths (%s): %d %d %d", tab, r.weights,
                  r.streaming, r.sparse);
            /* scale 0: every logit is (0 q).k = 0, uniform weights */
            r = softmax_three(1, 2, 1, 1, q, k, v, 0, 0, p, y, ys);
            CHECK(all_three(r, ATTN_OK) && p[0] == 0.5f && p[1] == 0.5f && fabsf(y[0] - 1.5f) < 1e-6f &&
                      fabsf(ys[0] - 1.5f) < 1e-6f,
                  "scale 0 with huge logits: uniform in all paths (%s): %g %g %g %g", tab, p[0], p[1], y[0], ys[0]);
        }
        {   /* scale 3e38: (3e38 * 1) * 2 overflows; (3e38 * 0.5) * 1 does not */
            float q[] = {1}, k[] = {1, 2}, v[] = {1, 2};
            three r = softmax_three(1, 2, 1, 1, q, k, v, 3e38f, 0, p, y, ys);
            CHECK(all_three(r, ATTN_ERR_OVERFLOW), "scale 3e38 overflows (%s)", tab);
            float q2[] = {0.5f}, k2[] = {1, 0.1f}, v2[] = {3, 7};
            r = softmax_three(1, 2, 1, 1, q2, k2, v2, 3e38f, 0, p, y, ys);
            CHECK(all_three(r, ATTN_OK) && p[0] == 1 && p[1] == 0 && y[0] == 3 && ys[0] == 3,
                  "scale 3e38, finite logits 1.5e38 and 1.5e37: weights [1, 0] (%s): %g %g %g %g", tab, p[0], p[1], y[0],
                  ys[0]);
        }
        {   /* logits +-1e38: far apart but finite, exact one-hot weights */
            float q[] = {1e19f}, k[] = {-1e19f, 1e19f}, v[] = {5, -4};
            three r = softmax_three(1, 2, 1, 1, q, k, v, 1, 0, p, y, ys);
            CHECK(all_three(r, ATTN_OK) && p[0] == 0 && p[1] == 1 && y[0] == -4 && ys[0] == -4,
                  "logits -1e38, 1e38 (%s)", tab);
        }
        {   /* an overflowing logit of a blocked pair (0, 1) does not matter */
            float q[] = {1e20f, 1}, k[] = {1, 1e20f}, v[] = {2, 9};
            three r = softmax_three(2, 2, 1, 1, q, k, v, 1, 1, p, y, ys);
            CHECK(all_three(r, ATTN_OK) && p[0] == 1 && p[1] == 0 && p[2] == 0 && p[3] == 1 && y[0] == 2 && y[1] == 9 &&
                      ys[0] == 2 && ys[1] == 9,
                  "blocked overflow ignored, causal (%s)", tab);
            r = softmax_three(2, 2, 1, 1, q, k, v, 1, 0, p, y, ys);
            CHECK(all_three(r, ATTN_ERR_OVERFLOW), "the same pair allowed overflows (%s)", tab);
        }
        {   /* q = (3e38, 3e38, -3e38), k0 = (1, 1, 1): the float32 partial sum
             * 6e38 overflows in every summation order that adds the first two
             * first, but the logit is 3e38; k1 = 0: logit 0. Every path
             * recomputes the logit in double: weights [1, 0], y = v0 (fuzz
             * regression softmax/partial-sum-overflows-logit-finite). With
             * q = (3e38, 3e38, 0) the logit 6e38 overflows in every path. */
            float q[] = {3e38f, 3e38f, -3e38f}, k[] = {1, 1, 1, 0, 0, 0}, v[] = {0.25f, 4};
            three r = softmax_three(1, 2, 3, 1, q, k, v, 1, 0, p, y, ys);
            CHECK(all_three(r, ATTN_OK) && p[0] == 1 && p[1] == 0 && y[0] == 0.25f && ys[0] == 0.25f,
                  "partial sums overflow, logit 3e38 finite (%s): %d %d %d, %g %g %g %g", tab, r.weights, r.streaming,
                  r.sparse, p[0], p[1], y[0], ys[0]);
            float q2[] = {3e38f, 3e38f, 0};
            r = softmax_three(1, 2, 3, 1, q2, k, v, 1, 0, p, y, ys);
            CHECK(all_three(r, ATTN_ERR_OVERFLOW), "logit 6e38 overflows in all paths (%s)", tab);
        }
        {   /* values near FLT_MAX: the unnormalised sum 6e38 overflows float32,
             * the output (their mean, 3e38) does not: all three paths give it */
            float q[] = {0, 0}, k[] = {0, 0, 0, 0}, v[] = {3e38f, 3e38f};
            three r = softmax_three(1, 2, 2, 1, q, k, v, 1, 0, p, y, ys);
            CHECK(all_three(r, ATTN_OK) && y[0] == 3e38f && ys[0] == 3e38f,
                  "the mean of values near FLT_MAX (%s): %g %g", tab, y[0], ys[0]);
        }
        {   /* logits near 1e30 in a larger case, past tiles and panels: all
             * paths agree with each other and with the float64 weights */
            size_t n = 37, m = 150, d = 3, dv = 2;
            float *q = random_matrix(n, d, 1e15f), *k = random_matrix(m, d, 1e15f), *v = random_matrix(m, dv, 1);
            float *pw = malloc(n * m * sizeof *pw), *yw = malloc(n * dv * sizeof *yw), *yz = malloc(n * dv * sizeof *yz);
            double *ref = malloc(n * m * sizeof *ref);
            three r = softmax_three(n, m, d, dv, q, k, v, 0.5f, 1, pw, yw, yz);
            ref_weights(n, m, d, q, k, 0.5, 1, NULL, ref);
            CHECK(all_three(r, ATTN_OK) && weights_excess(n * m, pw, ref, 1e-5) == 0 &&
                      outputs_excess(n, m, dv, yw, ref, v, 1e-5) == 0 && outputs_excess(n, m, dv, yz, ref, v, 1e-5) == 0,
                  "logits near 1e30: three paths agree with float64 (%s)", tab);
            free(q), free(k), free(v), free(pw), free(yw), free(yz), free(ref);
        }
    }
    attn_use_kernels(ATTN_KERNELS_SIMD);

    /* kernel attention */
    float q[] = {1, 2, -1, -2}, k[] = {1, 1, 2, 0.5f, -3, -1}, v[] = {1, 2, 3};
    float w[6], y[2], work[16384];
    attn_feature_spec spec;
    attn_feature_spec_set(&spec, ATTN_FEATURE_RELU, 0, NULL, 1, 3e38f, 1, 0);
    /* every feature is 3e38 (+ at most 2, lost in float): phi.phi = 1.8e77
     * overflows float32, but W (a row of three equal dots) is 1/3 each,
     * computed in double; linear attention's state sum phi(k) v^T overflows */
    int third = attn_kernel_weights(&spec, 2, 3, 2, q, k, 0, 1e-6f, w, work, 16384) == ATTN_OK;
    for (int t = 0; t < 6; t++) third &= fabs(w[t] - 1 / 3.0) < 1e-6;
    CHECK(third && attn_linear_attention(&spec, 2, 3, 2, 1, q, k, v, 0, 1e-6f, y, work, 16384) == ATTN_ERR_OVERFLOW,
          "relu kernel_eps 3e38: weights 1/3 (dots in double), outputs overflow");
    attn_feature_spec_set(&spec, ATTN_FEATURE_RELU, 0, NULL, 1, 0, 1, 0);
    for (int causal = 0; causal < 2; causal++) {
        /* query 1 = (-1, -2): all its ReLU features are 0, so is its denominator */
        attn_status a = attn_kernel_weights(&spec, 2, 3, 2, q, k, causal, 0, w, work, 16384);
        attn_status b = attn_linear_attention(&spec, 2, 3, 2, 1, q, k, v, causal, 0, y, work, 16384);
        /* query 0 = (1, 2): phi(k) = (1, 1), (2, 0.5), (0, 0): dots 3, 3, 0 */
        int ok = a == ATTN_OK && b == ATTN_OK && w[3] == 0 && w[4] == 0 && w[5] == 0 && y[1] == 0;
        if (causal) ok &= w[0] == 1 && w[1] == 0 && w[2] == 0 && y[0] == 1;
        else ok &= fabsf(w[0] - 0.5f) < 1e-7f && fabsf(w[1] - 0.5f) < 1e-7f && w[2] == 0 && fabsf(y[0] - 1.5f) < 1e-6f;
        CHECK(ok, "kernel_eps 0, eps 0: zero denominator gives a 0 row (causal %d): %g %g %g / %g %g", causal, w[0],
              w[1], w[2], y[0], y[1]);
    }
    float big[] = {1, 1, 1, 1};  /* u - h = 167 for this projection: exp beyond float32 */
    float omega[] = {100, 100, 100, 100, 100, 100};
    attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_POS, 3, omega, 1, 0, 0, 0);
    CHECK(attn_feature_map(&spec, ATTN_ROLE_QUERY, 2, 2, big, w, work, 16384) == ATTN_ERR_OVERFLOW,
          "FAVOR+ without stabilize overflows");
    attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_POS, 3, omega, 1, 0, 1, 0);
    CHECK(attn_feature_map(&spec, ATTN_ROLE_QUERY, 2, 2, big, w, work, 16384) == ATTN_OK && attn__all_finite(w, 6),
          "FAVOR+ with stabilize stays finite");
    attn_feature_spec_set(&spec, ATTN_FEATURE_EFFICIENT, 0, NULL, 1, 0, 1, 0);
    CHECK(attn_kernel_weights(&spec, 2, 3, 2, q, k, 0, 0, w, work, 16384) == ATTN_OK &&
              attn_kernel_weights(&spec, 2, 3, 2, q, k, 1, 0, w, work, 16384) == ATTN_ERR_RANGE &&
              attn_linear_attention(&spec, 2, 3, 2, 1, q, k, v, 1, 0, y, work, 16384) == ATTN_ERR_RANGE,
          "efficient: causal refused");
    {
        /* identity map, d = 1: keys 3e38, 3e38, (0, ...), -3e38 sum to 3e38,
         * but their float32 running sum z passes through 6e38 = inf, so
         * phi(q) z is inf; the denominator must come out finite (from phi(K)
         * in double) and y = sum k_j v_j / sum k_j = -3e38 / 3e38 = -1, not
         * a row of 0 (fuzz regression linear/identity-z-overflows-part-way).
         * 66 keys: the causal form advances z a block of 64 rows at a time,
         * so rows 64 and 65 read it. */
        enum { N = 66 };
        float qz[N], kz[N], vz[N], yz[N];
        for (int t = 0; t < N; t++) qz[t] = 1e-30f, kz[t] = 0, vz[t] = 0;
        kz[0] = kz[1] = 3e38f, kz[64] = -3e38f, vz[64] = 1;
        attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 0, 0);
        size_t floats = 0;
        CHECK(attn_linear_workspace(&spec, N, N, 1, 1, &floats) == ATTN_OK, "linear workspace");
        float *lw = malloc(floats * sizeof *lw);
        for (int causal = 0; causal < 2; causal++) {
            attn_status st = attn_linear_attention(&spec, N, N, 1, 1, qz, kz, vz, causal, 1e-6f, yz, lw, floats);
            int from = causal ? 64 : 0, ok = st == ATTN_OK;
            for (int t = from; t < N; t++) ok &= fabsf(yz[t] + 1) < 1e-5f;
            CHECK(ok, "identity keys 3e38, 3e38, -3e38 (causal %d): %s, y[%d] = %g, want -1", causal,
                  attn_status_code(st), from, yz[from]);
        }
        /* q = k = 3e19, eps = 0: y = q k v / (q k + eps) = v, and the denominator
         * 9e38 has a subnormal float32 reciprocal (1.1e-39, 16 bits): the
         * row must be divided by it in double, not scaled by it (fuzz
         * regression linear/relu-keps-1e20-reciprocal-subnormal). */
        float q1 = 3e19f, k1 = 3e19f, worst = 0;
        for (int t = 1; t <= 50; t++) {
            float v1 = 0.005f * (float)t + 0.003f, y1 = 0;
            attn_status st = attn_linear_attention(&spec, 1, 1, 1, 1, &q1, &k1, &v1, 0, 0.0f, &y1, lw, floats);
            worst = fmaxf(worst, st == ATTN_OK ? fabsf(y1 - v1) / v1 : INFINITY);
        }
        /* three roundings (k v, q S, the quotient) of u = FLT_EPSILON / 2 each */
        CHECK(worst <= 1.5 * FLT_EPSILON, "identity q = k = 3e19: y = v within 3 u, worst relative error %g", worst);
        free(lw);
    }

    /* gallery */
    float a[] = {1e30f, 1e30f}, b[] = {1e30f, -1e30f}, c[4];
    CHECK(attn_matmul(1, 2, 1, 1, a, b, c) == ATTN_ERR_OVERFLOW, "matmul [[1e30, 1e30]] [[1e30], [-1e30]]");
    CHECK(attn_matmul_nt(1, 1, 2, 1, a, b, c, work, 16384) == ATTN_ERR_OVERFLOW, "matmul_nt overflow");
    float small[] = {1e-20f, 1e-20f}, ck[] = {1, 1};
    CHECK(attn_matmul(1, 2, 1, 1e30f, small, ck, c) == ATTN_OK && fabsf(c[0] - 2e10f) < 1e4f, "(alpha A) B");
    CHECK(attn_pool_rows(2, 1, 2, (float[]){3e38f, 3e38f}, ck, c) == ATTN_ERR_OVERFLOW, "pool overflow");
    float L[] = {1000, 500, 250, 2000};
    CHECK(attn_sinkhorn(2, L, 3, 1e-36f, 0) == ATTN_ERR_OVERFLOW, "sinkhorn: logits / tau 1e-36 beyond float32");
    float L1[] = {1, 0.5f, 0.25f, 2};
    CHECK(attn_sinkhorn(2, L1, 3, 1e-35f, 0) == ATTN_OK && L1[0] == 1 && L1[1] == 0 && L1[2] == 0 && L1[3] == 1,
          "sinkhorn tau 1e-35, logits / tau finite: a permutation %g %g %g %g", L1[0], L1[1], L1[2], L1[3]);
    float L2[] = {1, 0.5f, 0.25f, 2};
    CHECK(attn_sinkhorn(2, L2, 0, 1e-2f, 0) == ATTN_ERR_OVERFLOW, "sinkhorn exp(200) without iterations");
    float L3[] = {1, 0.5f, 0.25f, 2};
    CHECK(attn_sinkhorn(2, L3, 20, 1e-2f, 0) == ATTN_OK && attn__all_finite(L3, 4), "sinkhorn tau 1e-2 iterated");
    CHECK(attn_sinkhorn(2, L3, 2, -1, 0) == ATTN_ERR_RANGE, "sinkhorn tau < 0");

    /* fast weights: the delta rule with |k|^2 = 4 and no normalisation
     * multiplies the error by 1 - 4 = -3 each step */
    enum { T = 120 };
    float keys[T * 2], vals[T], outs[T], fin[2], states[T * 2], errors[T * T];
    for (size_t t = 0; t < T; t++) keys[2 * t] = 2, keys[2 * t + 1] = 0, vals[t] = 1;
    attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 1, ATTN_NORMALIZE_NONE);
    CHECK(attn_fast_weights(&spec, ATTN_RULE_DELTA, T, 2, 1, keys, vals, NULL, NULL, 1, NULL, 1, outs, fin, NULL, NULL,
                            work, 16384) == ATTN_ERR_OVERFLOW,
          "delta rule, |k|^2 = 4: diverges to ERR_OVERFLOW");
    CHECK(attn_fast_weights(&spec, ATTN_RULE_DELTA, T, 2, 1, keys, vals, NULL, NULL, 0.25f, NULL, 1, outs, fin, states,
                            errors, work, 16384) == ATTN_OK && fabsf(outs[T - 1] - 1) < 1e-6f,
          "delta rule, beta |k|^2 = 1: converges at once");
    attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 1, ATTN_NORMALIZE_L2);
    CHECK(attn_fast_weights(&spec, ATTN_RULE_DELTA, T, 2, 1, keys, vals, NULL, NULL, 1, NULL, 1, outs, fin, NULL, NULL,
                            work, 16384) == ATTN_OK && fabsf(outs[T - 1] - 1) < 1e-6f,
          "delta rule, L2-normalised keys: stable");
    attn_feature_spec_set(&spec, ATTN_FEATURE_EFFICIENT, 0, NULL, 1, 0, 1, ATTN_NORMALIZE_NONE);
    CHECK(attn_fast_weights(&spec, ATTN_RULE_SUM, T, 2, 1, keys, vals, NULL, NULL, 1, NULL, 1, outs, fin, NULL, NULL,
                            work, 16384) == ATTN_ERR_RANGE, "fast weights: efficient refused");
    double e;
    size_t cf;
    CHECK(attn_capacity_workspace(&spec, 2, 4, &cf) == ATTN_OK && cf <= 16384 &&
              attn_capacity(&spec, ATTN_RULE_SUM, 2, 4, 1, 1, 0, &e, work, 16384) == ATTN_ERR_RANGE,
          "capacity: efficient refused");
    /* capacity with FAVOR+ unstabilised, keys N(0, I_2) through a projection
     * of entries 300: exp(u - h) overflows for almost every draw */
    float omega2[8] = {300, 300, -300, 300, 300, -300, -300, -300};
    attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_POS, 4, omega2, 1, 0, 0, ATTN_NORMALIZE_NONE);
    CHECK(attn_capacity_workspace(&spec, 2, 8, &cf) == ATTN_OK && cf <= 16384 &&
              attn_capacity(&spec, ATTN_RULE_SUM, 2, 8, 1, 3, 0, &e, work, 16384) == ATTN_ERR_OVERFLOW,
          "capacity FAVOR+ without stabilize: ERR_OVERFLOW");
    attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_POS, 4, omega2, 1, 0, 1, ATTN_NORMALIZE_NONE);
    CHECK(attn_capacity(&spec, ATTN_RULE_SUM, 2, 8, 1, 3, 0, &e, work, 16384) == ATTN_OK && isfinite(e),
          "capacity FAVOR+ with stabilize: finite");
}

/* Random inputs over 60 orders of magnitude, random scales (0, tiny, huge,
 * negative), causal or masked: the three softmax paths return the same
 * status, decided independently in double from fl(scale q_l) k_l (every
 * |partial sum| < FLT_MAX / 2: OK; some allowed logit beyond 2 FLT_MAX or a
 * scaled query element infinite: ERR_OVERFLOW; cases in between are not
 * judged), and on OK every weight row sums to 1 (0 if blocked) and every
 * output is a weighted average: within [min, max] of the allowed values. */
static void test_three_paths_random(void) {
    int judged_ok = 0, judged_overflow = 0, bad_status = 0, bad_value = 0;
    for (int trial = 0; trial < 400; trial++) {
        attn_use_kernels(trial % 2 && attn_simd_available() ? ATTN_KERNELS_SIMD : ATTN_KERNELS_SCALAR);
        size_t n = 1 + (size_t)((lcg_uniform() + 1) * 20), m = 1 + (size_t)((lcg_uniform() + 1) * 20);
        size_t d = 1 + (size_t)((lcg_uniform() + 1) * 4), dv = 1 + (size_t)((lcg_uniform() + 1) * 2);
        int causal = lcg_uniform() > 0.3f;
        float qa = powf(10, 15 * lcg_uniform() + 10), ka = powf(10, 15 * lcg_uniform() + 10);
        float scales[] = {0, 1 / sqrtf((float)d), powf(10, 30 * lcg_uniform()), -powf(10, 30 * lcg_uniform())};
        float scale = scales[trial % 4];
        if (causal && m < n) m = n;  /* the CSR of the causal mask needs j <= i to exist */
        float *q = random_matrix(n, d, qa), *k = random_matrix(m, d, ka), *v = random_matrix(m, dv, 1e20f);
        float *p = malloc(n * m * sizeof *p), *y = malloc(n * dv * sizeof *y), *ys = malloc(n * dv * sizeof *ys);
        int want = ATTN_OK, fits = 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) {
                if (causal && j > i) continue;
                double sum = 0, mag = 0;
                int inf = 0;
                for (size_t l = 0; l < d; l++) {
                    float qs = scale * q[i * d + l];
                    inf |= !isfinite(qs);
                    sum += (double)qs * k[j * d + l];
                    mag += fabs((double)qs * k[j * d + l]);
                }
                if (inf || fabs(sum) > 2.0 * FLT_MAX) want = ATTN_ERR_OVERFLOW;
                if (!(mag < FLT_MAX / 2)) fits = 0;
            }
        if (want == ATTN_OK && !fits) want = -1;  /* not judged */
        three r = softmax_three(n, m, d, dv, q, k, v, scale, causal, p, y, ys);
        if (want >= 0) {
            judged_ok += want == ATTN_OK;
            judged_overflow += want == ATTN_ERR_OVERFLOW;
            bad_status += !all_three(r, (attn_status)want);
        }
        if (all_three(r, ATTN_OK)) {
            for (size_t i = 0; i < n; i++) {
                size_t allowed = causal ? attn__min(i + 1, m) : m;
                double row = 0;
                for (size_t j = 0; j < m; j++) row += p[i * m + j];
                bad_value += !(fabs(row - 1) < 1e-5);
                for (size_t c = 0; c < dv; c++) {
                    double lo = INFINITY, hi = -INFINITY;
                    for (size_t j = 0; j < allowed; j++) lo = fmin(lo, v[j * dv + c]), hi = fmax(hi, v[j * dv + c]);
                    double slack = 1e-5 * fmax(fabs(lo), fabs(hi));
                    float got[2] = {y[i * dv + c], ys[i * dv + c]};
                    for (int t = 0; t < 2; t++) bad_value += !(got[t] >= lo - slack && got[t] <= hi + slack);
                }
            }
        }
        free(q), free(k), free(v), free(p), free(y), free(ys);
    }
    attn_use_kernels(ATTN_KERNELS_SIMD);
    CHECK(bad_status == 0 && bad_value == 0 && judged_ok > 100 && judged_overflow > 30,
          "three paths on random extremes: %d OK and %d overflow cases judged, %d statuses and %d values wrong", judged_ok,
          judged_overflow, bad_status, bad_value);
}

/* ------------------------------------------------ sizes that cannot wrap */

static size_t mask_count(attn_mask_spec *s) {
    uint8_t *work = malloc(s->n);
    size_t nnz = 0;
    attn_status st = attn_mask_nnz(s, &nnz, work);
    free(work);
    return st == ATTN_OK ? nnz : (size_t)-1;
}

static void test_sizes(void) {
    attn_mask_spec s;
    const double big = 4294967296.0;  /* 2^32: wraps a wasm32 size_t */
    attn_mask_spec_init(&s, ATTN_MASK_KIND_LOCAL, 16);
    CHECK(attn_mask_spec_set(&s, 1, big) == ATTN_OK && s.window == 16 && mask_count(&s) == 256,
          "window 2^32 clamped: every cell");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_RANDOM, 16);
    CHECK(attn_mask_spec_set(&s, 7, big) == ATTN_OK && mask_count(&s) == 256, "perRow 2^32: every key");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_BIGBIRD, 64);
    attn_mask_spec_set(&s, 4, 8);
    attn_mask_spec_set(&s, 8, 1);
    CHECK(attn_mask_spec_set(&s, 9, big) == ATTN_OK && mask_count(&s) == 64 * 64, "globalBlocks 2^32: all global");
    CHECK(attn_mask_spec_set(&s, 10, big) == ATTN_OK && attn_mask_spec_set(&s, 8, big + 1) == ATTN_OK &&
              s.window_blocks % 2 == 1 && attn_mask_check(&s) == ATTN_OK,
          "windowBlocks 2^32 + 1 stays odd");
    CHECK(attn_mask_spec_set(&s, 8, big) == ATTN_OK && attn_mask_check(&s) == ATTN_ERR_RANGE,
          "windowBlocks 2^32 stays even (refused)");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_STRIDED, 16);
    CHECK(attn_mask_spec_set(&s, 3, 1e15) == ATTN_OK && mask_count(&s) == 16, "stride 1e15: the diagonal");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_DILATED, 16);
    attn_mask_spec_set(&s, 1, 3);
    CHECK(attn_mask_spec_set(&s, 2, big * 3) == ATTN_OK && mask_count(&s) == 16, "dilation 3 * 2^32: the diagonal");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_FIXED, 16);
    CHECK(attn_mask_spec_set(&s, 4, big) == ATTN_ERR_RANGE && attn_mask_spec_set(&s, 5, 2147483648.0) == ATTN_ERR_RANGE &&
              attn_mask_spec_set(&s, 4, 2147483647.0) == ATTN_OK,
          "block, summary past INT32_MAX refused");
    CHECK(attn_mask_spec_set(&s, 6, big) == ATTN_ERR_RANGE && attn_mask_spec_set(&s, 12, big) == ATTN_ERR_RANGE,
          "nTokens, rounds past INT32_MAX refused");
    CHECK(attn_mask_spec_set(&s, 0, 2) == ATTN_ERR_RANGE && attn_mask_spec_set(&s, 0, 1) == ATTN_OK && s.causal == 1,
          "causal is 0 or 1");
    CHECK(attn_mask_spec_set(&s, 1, 9007199254740994.0) == ATTN_ERR_RANGE && attn_mask_spec_set(&s, 1, NAN) == ATTN_ERR_RANGE &&
              attn_mask_spec_set(&s, 1, INFINITY) == ATTN_ERR_RANGE && attn_mask_spec_set(&s, 1, -1) == ATTN_ERR_RANGE,
          "beyond 2^53, NaN, inf, negative refused");
    CHECK(attn_mask_spec_set(&s, 11, 9007199254740992.0) == ATTN_OK && s.seed == 9007199254740992ull, "seed 2^53");

    /* CSR limits, also as wasm32 sees them */
    CHECK(attn__csr_fits(2147483647u, UINT64_MAX) == ATTN_OK && attn__csr_fits(2147483648u, UINT64_MAX) == ATTN_ERR_MEMORY,
          "nnz up to INT32_MAX");
    CHECK(attn__csr_fits(1073741823u, UINT32_MAX) == ATTN_OK && attn__csr_fits(1073741824u, UINT32_MAX) == ATTN_ERR_MEMORY,
          "wasm32: 4 nnz bytes fit in a 32-bit size_t");
    CHECK(attn__csr_fits(4294967296ull, UINT32_MAX) == ATTN_ERR_MEMORY, "wasm32: 2^32 cells (n = 65536 full)");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_FULL, 65536);
    size_t nnz = 7;
    uint8_t *row = malloc(65536);
    CHECK(attn_mask_nnz(&s, &nnz, row) == ATTN_ERR_MEMORY && nnz == 7, "full 65536: nnz 2^32 is ERR_MEMORY");
    free(row);

    /* mask_layers: the work bound */
    CHECK(attn__layers_fit(64, 64 * 64, 1, 0) && !attn__layers_fit(46340, 46340ull * 46340, 1, 0) &&
              attn__layers_fit(1024, 1024 * 1024, 4, 0) && !attn__layers_fit(1024, 1024 * 1024, 4, 4.25e9),
          "layers work bound");
    size_t n = 8192, words;
    uint8_t *mask = malloc(n * n);
    memset(mask, 1, n * n);
    attn_mask_layers_workspace(n, &words);
    uint64_t *work = malloc(words * sizeof *work);
    double reached[4];
    size_t layers = 99;
    CHECK(attn_mask_layers(n, mask, 4, reached, &layers, work, words) == ATTN_ERR_RANGE && layers == 99,
          "layers of a full 8192 mask: 8.6e9 word operations a layer, refused");
    n = 2048;
    attn_mask_layers_workspace(n, &words);
    CHECK(attn_mask_layers(n, mask, 4, reached, &layers, work, words) == ATTN_OK && layers == 1 &&
              reached[0] == (double)n * n && reached[3] == (double)n * n,
          "layers of a full 2048 mask: 1");
    free(mask), free(work);

    /* malformed CSR */
    float q[4] = {1, 2, 3, 4}, k[4] = {1, 0, 0, 1}, v[2] = {1, 2}, out[2], w[4];
    int32_t indptr[3] = {0, 2, 3}, dup[3] = {1, 1, 0}, unsorted[3] = {1, 0, 0}, good[3] = {0, 1, 1};
    CHECK(attn_sparse_attention(2, 2, 2, 1, q, k, v, 1, indptr, good, out, w, 4) == ATTN_OK, "csr ok");
    CHECK(attn_sparse_attention(2, 2, 2, 1, q, k, v, 1, indptr, dup, out, w, 4) == ATTN_ERR_RANGE, "csr duplicate");
    CHECK(attn_sparse_attention(2, 2, 2, 1, q, k, v, 1, indptr, unsorted, out, w, 4) == ATTN_ERR_RANGE, "csr unsorted");
    int32_t off[3] = {1, 2, 3};
    CHECK(attn_sparse_attention(2, 2, 2, 1, q, k, v, 1, off, good, out, w, 4) == ATTN_ERR_RANGE, "csr indptr[0] != 0");
    int32_t neg[3] = {0, 1, 2}, negi[2] = {0, -1};
    CHECK(attn_sparse_attention(2, 2, 2, 1, q, k, v, 1, neg, negi, out, w, 4) == ATTN_ERR_RANGE, "csr negative index");
}

/* The name lists: the documented names in order, NULL past the end, and as
 * many as the enumeration has values. */
static void check_names(const char *list, const char *(*name)(int), const char *const *want, int count) {
    int ok = name(-1) == NULL && name(count) == NULL;
    for (int id = 0; id < count; id++) ok &= name(id) && strcmp(name(id), want[id]) == 0;
    CHECK(ok, "names of %s", list);
}

static void test_names(void) {
    const char *features[] = {"identity", "elu+1", "relu", "taylor", "efficient", "favor+", "favor-trig", "favor-hyp",
                              "dpfp"};
    const char *rules[] = {"sum", "delta", "gated-delta"};
    const char *norms[] = {"none", "sum", "l2"};
    const char *kernels[] = {"scalar", "simd"};
    const char *kinds[] = {"full", "causal", "local", "strided", "dilated", "fixed", "sparse-transformer", "global",
                           "random", "longformer", "bigbird", "cluster"};
    const char *bits[] = {"local", "strided", "global", "random", "cluster"};
    check_names("features", attn_feature_name, features, ATTN_FEATURE_COUNT);
    check_names("rules", attn_rule_name, rules, ATTN_RULE_COUNT);
    check_names("normalisations", attn_normalize_name, norms, ATTN_NORMALIZE_COUNT);
    check_names("kernel tables", attn_kernels_name, kernels, ATTN_KERNELS_COUNT);
    check_names("mask kinds", attn_mask_kind_name, kinds, ATTN_MASK_KIND_COUNT);
    check_names("mask bits", attn_mask_bit_name, bits, ATTN_MASK_BIT_COUNT);
    CHECK(ATTN_FEATURE_COUNT == 9 && ATTN_RULE_COUNT == 3 && ATTN_MASK_KIND_COUNT == 12 && ATTN_MASK_BIT_COUNT == 5 &&
              ATTN_FEATURE_DPFP == 8 && ATTN_MASK_KIND_CLUSTER == 11 && ATTN_KERNELS_SIMD == 1,
          "the numbering the JS API relies on");
    CHECK(ATTN_MASK_LOCAL == 1 && ATTN_MASK_STRIDED == 2 && ATTN_MASK_GLOBAL == 4 && ATTN_MASK_RANDOM == 8 &&
              ATTN_MASK_CLUSTER == 16,
          "mask bit values");
    /* BigBird: a window block in a global row or column carries both bits */
    attn_mask_spec sp;
    attn_mask_spec_init(&sp, ATTN_MASK_KIND_BIGBIRD, 32);
    attn_mask_spec_set(&sp, 4, 4);  /* block: 8 blocks */
    attn_mask_spec_set(&sp, 8, 3);  /* window blocks */
    attn_mask_spec_set(&sp, 9, 1);  /* global blocks */
    uint8_t dense[32 * 32];
    CHECK(attn_mask_dense(&sp, dense) == ATTN_OK && dense[0 * 32 + 5] == (ATTN_MASK_GLOBAL | ATTN_MASK_LOCAL) &&
              dense[0 * 32 + 20] == ATTN_MASK_GLOBAL && dense[5 * 32 + 0] == (ATTN_MASK_GLOBAL | ATTN_MASK_LOCAL) &&
              dense[12 * 32 + 9] == ATTN_MASK_LOCAL && dense[12 * 32 + 30] == ATTN_MASK_GLOBAL,
          "bigbird: window and global bits together");
}

/* ------------------------------------------------------------- defaults */

static double mask_field(const attn_mask_spec *s, int field) {
    double v = -1;
    return attn_mask_spec_get(s, field, &v) == ATTN_OK ? v : -1;
}

/* Named defaults are a complete list; specs resolve fields not given (and 0)
 * to the documented defaults, keep explicit zeros, and a call without a field
 * equals a call with the field set to the value the query reports. */
static void test_defaults(void) {
    int ok = 1;
    for (int id = 0; id < ATTN_DEFAULT_COUNT; id++) {
        ok &= attn_default_name(id) != NULL && isfinite(attn_default_value(id));
        for (int other = 0; other < id; other++) ok &= strcmp(attn_default_name(id), attn_default_name(other)) != 0;
    }
    CHECK(ok && attn_default_name(ATTN_DEFAULT_COUNT) == NULL && isnan(attn_default_value(ATTN_DEFAULT_COUNT)) &&
              attn_default_name(-1) == NULL,
          "named defaults: every id named once, NULL / NaN past the end");
    CHECK(strcmp(attn_default_name(ATTN_DEFAULT_LINEAR_EPS), "linear.eps") == 0 &&
              attn_default_value(ATTN_DEFAULT_LINEAR_EPS) == 1e-6,
          "linear.eps");
    /* derived defaults against their definitions, worked by hand */
    CHECK(attn_default_scale(4) == 0.5 && attn_default_scale(64) == 0.125, "scale 1/sqrt(d)");
    CHECK(attn_default_window(99) == 9 && attn_default_window(100) == 10 && attn_default_window(1) == 1,
          "window floor(sqrt(n))");
    CHECK(attn_default_root(50) == 7 && attn_default_root(56) == 7 && attn_default_root(57) == 8 &&
              attn_default_root(0) == 1 && attn_default_root(2) == 1,
          "root max(1, round(sqrt(n)))");
    CHECK(attn_default_bigbird_block(60) == 6 && attn_default_bigbird_block(64) == 8 &&
              attn_default_bigbird_block(97) == 1 && attn_default_bigbird_block(8) == 2,
          "bigbird block: largest divisor not above sqrt(n)");
    CHECK(attn_default_rank(10) == 10 && attn_default_rank(100) == 32 && attn_default_max_layers(1000) == 256 &&
              attn_default_max_layers(7) == 7 && attn_default_per_row(2) == 2 && attn_default_per_row(100) == 3,
          "rank, max layers, per row: capped by the size");

    /* mask spec */
    attn_mask_spec s, t;
    attn_mask_spec_init(&s, ATTN_MASK_KIND_LOCAL, 100);
    CHECK(mask_field(&s, 1) == 10 && s.window == 0, "local: window resolved to 10, the spec left as it is");
    attn_mask_spec_set(&s, 1, 0);
    CHECK(mask_field(&s, 1) == 0, "an explicit window 0 is kept");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_LOCAL, 100);
    s.window = 4;
    CHECK(mask_field(&s, 1) == 4, "a non-zero field set directly is kept");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_STRIDED, 50);
    CHECK(mask_field(&s, 3) == 7, "strided: stride round(sqrt(50)) = 7");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_DILATED, 16);
    CHECK(mask_field(&s, 1) == 4 && mask_field(&s, 2) == 2, "dilated: window 4, dilation 2");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_LONGFORMER, 16);
    CHECK(mask_field(&s, 2) == 1 && mask_field(&s, 6) == 1, "longformer: dilation 1, one global token");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_FIXED, 30);
    CHECK(mask_field(&s, 4) == 5 && mask_field(&s, 5) == 1, "fixed: block round(sqrt(30)) = 5, summary 1");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_RANDOM, 2);
    CHECK(mask_field(&s, 7) == 2, "random: per row min(n, 3)");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_BIGBIRD, 60);
    CHECK(mask_field(&s, 4) == 6 && mask_field(&s, 8) == 3 && mask_field(&s, 9) == 1 && mask_field(&s, 10) == 3,
          "bigbird: block 6, window 3, global 1, random 3 blocks");
    attn_mask_spec_set(&s, 10, 0);
    CHECK(mask_field(&s, 10) == 0, "bigbird: an explicit randomBlocks 0 is kept");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_FULL, 16);
    CHECK(mask_field(&s, 1) == 0 && mask_field(&s, 3) == 0 && mask_field(&s, 99) == -1,
          "full: no defaults; unknown field refused");
    /* global: the one default token 0 (n + n - 1 cells); an explicit empty list: none */
    uint8_t row[16];
    size_t nnz = 0;
    attn_mask_spec_init(&s, ATTN_MASK_KIND_GLOBAL, 8);
    CHECK(attn_mask_nnz(&s, &nnz, row) == ATTN_OK && nnz == 15 && s.tokens == NULL, "global: token 0 by default");
    attn_mask_spec_set(&s, 6, 0);
    CHECK(attn_mask_nnz(&s, &nnz, row) == ATTN_OK && nnz == 0, "global: nTokens 0 given: no cell");
    /* every kind: the mask with defaults equals the mask with every field set to what the query reports */
    int same = 1;
    for (int kind = 0; kind < ATTN_MASK_KIND_CLUSTER; kind++) {
        uint8_t a[24 * 24], b[24 * 24];
        int32_t token0 = 0;
        attn_mask_spec_init(&s, kind, 24);
        attn_mask_spec_init(&t, kind, 24);
        for (int field = 0; attn_mask_field_name(field); field++) attn_mask_spec_set(&t, field, mask_field(&s, field));
        attn_mask_spec_set_arrays(&t, &token0, NULL);
        same &= attn_mask_dense(&s, a) == ATTN_OK && attn_mask_dense(&t, b) == ATTN_OK && memcmp(a, b, sizeof a) == 0;
    }
    CHECK(same, "every kind: defaults = the queried values given explicitly");

    /* feature spec */
    attn_feature_spec f, g;
    double v[6];
    attn_feature_spec_init(&f);
    g = f;
    CHECK(attn_feature_spec_resolve(&g, ATTN_USE_LINEAR) == ATTN_OK && g.feature == ATTN_FEATURE_ELU1 &&
              g.normalize == ATTN_NORMALIZE_NONE && g.m == 64 && g.nu == 1 && g.kernel_eps == 1e-3f && g.stabilize == 1,
          "feature spec, linear: elu+1, none, m 64, nu 1, eps 1e-3, stabilize");
    g = f;
    CHECK(attn_feature_spec_resolve(&g, ATTN_USE_FAST_WEIGHTS) == ATTN_OK && g.feature == ATTN_FEATURE_DPFP &&
              g.normalize == ATTN_NORMALIZE_SUM,
          "feature spec, fast weights: dpfp, sum");
    g = f;
    CHECK(attn_feature_spec_resolve(&g, ATTN_USE_CAPACITY) == ATTN_OK && g.feature == ATTN_FEATURE_DPFP &&
              g.normalize == ATTN_NORMALIZE_L2 && attn_feature_spec_resolve(&g, 3) == ATTN_ERR_KIND,
          "feature spec, capacity: dpfp, l2; unknown use refused");
    g = f;
    attn_feature_spec_set_field(&g, 0, ATTN_FEATURE_IDENTITY);
    attn_feature_spec_set_field(&g, 4, 0);
    attn_feature_spec_resolve(&g, ATTN_USE_LINEAR);
    for (int field = 0; field < 6; field++) attn_feature_spec_get(&g, field, &v[field]);
    CHECK(v[0] == ATTN_FEATURE_IDENTITY && v[4] == 0 && v[1] == 64 && attn_feature_spec_get(&g, 6, v) == ATTN_ERR_KIND &&
              strcmp(attn_feature_field_name(3), "kernelEpsilon") == 0 && attn_feature_field_name(6) == NULL,
          "feature spec: explicit identity and stabilize 0 kept; fields read back");
    CHECK(attn_feature_spec_set_field(&g, 1, -1) == ATTN_ERR_RANGE && attn_feature_spec_set_field(&g, 1, 0.5) == ATTN_ERR_RANGE &&
              attn_feature_spec_set_field(&g, 7, 1) == ATTN_ERR_KIND,
          "feature spec: negative, fractional, unknown fields refused");
    /* a call with the spec left to its defaults equals the call with them given */
    const size_t n = 6, d = 3, dv = 2;
    float *q = random_matrix(n, d, 1), *k = random_matrix(n, d, 1), *val = random_matrix(n, dv, 1);
    float y1[12], y2[12];
    size_t floats = 0;
    attn_feature_spec_init(&f);
    attn_linear_workspace(&f, n, n, d, dv, &floats);
    float *work = malloc(floats * sizeof *work);
    g = f;
    attn_feature_spec_resolve(&g, ATTN_USE_LINEAR);
    for (int field = 0; field < 6; field++) attn_feature_spec_get(&g, field, &v[field]);
    attn_feature_spec_set(&g, (int)v[0], (size_t)v[1], NULL, (size_t)v[2], (float)v[3], (int)v[4], (int)v[5]);
    CHECK(attn_linear_attention(&f, n, n, d, dv, q, k, val, 1, 1e-6f, y1, work, floats) == ATTN_OK &&
              attn_linear_attention(&g, n, n, d, dv, q, k, val, 1, 1e-6f, y2, work, floats) == ATTN_OK &&
              memcmp(y1, y2, sizeof y1) == 0,
          "linear attention: defaults = the queried values given");
    free(q), free(k), free(val), free(work);
}

/* ------------------------------------------------------------- layouts */

/* A workspace of exactly `floats` floats (ASan sees a read or write past it),
 * or one float less; NULL-safe for 0. */
static float *exact(size_t floats) { return malloc((floats ? floats : 1) * sizeof(float)); }

/* Runs call(work, floats) with the queried size (must give ATTN_OK, and ASan
 * checks that nothing past it is touched) and with one float less (must give
 * ATTN_ERR_WORKSPACE). */
#define WORKSPACE_CASE(label, query, call)                                    \
    do {                                                                      \
        size_t floats = 0;                                                    \
        attn_status qs = (query);                                             \
        float *work = exact(floats);                                          \
        attn_status full = (call);                                            \
        size_t given = floats;                                                \
        floats = given - 1;                                                   \
        attn_status less = given ? (call) : ATTN_ERR_WORKSPACE;               \
        CHECK(qs == ATTN_OK && full == ATTN_OK && less == ATTN_ERR_WORKSPACE, \
              "workspace %s: %zu floats ok (%d), one less refused (%d)", label, given, full, less); \
        free(work);                                                           \
    } while (0)

/* Every *_workspace query is the size its function's body uses: with exactly
 * that many floats the call succeeds without touching anything past them
 * (under ASan), with one float less it is refused. */
static void test_layouts(void) {
    attn__layout L = ATTN__LAYOUT_INIT;
    size_t a = attn__layout_add(&L, 3, 5), b = attn__layout_add(&L, 1, 2), total = 0;
    attn__layout_align(&L, 4);
    size_t c = attn__layout_add(&L, 2, 2);
    CHECK(a == 0 && b == 15 && c == 20 && attn__layout_end(&L, &total) == ATTN_OK && total == 24,
          "layout: parts one after another, aligned start");
    attn__layout_add(&L, SIZE_MAX / 2, 3);
    CHECK(attn__layout_end(&L, &total) == ATTN_ERR_MEMORY && total == 24, "layout: overflow refused");
    L = (attn__layout)ATTN__LAYOUT_INIT;
    attn__layout_add(&L, SIZE_MAX / 2, 2);
    attn__layout_add(&L, 1, 2);
    CHECK(attn__layout_end(&L, &total) == ATTN_ERR_MEMORY, "layout: sum overflow refused");

    const size_t n = 37, m = 45, d = 6, dv = 11;
    float *q = random_matrix(n, d, 1), *k = random_matrix(m, d, 1), *v = random_matrix(m, dv, 1);
    float *out = malloc(n * m * sizeof *out), *big = malloc(m * m * sizeof *big);
    WORKSPACE_CASE("softmax weights", attn_softmax_weights_workspace(n, m, d, &floats),
                   attn_softmax_weights(n, m, d, q, k, 0.4f, 0, NULL, out, work, floats));
    WORKSPACE_CASE("matmul_nt", attn_softmax_weights_workspace(n, m, d, &floats),
                   attn_matmul_nt(n, m, d, 0.4f, q, k, out, work, floats));
    for (int causal = 0; causal < 2; causal++)
        WORKSPACE_CASE("softmax attention", attn_softmax_attention_workspace(n, m, d, dv, &floats),
                       attn_softmax_attention(n, m, d, dv, q, k, v, 0.4f, causal, NULL, out, work, floats));
    attn_rng rng;
    attn_rng_seed(&rng, 3);
    float omega[10 * 6];
    attn_random_features(&rng, 10, d, 1, omega);
    int features[] = {ATTN_FEATURE_FAVOR_POS, ATTN_FEATURE_FAVOR_TRIG, ATTN_FEATURE_DPFP, ATTN_FEATURE_ELU1};
    for (int f = 0; f < 4; f++) {
        attn_feature_spec spec;
        attn_feature_spec_set(&spec, features[f], 10, omega, 2, 1e-3f, 1, ATTN_NORMALIZE_NONE);
        size_t need;
        if (attn_feature_map_workspace(&spec, d, &need) == ATTN_OK && need > 0)
            WORKSPACE_CASE("feature map", attn_feature_map_workspace(&spec, d, &floats),
                           attn_feature_map(&spec, ATTN_ROLE_KEY, m, d, k, big, work, floats));
        WORKSPACE_CASE("kernel weights", attn_linear_workspace(&spec, n, m, d, 1, &floats),
                       attn_kernel_weights(&spec, n, m, d, q, k, 1, 1e-6f, out, work, floats));
        for (int causal = 0; causal < 2; causal++)
            WORKSPACE_CASE("linear attention", attn_linear_workspace(&spec, n, m, d, dv, &floats),
                           attn_linear_attention(&spec, n, m, d, dv, q, k, v, causal, 1e-6f, out, work, floats));
        attn_feature_spec_set(&spec, features[f], 10, omega, 2, 1e-3f, 1, ATTN_NORMALIZE_L2);
        float *fin = malloc(dv * 200 * sizeof *fin);
        WORKSPACE_CASE("fast weights", attn_fast_weights_workspace(&spec, m, d, dv, &floats),
                       attn_fast_weights(&spec, ATTN_RULE_DELTA, m, d, dv, k, v, NULL, NULL, 0.5f, NULL, 1, out, fin,
                                         NULL, big, work, floats));
        double e;
        WORKSPACE_CASE("capacity", attn_capacity_workspace(&spec, d, 9, &floats),
                       attn_capacity(&spec, ATTN_RULE_DELTA, d, 9, 1, 2, 5, &e, work, floats));
        free(fin);
    }
    int32_t assign[2 * 45];
    WORKSPACE_CASE("lsh", attn_lsh_workspace(d, 8, &floats), attn_lsh_buckets(m, d, k, 8, 2, 1, assign, work, floats));
    WORKSPACE_CASE("kmeans", attn_kmeans_workspace(m, d, 5, &floats), attn_kmeans(m, d, k, 5, 3, 1, assign, work, floats));
    WORKSPACE_CASE("kernel benchmark", attn_kernel_benchmark_workspace(&floats), attn_kernel_benchmark(2, work, floats));
    /* attn_mask_layers counts 64-bit words */
    {
        size_t words = 0, layers;
        uint8_t mask[70 * 70];
        double reached[8];
        attn_mask_spec s;
        attn_mask_spec_init(&s, ATTN_MASK_KIND_LOCAL, 70);
        attn_mask_dense(&s, mask);
        attn_status qs = attn_mask_layers_workspace(70, &words);
        uint64_t *work = malloc(words * sizeof *work);
        CHECK(qs == ATTN_OK && attn_mask_layers(70, mask, 8, reached, &layers, work, words) == ATTN_OK &&
                  attn_mask_layers(70, mask, 8, reached, &layers, work, words - 1) == ATTN_ERR_WORKSPACE,
              "workspace mask layers: %zu words ok, one less refused", words);
        free(work);
    }
    free(q), free(k), free(v), free(out), free(big);
}

/* ------------------------------------------------------- which argument */

/* got == want and *argument (read after the call) is name. */
static int failed_with(attn_status got, attn_status want, const char **argument, const char *name) {
    return got == want && (name ? *argument && strcmp(*argument, name) == 0 : *argument == NULL);
}

/* The spec checks name the field at fault, and agree with the status every
 * function taking the spec returns. */
static void test_arguments(void) {
    attn_mask_spec s;
    const char *arg = "unset";
    int32_t bad_token[] = {9};
    uint8_t one[16 * 16];
    attn_mask_spec_init(&s, ATTN_MASK_KIND_BIGBIRD, 10);
    attn_mask_spec_set(&s, 4, 4);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_RANGE, &arg, "block") &&
              attn_mask_dense(&s, one) == ATTN_ERR_RANGE,
          "mask: block 4 does not divide 10 -> block");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_BIGBIRD, 16);
    attn_mask_spec_set(&s, 8, 2);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_RANGE, &arg, "windowBlocks"), "mask: even windowBlocks");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_GLOBAL, 4);
    attn_mask_spec_set(&s, 6, 1);
    attn_mask_spec_set_arrays(&s, bad_token, NULL);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_RANGE, &arg, "tokens"), "mask: token 9 of n 4");
    attn_mask_spec_set_arrays(&s, NULL, NULL);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_NULL, &arg, "tokens"), "mask: tokens NULL");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_FIXED, 16);
    attn_mask_spec_set(&s, 4, 2);
    attn_mask_spec_set(&s, 5, 3);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_RANGE, &arg, "summary"), "mask: summary > block");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_STRIDED, 16);
    attn_mask_spec_set(&s, 3, 0);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_RANGE, &arg, "stride"), "mask: stride 0 given");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_CLUSTER, 16);
    attn_mask_spec_set(&s, 12, 1);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_NULL, &arg, "assignments"), "mask: no assignments");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_LOCAL, 0);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_SHAPE, &arg, "n"), "mask: n 0");
    attn_mask_spec_init(&s, 99, 4);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_ERR_KIND, &arg, "kind"), "mask: unknown kind");
    attn_mask_spec_init(&s, ATTN_MASK_KIND_BIGBIRD, 64);
    CHECK(failed_with(attn_mask_spec_check(&s, &arg), ATTN_OK, &arg, NULL) && attn_mask_spec_check(&s, NULL) == ATTN_OK,
          "mask: a valid spec names nothing");
    CHECK(failed_with(attn_mask_spec_check(NULL, &arg), ATTN_ERR_NULL, &arg, "spec"), "mask: NULL spec");

    attn_feature_spec f;
    float omega[4 * 5] = {0}, x[2 * 5] = {0}, out[64];
    attn_feature_spec_set(&f, ATTN_FEATURE_DPFP, 0, NULL, 10, 0, 1, 0);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_LINEAR, 5, &arg), ATTN_ERR_RANGE, &arg, "nu") &&
              attn_feature_map(&f, ATTN_ROLE_KEY, 2, 5, x, out, NULL, 0) == ATTN_ERR_RANGE,
          "feature: nu 10 = 2d -> nu");
    attn_feature_spec_set(&f, ATTN_FEATURE_FAVOR_POS, 0, omega, 1, 0, 1, 0);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_LINEAR, 5, &arg), ATTN_ERR_RANGE, &arg, "features"),
          "feature: m 0 given -> features");
    attn_feature_spec_set(&f, ATTN_FEATURE_FAVOR_POS, 4, NULL, 1, 0, 1, 0);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_LINEAR, 5, &arg), ATTN_ERR_NULL, &arg, "projection"),
          "feature: no projection");
    omega[3] = NAN;
    attn_feature_spec_set(&f, ATTN_FEATURE_FAVOR_POS, 4, omega, 1, 0, 1, 0);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_LINEAR, 5, &arg), ATTN_ERR_NONFINITE, &arg, "projection"),
          "feature: NaN in the projection");
    attn_feature_spec_set(&f, ATTN_FEATURE_RELU, 0, NULL, 1, -1.0f, 1, 0);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_LINEAR, 5, &arg), ATTN_ERR_RANGE, &arg, "kernelEpsilon"),
          "feature: negative kernel_eps");
    attn_feature_spec_set(&f, ATTN_FEATURE_ELU1, 0, NULL, 1, 0, 1, 7);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_LINEAR, 5, &arg), ATTN_ERR_KIND, &arg, "normalize"),
          "feature: unknown normalize");
    attn_feature_spec_set(&f, 99, 0, NULL, 1, 0, 1, 0);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_LINEAR, 5, &arg), ATTN_ERR_KIND, &arg, "feature"),
          "feature: unknown feature");
    attn_feature_spec_init(&f);
    CHECK(failed_with(attn_feature_spec_check(&f, ATTN_USE_FAST_WEIGHTS, 0, &arg), ATTN_ERR_SHAPE, &arg, "d") &&
              failed_with(attn_feature_spec_check(&f, 5, 4, &arg), ATTN_ERR_KIND, &arg, "use") &&
              failed_with(attn_feature_spec_check(&f, ATTN_USE_CAPACITY, 4, &arg), ATTN_OK, &arg, NULL),
          "feature: width 0, unknown use; the defaults are valid");
}

/* Fuzz findings (tests/fuzz/, brief L): each fix, against the mathematics. */
static void test_fuzz_findings(void) {
    for (int kt = 0; kt < 2; kt++) {
        if (attn_use_kernels(kt) != ATTN_OK) continue;
        /* 1. v near FLT_MAX: scale 0 gives uniform weights 1/9, so y is the
         * plain mean of v (finite), while sum v overflows float32. */
        enum { N = 2, M = 9, D = 1, DV = 2 };
        float q[N * D] = {1, -2}, k[M * D], v[M * DV], y[N * DV], ys[N * DV], p[N * M];
        double mean[DV] = {0, 0};
        for (int j = 0; j < M; j++) {
            k[j] = (float)j;
            v[j * DV] = j < 5 ? 3e38f : 1e38f;
            v[j * DV + 1] = (float)(j + 1) * 1e-3f;  /* a small column beside: untouched by the rescue */
            for (int c = 0; c < DV; c++) mean[c] += (double)v[j * DV + c] / M;
        }
        size_t wf;
        attn_softmax_attention_workspace(N, M, D, DV, &wf);
        float *work = malloc(wf * sizeof *work);
        attn_status st = attn_softmax_attention(N, M, D, DV, q, k, v, 0.0f, 0, NULL, y, work, wf);
        int ok = st == ATTN_OK;
        for (int t = 0; t < N * DV; t++) ok &= fabs(y[t] - mean[t % DV]) <= 1e-5 * fabs(mean[t % DV]);
        CHECK(ok, "softmax_attention (%s): v near FLT_MAX gives the finite mean (%s, y = %g, %g; want %g, %g)",
              attn_kernels_name(kt), attn_status_code(st), y[0], y[1], mean[0], mean[1]);
        free(work);
        int32_t indptr[N + 1] = {0, M, 2 * M}, indices[N * M];
        for (int t = 0; t < N * M; t++) indices[t] = t % M;
        float sw[M];
        st = attn_sparse_attention(N, M, D, DV, q, k, v, 0.0f, indptr, indices, ys, sw, M);
        ok = st == ATTN_OK;
        for (int t = 0; t < N * DV; t++) ok &= fabs(ys[t] - mean[t % DV]) <= 1e-5 * fabs(mean[t % DV]);
        CHECK(ok, "sparse_attention (%s): v near FLT_MAX gives the finite mean (%s)", attn_kernels_name(kt),
              attn_status_code(st));
        attn_softmax_weights_workspace(N, M, D, &wf);
        work = malloc(wf * sizeof *work);
        CHECK(attn_softmax_weights(N, M, D, q, k, 0.0f, 0, NULL, p, work, wf) == ATTN_OK, "weights agree: OK");
        free(work);

        /* 2. stabilised FAVOR+ / FAVOR-hyp on a huge row: the largest exponent
         * is exactly 0, so the largest feature is exactly c = 1/sqrt(m) (hyp:
         * 1/sqrt(2m)), per query row and over all key rows. x = 1e20 makes h =
         * 5e39 (beyond float); x = 3e38 makes u itself overflow float. */
        float omega[2 * 5] = {1.0f, -0.5f, 0.25f, 2.0f, -1.0f, 0.5f, -2.0f, 1.5f, 0.75f, -0.25f};
        float xs[3][5] = {{1e20f, 0, 0, 0, 0}, {0, 0, 3e38f, 0, 0}, {0.5f, -1, 0.25f, 2, 0}};
        for (int feat = 0; feat < 2; feat++) {
            attn_feature_spec spec;
            int feature = feat ? ATTN_FEATURE_FAVOR_HYP : ATTN_FEATURE_FAVOR_POS;
            attn_feature_spec_set(&spec, feature, 2, omega, 1, 0, 1, ATTN_NORMALIZE_NONE);
            size_t dim, fw;
            attn_feature_dim(&spec, 5, &dim);
            attn_feature_map_workspace(&spec, 5, &fw);
            float *w2 = malloc(fw * sizeof *w2), phi[3 * 4];
            float c = (float)(1 / sqrt(feat ? 4.0 : 2.0));
            for (int role = 0; role < 2; role++) {
                st = attn_feature_map(&spec, role ? ATTN_ROLE_KEY : ATTN_ROLE_QUERY, 3, 5, &xs[0][0], phi, w2, fw);
                float top = 0, rowtop[3] = {0, 0, 0};
                for (size_t t = 0; t < 3 * dim; t++) {
                    rowtop[t / dim] = fmaxf(rowtop[t / dim], phi[t]);
                    top = fmaxf(top, phi[t]);
                }
                int good = st == ATTN_OK && (role ? top == c : rowtop[0] == c && rowtop[1] == c && rowtop[2] == c);
                CHECK(good, "feature_map %s %s on rows 1e20 and 3e38: largest feature %g %g %g (all rows %g), c = %g (%s)",
                      attn_feature_name(feature), role ? "key" : "query", rowtop[0], rowtop[1], rowtop[2], top, c,
                      attn_status_code(st));
            }
            free(w2);
        }
        /* the 1e20 row alone (the saved regression): phi = [c, 0] since
         * u = 1e20 (1, -0.5) / 5^(1/4)... here d = 1 */
        {
            attn_feature_spec spec;
            float om1[2] = {1.0f, -0.5f}, x1 = 1e20f, phi1[2];
            attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_POS, 2, om1, 1, 0, 1, ATTN_NORMALIZE_NONE);
            float w1[2];
            st = attn_feature_map(&spec, ATTN_ROLE_QUERY, 1, 1, &x1, phi1, w1, 2);
            CHECK(st == ATTN_OK && phi1[0] == (float)(1 / sqrt(2.0)) && phi1[1] == 0.0f,
                  "favor+ query x = 1e20: phi = [c, exp(-1.5e20) c] = [%g, %g] (%s)", phi1[0], phi1[1], attn_status_code(st));
        }
        /* 3. normalising by a sum or norm below 1 / FLT_MAX */
        {
            attn_feature_spec spec;
            float x2[2] = {1e-39f, 3e-39f}, phi2[2];
            attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 0, ATTN_NORMALIZE_SUM);
            st = attn_feature_map(&spec, ATTN_ROLE_QUERY, 1, 2, x2, phi2, NULL, 0);
            double want0 = (double)x2[0] / ((double)x2[0] + x2[1]);
            CHECK(st == ATTN_OK && fabs(phi2[0] - want0) < 1e-6 && fabs(phi2[0] + phi2[1] - 1) < 1e-6,
                  "identity, normalize sum of subnormals: [%g, %g], want [%g, %g] (%s)", phi2[0], phi2[1], want0,
                  1 - want0, attn_status_code(st));
            attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 0, ATTN_NORMALIZE_L2);
            st = attn_feature_map(&spec, ATTN_ROLE_QUERY, 1, 2, x2, phi2, NULL, 0);
            double nrm = sqrt((double)x2[0] * x2[0] + (double)x2[1] * x2[1]);
            CHECK(st == ATTN_OK && fabs(phi2[0] - x2[0] / nrm) < 1e-6 && fabs(phi2[1] - x2[1] / nrm) < 1e-6,
                  "identity, normalize l2 of subnormals: [%g, %g] (%s)", phi2[0], phi2[1], attn_status_code(st));
        }
        /* 4. identity map, denominator exactly 0 (q.k = -1, eps = 1): W = 0, y = 0 */
        {
            attn_feature_spec spec;
            attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 0, ATTN_NORMALIZE_NONE);
            float q1 = -1, k1 = 1, v1 = 5, w1 = -7, y1 = -7;
            size_t lw;
            attn_linear_workspace(&spec, 1, 1, 1, 1, &lw);
            float *lwork = malloc(lw * sizeof *lwork);
            attn_status s1 = attn_kernel_weights(&spec, 1, 1, 1, &q1, &k1, 0, 1.0f, &w1, lwork, lw);
            attn_status s2 = attn_linear_attention(&spec, 1, 1, 1, 1, &q1, &k1, &v1, 0, 1.0f, &y1, lwork, lw);
            CHECK(s1 == ATTN_OK && s2 == ATTN_OK && w1 == 0 && y1 == 0,
                  "identity map, denominator 0: w = %g (%s), y = %g (%s), want 0 and 0", w1, attn_status_code(s1), y1,
                  attn_status_code(s2));
            free(lwork);
        }
        /* 4b. kernel weights whose float32 dot overflows part-way (3e38 + 2e38)
         * although the dots (2e38, 3e38) and the weights [0.4, 0.6] are finite */
        {
            attn_feature_spec spec;
            attn_feature_spec_set(&spec, ATTN_FEATURE_IDENTITY, 0, NULL, 1, 0, 0, ATTN_NORMALIZE_NONE);
            float qb[3] = {3e38f, 2e38f, -3e38f}, kb[6] = {1, 1, 1, 1, 0, 0}, wb[2] = {-1, -1};
            size_t lw;
            attn_linear_workspace(&spec, 1, 2, 3, 1, &lw);
            float *lwork = malloc(lw * sizeof *lwork);
            st = attn_kernel_weights(&spec, 1, 2, 3, qb, kb, 0, 0.0f, wb, lwork, lw);
            CHECK(st == ATTN_OK && fabs(wb[0] - 0.4) < 1e-6 && fabs(wb[1] - 0.6) < 1e-6,
                  "kernel_weights, a dot overflowing part-way: w = [%g, %g] (%s), want [0.4, 0.6]", wb[0], wb[1],
                  attn_status_code(st));
            free(lwork);
        }
        /* 4c. a non-finite input is reported before a feature map overflows */
        {
            attn_feature_spec spec;
            float om1[2] = {1.0f, -0.5f};
            attn_feature_spec_set(&spec, ATTN_FEATURE_FAVOR_POS, 2, om1, 1, 0, 0, ATTN_NORMALIZE_NONE);
            float qn[2] = {1e30f, 1e30f}, kn[2] = {1, NAN}, vn[2] = {1, 2}, wn[4], yn[2];
            size_t lw;
            attn_linear_workspace(&spec, 2, 2, 1, 1, &lw);
            float *lwork = malloc(lw * sizeof *lwork);
            CHECK(attn_kernel_weights(&spec, 2, 2, 1, qn, kn, 0, 1e-6f, wn, lwork, lw) == ATTN_ERR_NONFINITE &&
                      attn_linear_attention(&spec, 2, 2, 1, 1, qn, kn, vn, 0, 1e-6f, yn, lwork, lw) == ATTN_ERR_NONFINITE,
                  "linear: a NaN key is reported before the queries' plain FAVOR+ map overflows");
            free(lwork);
            size_t fw;
            attn_fast_weights_workspace(&spec, 2, 1, 1, &fw);
            float *fwork = malloc(fw * sizeof *fwork), out[2], fin[2];
            float keys[2] = {1e30f, 1}, queries[2] = {1, NAN};
            CHECK(attn_fast_weights(&spec, ATTN_RULE_SUM, 2, 1, 1, keys, vn, queries, NULL, 1, NULL, 1, out, fin, NULL,
                                    NULL, fwork, fw) == ATTN_ERR_NONFINITE,
                  "fast_weights: a NaN query is reported before the keys' plain FAVOR+ map overflows");
            free(fwork);
        }
        /* 5. sinkhorn: the row max is subtracted before dividing by tau */
        {
            float L1 = 4;
            st = attn_sinkhorn(1, &L1, 1, 1e-38f, 0);
            CHECK(st == ATTN_OK && L1 == 1, "sinkhorn n = 1, tau = 1e-38: S = %g (%s), want 1", L1, attn_status_code(st));
            /* rows [4, 3], [1, 2] over tau = 1e-38: (L - max) / tau = [0, -1e38], [-1e38, 0]: S = I */
            float L2[4] = {4, 3, 1, 2};
            st = attn_sinkhorn(2, L2, 3, 1e-38f, 0);
            CHECK(st == ATTN_OK && L2[0] == 1 && L2[1] == 0 && L2[2] == 0 && L2[3] == 1,
                  "sinkhorn tau = 1e-38: S = [%g %g; %g %g] (%s), want I", L2[0], L2[1], L2[2], L2[3], attn_status_code(st));
            /* (0 - 1e4) / 1e-35 = -1e39 leaves float32 */
            float L3[4] = {0, 1e4f, 0, 0};
            CHECK(attn_sinkhorn(2, L3, 3, 1e-35f, 0) == ATTN_ERR_OVERFLOW, "sinkhorn: (L - max) / tau beyond float32");
            /* iterations = 0: no normalisation, S = exp(L / tau); exp(100) overflows */
            float L4 = 100, L5 = 2;
            CHECK(attn_sinkhorn(1, &L4, 0, 1.0f, 0) == ATTN_ERR_OVERFLOW, "sinkhorn iterations 0: exp(100) overflows");
            st = attn_sinkhorn(1, &L5, 0, 1.0f, 0);
            CHECK(st == ATTN_OK && fabs(L5 - exp(2.0)) < 1e-5, "sinkhorn iterations 0: S = exp(2) = %g (%s)", L5,
                  attn_status_code(st));
            /* a column of three equal entries near -FLT_MAX after the row step:
             * its logsumexp (-FLT_MAX + log 3) must not lose log 3 (S = 1/3 each) */
            float L7[9] = {0, -3e38f, 1, 0, -3e38f, 1, 0, -3e38f, 1};
            st = attn_sinkhorn(3, L7, 1, 1.0f, 0);
            double col1 = (double)L7[1] + L7[4] + L7[7];
            CHECK(st == ATTN_OK && fabs(col1 - 1) < 1e-6, "sinkhorn: a column near -FLT_MAX sums to %g (%s), want 1", col1,
                  attn_status_code(st));
            /* causal: the row max is over the allowed entries */
            float L6[4] = {1, 1e30f, 5, 6};
            st = attn_sinkhorn(2, L6, 2, 1e-30f, 1);
            CHECK(st == ATTN_OK && L6[0] == 1 && L6[1] == 0 && L6[3] == 1 && L6[2] == 0,
                  "sinkhorn causal, tau = 1e-30: S = [%g %g; %g %g] (%s)", L6[0], L6[1], L6[2], L6[3], attn_status_code(st));
        }
    }
    attn_use_kernels(ATTN_KERNELS_SIMD);
}

int main(void) {
    test_status();
    test_rng();
    test_masks();
    test_simd_exp();
    test_kernel_benchmark();
    test_gemm();
    test_softmax_against_reference();
    test_bad_inputs();
    test_blocked_rows();
    test_linear();
    test_clusters_and_layers();
    test_sparse();
    test_fast_weights();
    test_gallery();
    test_values();
    test_three_paths_random();
    test_sizes();
    test_names();
    test_defaults();
    test_layouts();
    test_arguments();
    test_fuzz_findings();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
