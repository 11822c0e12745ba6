/*
 * fuzz_softmax.c - libFuzzer target: the three softmax attention paths.
 *
 * One input gives Q [n, d], K [m, d], V [m, dv], a scale, causal and a
 * dense mask, and runs
 *   attn_softmax_weights    P  (and then P V in float64),
 *   attn_softmax_attention  Y  streaming,
 *   attn_sparse_attention   Y  from the CSR of (mask AND causal), made by
 *                              attn_dense_to_csr (a full mask when neither),
 *   attn_sparse_attention   Y  from a CSR written by the bytes (any indptr,
 *                              indices out of range, unsorted, duplicated).
 * Oracle: a non-finite scale gives ERR_RANGE and a non-finite input
 * ERR_NONFINITE on every path; otherwise the paths return the same status;
 * on ATTN_OK every output is finite, P's allowed rows sum to 1 and its
 * blocked cells are 0, every output is a convex combination of the allowed
 * values, and P and every Y agree with the float64 softmax of the float64
 * logits within the bound below. A CSR the core accepts must mean the set of
 * keys it lists (a duplicate is not counted twice); one with indptr not
 * non-decreasing from 0 or an index out of range must be refused.
 *
 * Bound: the core rounds each logit s = scale q.k to s~ with |s~ - s| <=
 * gamma(d + 1) |scale| sum |q_l k_l| + 2^-149 (sum |k_l| + d) max(1, |scale|)
 * (products and the scaling, with underflow); softmax turns a logit error of at most D per
 * row into a relative weight error of at most expm1(2 D); exp (about 2 ulp),
 * the sum of m terms and the division add gamma(m + 8). An output
 * sum_j p_j v_j then errs by (that + gamma(m + 4)) sum_j p_j |v_j| plus the
 * weights below the float32 range, FZ_TINY sum_j |v_j|.
 */
#include "fuzz.h"

enum { MAX_N = 48, MAX_M = 140, MAX_D = 32, MAX_DV = 16 };

typedef struct ref {
    double *p;     // [n, m] float64 weights
    double *relw;  // [n] relative weight tolerance of row i (may be inf)
    uint8_t *has;  // [n] row i has an allowed key
} ref;

/* The float64 softmax of the float64 logits over allowed[i, j] != 0. */
static ref reference(size_t n, size_t m, size_t d, const float *q, const float *k, float scale,
                     const uint8_t *allowed) {  // [n, m]
    ref r = {fz_alloc(n * m * sizeof(double)), fz_alloc(n * sizeof(double)), fz_alloc(n)};
    double *err = fz_alloc(m * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double mx = -INFINITY;
        double *p = r.p + i * m;
        for (size_t j = 0; j < m; j++) {
            double s = 0, mag = 0, kabs = 0;
            for (size_t l = 0; l < d; l++) {
                s += (double)q[i * d + l] * k[j * d + l];
                mag += fabs((double)q[i * d + l] * k[j * d + l]);
                kabs += fabs((double)k[j * d + l]);
            }
            p[j] = (double)scale * s;
            err[j] = fz_gamma((double)d + 1) * fabs((double)scale) * mag +
                     ldexp(kabs + (double)d, -149) * fmax(1, fabs((double)scale));
            if (allowed[i * m + j] && p[j] > mx) mx = p[j];
        }
        r.has[i] = mx > -INFINITY;
        double sum = 0, D = 0;
        for (size_t j = 0; j < m; j++) {
            if (!allowed[i * m + j]) {
                p[j] = 0;
                continue;
            }
            D = fmax(D, err[j] + 2 * FZ_U * fabs(p[j] - mx));
            p[j] = exp(p[j] - mx);
            sum += p[j];
        }
        for (size_t j = 0; j < m; j++) p[j] = sum > 0 ? p[j] / sum : 0;
        r.relw[i] = expm1(2 * D) + fz_gamma((double)m + 8);
    }
    free(err);
    return r;
}

static void ref_free(ref *r) {
    free(r->p);
    free(r->relw);
    free(r->has);
}

/* Checks outputs y [n, dv] of path `what` against the reference. */
static void check_outputs(const char *what, size_t n, size_t m, size_t dv, const float *y, const float *v,
                          const ref *r, const uint8_t *allowed) {
    size_t bad = fz_first_nonfinite(y, n * dv);
    FZ_ORACLE(bad == n * dv, "%s: ATTN_OK with non-finite output y[%zu] = %g", what, bad, bad < n * dv ? y[bad] : 0.0);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < dv; c++) {
            double got = y[i * dv + c];
            if (!r->has[i]) {
                FZ_ORACLE(got == 0, "%s: row %zu has no allowed key but y[%zu, %zu] = %g", what, i, i, c, got);
                continue;
            }
            double want = 0, mag = 0, all = 0, lo = INFINITY, hi = -INFINITY;
            for (size_t j = 0; j < m; j++) {
                if (!allowed[i * m + j]) continue;
                double vj = v[j * dv + c];
                want += r->p[i * m + j] * vj;
                mag += r->p[i * m + j] * fabs(vj);
                all += fabs(vj);
                lo = fmin(lo, vj);
                hi = fmax(hi, vj);
            }
            double slack = fz_gamma((double)m + 4) * fmax(fabs(lo), fabs(hi)) + ldexp((double)m + 2, -149);  /* + underflow */
            FZ_ORACLE(got >= lo - slack && got <= hi + slack,
                      "%s: y[%zu, %zu] = %.9g outside the allowed values [%.9g, %.9g] (not a convex combination)",
                      what, i, c, got, lo, hi);
            double tol = FZ_SAFETY * ((r->relw[i] + fz_gamma((double)m + 4)) * mag + FZ_TINY * all);
            tol += ldexp((double)m + 2, -149);  /* underflow: each product and sum, and y's own rounding */
            FZ_ORACLE(fz_close(got, want, tol), "%s: y[%zu, %zu] = %.9g, float64 reference %.9g, tolerance %.3g",
                      what, i, c, got, want, tol);
        }
}

static void check_weights(size_t n, size_t m, const float *p, const ref *r, const uint8_t *allowed) {
    size_t bad = fz_first_nonfinite(p, n * m);
    FZ_ORACLE(bad == n * m, "softmax_weights: ATTN_OK with non-finite p[%zu] = %g", bad, bad < n * m ? p[bad] : 0.0);
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (size_t j = 0; j < m; j++) {
            double got = p[i * m + j];
            if (!allowed[i * m + j]) {
                FZ_ORACLE(got == 0, "softmax_weights: blocked p[%zu, %zu] = %g", i, j, got);
                continue;
            }
            sum += got;
            double want = r->p[i * m + j], tol = FZ_SAFETY * (r->relw[i] * want + FZ_TINY);
            FZ_ORACLE(got >= 0 && fz_close(got, want, tol),
                      "softmax_weights: p[%zu, %zu] = %.9g, float64 reference %.9g, tolerance %.3g", i, j, got, want,
                      tol);
        }
        double want = r->has[i] ? 1.0 : 0.0;
        FZ_ORACLE(fabs(sum - want) <= FZ_SAFETY * (fz_gamma((double)m) + 4 * FZ_U),
                  "softmax_weights: row %zu sums to %.9g, not %g", i, sum, want);
    }
}

/* Sparse attention from a CSR; returns its status, checks it on ATTN_OK. */
static attn_status run_sparse(const char *what, size_t n, size_t m, size_t d, size_t dv, const float *q,
                              const float *k, const float *v, float scale, const int32_t *indptr,
                              const int32_t *indices, size_t widest, const ref *r, const uint8_t *allowed,
                              int check) {
    float *y = fz_alloc(n * dv * sizeof *y), *work = fz_alloc(widest * sizeof *work);
    attn_status st = attn_sparse_attention(n, m, d, dv, q, k, v, scale, indptr, indices, y, work, widest);
    FZ_STATUS(st);
    if (st == ATTN_OK && check) check_outputs(what, n, m, dv, y, v, r, allowed);
    free(y);
    free(work);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = fz_start(data, size);
    fz_kernels(&in);
    uint8_t flags = fz_u8(&in);
    size_t n = fz_range(&in, 1, MAX_N), m = fz_range(&in, 1, flags & 0x40 ? MAX_M : 40);
    size_t d = fz_range(&in, 1, MAX_D), dv = fz_range(&in, 1, MAX_DV);
    int causal = flags & 1, use_mask = flags & 2, nonfinite_ok = flags & 4;
    float scale = fz_float(&in, nonfinite_ok);
    int bad_q, bad_k, bad_v;
    float *q = fz_matrix(&in, n, d, nonfinite_ok, &bad_q);
    float *k = fz_matrix(&in, m, d, nonfinite_ok, &bad_k);
    float *v = fz_matrix(&in, m, dv, nonfinite_ok, &bad_v);
    FZ_CTX("n=%zu m=%zu d=%zu dv=%zu scale=%g causal=%d mask=%d q[0]=%g k[0]=%g v[0]=%g kernels=%s", n, m, d,
           dv, scale, causal, use_mask != 0, q[0], k[0], v[0], attn_kernels_in_use() ? "simd" : "scalar");
    uint8_t *mask = NULL, *allowed = fz_alloc(n * m);
    if (use_mask) {
        mask = fz_alloc(n * m);
        double density = fz_u8(&in) / 255.0;
        for (size_t t = 0; t < n * m; t++) mask[t] = (fz_lcg(&in) + 1) / 2 < density ? (uint8_t)(1 + t % 255) : 0;
    }
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            allowed[i * m + j] = (!causal || j <= i) && (!mask || mask[i * m + j]);
            nnz += allowed[i * m + j];
        }

    /* The expected status of inputs the harness knows to be bad. */
    attn_status expect = !isfinite(scale) ? ATTN_ERR_RANGE : (bad_q || bad_k) ? ATTN_ERR_NONFINITE : ATTN_OK;
    attn_status expect_v = expect == ATTN_OK && bad_v ? ATTN_ERR_NONFINITE : expect;
    ref r = {0};
    if (expect_v == ATTN_OK || expect == ATTN_OK) r = reference(n, m, d, q, k, scale, allowed);

    /* 1. weights */
    size_t wfloats;
    FZ_ALWAYS(attn_softmax_weights_workspace(n, m, d, &wfloats) == ATTN_OK, "weights workspace");
    float *p = fz_alloc(n * m * sizeof *p), *work = fz_alloc(wfloats * sizeof *work);
    attn_status sw = attn_softmax_weights(n, m, d, q, k, scale, causal, mask, p, work, wfloats);
    FZ_STATUS(sw);
    free(work);
    if (expect != ATTN_OK) FZ_ORACLE(sw == expect, "softmax_weights: status %s, expected %s", attn_status_code(sw), attn_status_code(expect));
    if (sw == ATTN_OK && expect == ATTN_OK) check_weights(n, m, p, &r, allowed);

    /* 2. streaming */
    size_t sfloats;
    FZ_ALWAYS(attn_softmax_attention_workspace(n, m, d, dv, &sfloats) == ATTN_OK, "streaming workspace");
    float *y = fz_alloc(n * dv * sizeof *y);
    work = fz_alloc(sfloats * sizeof *work);
    attn_status ss = attn_softmax_attention(n, m, d, dv, q, k, v, scale, causal, mask, y, work, sfloats);
    FZ_STATUS(ss);
    free(work);
    if (expect_v != ATTN_OK)
        FZ_ORACLE(ss == expect_v, "softmax_attention: status %s, expected %s", attn_status_code(ss), attn_status_code(expect_v));
    /* An output is a weighted average of allowed values: it can round past
     * FLT_MAX (ERR_OVERFLOW in the output paths only) just when some allowed
     * |v| is within the rounding of a weighted sum of FLT_MAX. */
    int near_max = 0;
    if (!bad_v) {
        double vmax = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                for (size_t c = 0; allowed[i * m + j] && c < dv; c++) vmax = fmax(vmax, fabs(v[j * dv + c]));
        near_max = vmax * (1 + FZ_SAFETY * fz_gamma((double)m + 4)) >= FLT_MAX;
    }
    int edge_ss = near_max && sw == ATTN_OK && ss == ATTN_ERR_OVERFLOW;
    if (!bad_v)
        FZ_ORACLE(ss == sw || edge_ss, "status differs: softmax_weights %s, softmax_attention %s", attn_status_code(sw),
                  attn_status_code(ss));
    if (ss == ATTN_OK && expect_v == ATTN_OK) check_outputs("softmax_attention", n, m, dv, y, v, &r, allowed);

    /* 3. sparse over the CSR of the same mask */
    int32_t *indptr = fz_alloc((n + 1) * sizeof *indptr), *indices = fz_alloc(nnz * sizeof *indices);
    attn_status sc = attn_dense_to_csr(n, m, allowed, nnz, indptr, indices);
    FZ_ALWAYS(sc == ATTN_OK && (size_t)indptr[n] == nnz, "dense_to_csr: %s, indptr[n] = %d, count %zu",
              attn_status_code(sc), indptr[n], nnz);
    if (nnz > 0) FZ_ALWAYS(attn_dense_to_csr(n, m, allowed, nnz - 1, indptr, indices) == ATTN_ERR_WORKSPACE,
                           "dense_to_csr: capacity nnz - 1 accepted");
    attn_dense_to_csr(n, m, allowed, nnz, indptr, indices);
    size_t widest = 0;
    for (size_t i = 0; i < n; i++) widest = widest > (size_t)(indptr[i + 1] - indptr[i]) ? widest : (size_t)(indptr[i + 1] - indptr[i]);
    attn_status sp = run_sparse(mask || causal ? "sparse_attention (CSR of the mask)" : "sparse_attention (full mask)",
                                n, m, d, dv, q, k, v, scale, indptr, indices, widest, &r, allowed, expect_v == ATTN_OK);
    if (expect_v != ATTN_OK)
        FZ_ORACLE(sp == expect_v, "sparse_attention: status %s, expected %s", attn_status_code(sp), attn_status_code(expect_v));
    FZ_ORACLE(sp == ss || (near_max && sw == ATTN_OK && (sp == ATTN_OK || sp == ATTN_ERR_OVERFLOW) &&
                           (ss == ATTN_OK || ss == ATTN_ERR_OVERFLOW)),
              "status differs: softmax_attention %s, sparse_attention %s", attn_status_code(ss),
              attn_status_code(sp));
    free(indices);

    /* 4. sparse over a CSR written by the bytes */
    uint8_t csr_mode = fz_u8(&in);
    int valid = 1, dup = 0, unsorted = 0;
    size_t top = 0;
    indptr[0] = csr_mode & 1 ? (int32_t)(fz_u8(&in) % 3) - 1 : 0;  /* -1, 0 or 1 now and then */
    if (indptr[0] != 0) valid = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t step = (int32_t)(fz_u8(&in) % (m + 3));
        if (csr_mode & 2 && fz_u8(&in) == 0xff) step = -1 - (int32_t)(fz_u8(&in) % 4);
        indptr[i + 1] = indptr[i] + step;
        if (indptr[i + 1] < indptr[i] || indptr[i + 1] < 0) valid = 0;
    }
    for (size_t i = 0; i <= n; i++)
        if (indptr[i] > 0 && (size_t)indptr[i] > top) top = (size_t)indptr[i];
    indices = fz_alloc(top * sizeof *indices);
    for (size_t t = 0; t < top; t++) {
        uint8_t b = fz_u8(&in);
        indices[t] = (int32_t)(b % m);
        if (csr_mode & 4 && b >= 250) indices[t] = b == 250 ? -1 : b == 251 ? (int32_t)m : b == 252 ? INT32_MAX
                                                                                       : INT32_MIN;
    }
    if (csr_mode & 8)  /* sort and dedupe each row: a canonical CSR, often */
        for (size_t i = 0; valid && i < n; i++) {
            int32_t a = indptr[i], b = indptr[i + 1];
            for (int32_t x = a + 1; x < b; x++)
                for (int32_t y2 = x; y2 > a && indices[y2 - 1] > indices[y2]; y2--) {
                    int32_t t = indices[y2];
                    indices[y2] = indices[y2 - 1];
                    indices[y2 - 1] = t;
                }
            for (int32_t x = a + 1; x < b; x++)
                if (indices[x] == indices[x - 1]) indices[x] = indices[x] + 1 < (int32_t)m ? indices[x] + 1 : indices[x];
        }
    uint8_t *set = fz_alloc(n * m);
    memset(set, 0, n * m);
    widest = 0;
    for (size_t i = 0; valid && i < n; i++) {
        widest = widest > (size_t)(indptr[i + 1] - indptr[i]) ? widest : (size_t)(indptr[i + 1] - indptr[i]);
        for (int32_t t = indptr[i]; t < indptr[i + 1]; t++) {
            int32_t j = indices[t];
            if (j < 0 || (size_t)j >= m) {
                valid = 0;
                break;
            }
            if (set[i * m + (size_t)j]) dup = 1;
            if (t > indptr[i] && indices[t - 1] > j) unsorted = 1;
            set[i * m + (size_t)j] = 1;
        }
    }
    if (!valid) widest = m;
    ref r2 = {0};
    int check = valid && expect_v == ATTN_OK && !(fz_tame == 1 && dup);
    if (check) r2 = reference(n, m, d, q, k, scale, set);
    char what[96];
    snprintf(what, sizeof what, "sparse_attention (CSR from the bytes%s%s)", dup ? ", duplicate keys" : "",
             unsorted ? ", unsorted" : "");
    attn_status sx = run_sparse(what, n, m, d, dv, q, k, v, scale, indptr,
                                indices, widest, &r2, set, check);
    if (!valid) FZ_ORACLE(sx != ATTN_OK, "sparse_attention: accepted a CSR with indptr not non-decreasing from 0 or an index out of range");
    if (valid && !dup && !unsorted && expect_v == ATTN_OK) {
        /* the same set as canonical CSR: the same status */
        size_t cnt = 0;
        for (size_t t = 0; t < n * m; t++) cnt += set[t];
        int32_t *ip2 = fz_alloc((n + 1) * sizeof *ip2), *ix2 = fz_alloc(cnt * sizeof *ix2);
        attn_dense_to_csr(n, m, set, cnt, ip2, ix2);
        attn_status sy = run_sparse("sparse_attention (canonical CSR)", n, m, d, dv, q, k, v, scale, ip2, ix2, widest,
                                    &r2, set, 0);
        FZ_ORACLE(sx == sy, "status differs for the same CSR: %s vs %s", attn_status_code(sx), attn_status_code(sy));
        free(ip2);
        free(ix2);
    }
    if (check) ref_free(&r2);

    free(set);
    free(indices);
    free(indptr);
    free(y);
    free(p);
    if (r.p) ref_free(&r);
    free(q);
    free(k);
    free(v);
    free(mask);
    free(allowed);
    return 0;
}
