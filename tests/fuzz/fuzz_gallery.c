/*
 * fuzz_gallery.c - libFuzzer target: the building blocks of the compressed,
 * synthetic and sorted mechanisms: attn_matmul, attn_matmul_nt,
 * attn_pool_rows, attn_softmax_rows, attn_sinkhorn.
 *
 * Oracle: a non-finite alpha, a tau <= 0 or non-finite, c = 0 give
 * ERR_RANGE and non-finite inputs ERR_NONFINITE; on ATTN_OK outputs are
 * finite and:
 *  - matmul, matmul_nt and pool_rows match the float64 product within
 *    gamma(k + 1) times the sum of |products| (plus 2^-149 max(1, |alpha|)
 *    per term for underflow), so a result that overflows float32 cannot come back OK;
 *    matmul_nt(A, B) equals matmul(A, B^T) bit for bit (same kernel on the
 *    same packed operand);
 *  - softmax_rows matches the float64 softmax of the same logits (weight
 *    error (2 |x - max| u + gamma(m + 8)) relative), rows sum to 1, blocked
 *    cells are 0; and equals softmax_weights(Q = logits, K = I, scale 1) bit
 *    for bit;
 *  - sinkhorn: entries >= 0 (and <= 1 after an iteration), 0 above the diagonal when causal, and after
 *    at least one iteration every column sums to 1 (the last step normalises
 *    columns) within the rounding of the log-space entries.
 */
#include "fuzz.h"

enum { MAX_N = 32 };

/* c [n, m] against A B (b_t: B stored as [m, k] when set). */
static void check_product(const char *what, size_t n, size_t k, size_t m, float alpha, const float *a, const float *b,
                          int b_t, const float *c) {
    size_t bad = fz_first_nonfinite(c, n * m);
    FZ_ORACLE(bad == n * m, "%s: ATTN_OK with non-finite c[%zu] = %g", what, bad, bad < n * m ? c[bad] : 0.0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double want = 0, mag = 0, under = 0;
            for (size_t l = 0; l < k; l++) {
                double bl = b_t ? b[j * k + l] : b[l * m + j];
                want += (double)alpha * a[i * k + l] * bl;
                mag += fabs((double)alpha * a[i * k + l] * bl);
                under += fabs(bl) + 1;
            }
            /* the SIMD gemm scales by alpha after the product: its underflow grows by |alpha| */
            double tol = FZ_SAFETY * (fz_gamma((double)k + 1) * mag + ldexp(under, -149) * fmax(1, fabs(alpha)));
            FZ_ORACLE(fz_close(c[i * m + j], want, tol), "%s: c[%zu, %zu] = %.9g, float64 %.9g, tolerance %.3g", what, i, j,
                      c[i * m + j], want, tol);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = fz_start(data, size);
    fz_kernels(&in);
    uint8_t which = fz_u8(&in), flags = fz_u8(&in);
    int nonfinite_ok = flags & 1;
    size_t n = fz_range(&in, 1, MAX_N), k = fz_range(&in, 1, MAX_N), m = fz_range(&in, 1, MAX_N);
    int bad_a, bad_b;
    attn_status st;
    switch (which % 5) {
    case 0: case 1: {  /* matmul, matmul_nt */
        float alpha = flags & 2 ? 1.0f : fz_float(&in, nonfinite_ok);
        float *a = fz_matrix(&in, n, k, nonfinite_ok, &bad_a), *b = fz_matrix(&in, k, m, nonfinite_ok, &bad_b);
        FZ_CTX("matmul n=%zu k=%zu m=%zu alpha=%g a[0]=%g b[0]=%g kernels=%s", n, k, m, alpha, a[0], b[0],
               attn_kernels_in_use() ? "simd" : "scalar");
        attn_status want = !isfinite(alpha) ? ATTN_ERR_RANGE : bad_a || bad_b ? ATTN_ERR_NONFINITE : ATTN_OK;
        float *c = fz_alloc(n * m * sizeof *c), *c2 = fz_alloc(n * m * sizeof *c2), *bt = fz_alloc(m * k * sizeof *bt);
        st = attn_matmul(n, k, m, alpha, a, b, c);
        FZ_STATUS(st);
        if (want != ATTN_OK) FZ_ORACLE(st == want, "matmul: %s, expected %s", attn_status_code(st), attn_status_code(want));
        if (st == ATTN_OK && want == ATTN_OK) check_product("matmul", n, k, m, alpha, a, b, 0, c);
        for (size_t l = 0; l < k; l++)
            for (size_t j = 0; j < m; j++) bt[j * k + l] = b[l * m + j];
        size_t wf;
        FZ_ALWAYS(attn_softmax_weights_workspace(n, m, k, &wf) == ATTN_OK, "workspace");
        float *work = fz_alloc(wf * sizeof *work);
        attn_status st2 = attn_matmul_nt(n, m, k, alpha, a, bt, c2, work, wf);
        FZ_STATUS(st2);
        FZ_ORACLE(st2 == st, "matmul_nt: %s, matmul: %s", attn_status_code(st2), attn_status_code(st));
        if (st == ATTN_OK && st2 == ATTN_OK) {
            check_product("matmul_nt", n, k, m, alpha, a, bt, 1, c2);
            for (size_t t = 0; t < n * m; t++)
                FZ_ORACLE(c[t] == c2[t] || (isnan(c[t]) && isnan(c2[t])), "matmul_nt(A, B^T)[%zu] = %.9g, matmul(A, B) %.9g", t,
                          c2[t], c[t]);
        }
        free(a), free(b), free(c), free(c2), free(bt), free(work);
        break;
    }
    case 2: {  /* pool_rows */
        size_t d = m, c = fz_range(&in, 0, n + 3);
        if (flags & 4) c = (size_t)1 << (fz_u8(&in) % 40);
        size_t klen = c <= 4 * n + 8 ? c : n;  /* a huge c: only its first n entries can be read */
        float *x = fz_matrix(&in, n, d, nonfinite_ok, &bad_a), *kern = fz_matrix(&in, 1, klen, nonfinite_ok, &bad_b);
        FZ_CTX("pool_rows n=%zu d=%zu c=%zu x[0]=%g kernel[0]=%g", n, d, c, x[0], klen ? kern[0] : 0.0);
        int bad_used = 0;
        for (size_t t = 0; t < klen && t < n; t++) bad_used |= !isfinite(kern[t]);
        size_t slots = c ? n / c + (n % c != 0) : 1;
        float *out = fz_alloc(slots * d * sizeof *out);
        st = attn_pool_rows(n, d, c, x, kern, out);
        FZ_STATUS(st);
        attn_status want = c == 0 ? ATTN_ERR_RANGE : bad_a || bad_used ? ATTN_ERR_NONFINITE : ATTN_OK;
        int may_overflow = 0;  /* a sum of |kernel_t x| whose float32 partial sums can pass FLT_MAX */
        for (size_t s = 0; want == ATTN_OK && s < slots; s++)
            for (size_t l = 0; l < d; l++) {
                double mag = 0, terms = 0;
                for (size_t t = 0; t < c && s * c + t < n; t++, terms++) mag += fabs((double)kern[t] * x[(s * c + t) * d + l]);
                may_overflow |= mag * (1 + 2 * fz_gamma(terms + 1)) >= FLT_MAX;
            }
        FZ_ORACLE(st == want || (may_overflow && st == ATTN_ERR_OVERFLOW), "pool_rows: %s, expected %s", attn_status_code(st),
                  attn_status_code(want));
        if (st == ATTN_OK && want == ATTN_OK) {
            size_t b = fz_first_nonfinite(out, slots * d);
            FZ_ORACLE(b == slots * d, "pool_rows: ATTN_OK with non-finite out[%zu] = %g", b, b < slots * d ? out[b] : 0.0);
            for (size_t s = 0; s < slots; s++)
                for (size_t l = 0; l < d; l++) {
                    double want_v = 0, mag = 0, under = 0;
                    for (size_t t = 0; t < c && s * c + t < n; t++) {
                        want_v += (double)kern[t] * x[(s * c + t) * d + l];
                        mag += fabs((double)kern[t] * x[(s * c + t) * d + l]);
                        under += 1;
                    }
                    double tol = FZ_SAFETY * (fz_gamma(under + 1) * mag + ldexp(under, -149));
                    FZ_ORACLE(fz_close(out[s * d + l], want_v, tol), "pool_rows: out[%zu, %zu] = %.9g, float64 %.9g, tolerance %.3g",
                              s, l, out[s * d + l], want_v, tol);
                }
        }
        free(x), free(kern), free(out);
        break;
    }
    case 3: {  /* softmax_rows, and softmax_weights with K = I */
        int causal = flags & 2, use_mask = flags & 4;
        float *x = fz_matrix(&in, n, m, nonfinite_ok, &bad_a);
        uint8_t *mask = NULL;
        if (use_mask) {
            mask = fz_alloc(n * m);
            double density = fz_u8(&in) / 255.0;
            for (size_t t = 0; t < n * m; t++) mask[t] = (fz_lcg(&in) + 1) / 2 < density;
        }
        FZ_CTX("softmax_rows n=%zu m=%zu causal=%d mask=%d x[0]=%g kernels=%s", n, m, causal, use_mask != 0, x[0],
               attn_kernels_in_use() ? "simd" : "scalar");
        float *p = fz_alloc(n * m * sizeof *p);
        memcpy(p, x, n * m * sizeof *p);
        st = attn_softmax_rows(n, m, p, causal, mask);
        FZ_STATUS(st);
        attn_status want = bad_a ? ATTN_ERR_NONFINITE : ATTN_OK;
        FZ_ORACLE(st == want, "softmax_rows: %s, expected %s", attn_status_code(st), attn_status_code(want));
        if (st == ATTN_OK && want == ATTN_OK) {
            size_t b = fz_first_nonfinite(p, n * m);
            FZ_ORACLE(b == n * m, "softmax_rows: ATTN_OK with non-finite p[%zu] = %g", b, b < n * m ? p[b] : 0.0);
            for (size_t i = 0; i < n; i++) {
                double mx = -INFINITY, sum = 0, got_sum = 0;
                for (size_t j = 0; j < m; j++)
                    if ((!causal || j <= i) && (!mask || mask[i * m + j])) mx = fmax(mx, x[i * m + j]);
                for (size_t j = 0; j < m; j++)
                    if ((!causal || j <= i) && (!mask || mask[i * m + j])) sum += exp(x[i * m + j] - mx);
                for (size_t j = 0; j < m; j++) {
                    int ok = (!causal || j <= i) && (!mask || mask[i * m + j]);
                    double got = p[i * m + j];
                    got_sum += got;
                    if (!ok) {
                        FZ_ORACLE(got == 0, "softmax_rows: blocked p[%zu, %zu] = %g", i, j, got);
                        continue;
                    }
                    double w = exp(x[i * m + j] - mx) / sum;
                    double tol = FZ_SAFETY * ((2 * FZ_U * fabs(x[i * m + j] - mx) + fz_gamma((double)m + 8)) * w + FZ_TINY);
                    FZ_ORACLE(fz_close(got, w, tol), "softmax_rows: p[%zu, %zu] = %.9g, float64 %.9g, tolerance %.3g", i, j, got, w, tol);
                }
                double want_sum = mx > -INFINITY ? 1 : 0;
                FZ_ORACLE(fabs(got_sum - want_sum) <= FZ_SAFETY * (fz_gamma((double)m) + 4 * FZ_U),
                          "softmax_rows: row %zu sums to %.9g", i, got_sum);
            }
        }
        /* the same rows through softmax_weights: Q = logits, K = I, scale 1 */
        float *eye = fz_alloc(m * m * sizeof *eye), *p2 = fz_alloc(n * m * sizeof *p2);
        for (size_t t = 0; t < m * m; t++) eye[t] = t % (m + 1) == 0;
        size_t wf;
        FZ_ALWAYS(attn_softmax_weights_workspace(n, m, m, &wf) == ATTN_OK, "workspace");
        float *work = fz_alloc(wf * sizeof *work);
        attn_status s2 = attn_softmax_weights(n, m, m, x, eye, 1.0f, causal, mask, p2, work, wf);
        FZ_ORACLE(s2 == st, "softmax_weights(K = I): %s, softmax_rows: %s", attn_status_code(s2), attn_status_code(st));
        if (st == ATTN_OK && s2 == ATTN_OK)
            for (size_t t = 0; t < n * m; t++)
                FZ_ORACLE(p[t] == p2[t] || (isnan(p[t]) && isnan(p2[t])), "softmax_weights(Q = x, K = I)[%zu] = %.9g, softmax_rows %.9g", t, p2[t], p[t]);
        free(x), free(mask), free(p), free(eye), free(p2), free(work);
        break;
    }
    default: {  /* sinkhorn */
        size_t iterations = fz_range(&in, 0, 12);
        int causal = flags & 2;
        float tau = flags & 4 ? 1.0f : fz_float(&in, nonfinite_ok);
        if (fz_tame && iterations == 0) iterations = 1;  /* exp(L / tau) unnormalised overflows */
        if (fz_tame && tau < 1e-3f) tau = 1e-3f;
        float *x = fz_matrix(&in, n, n, nonfinite_ok, &bad_a);
        FZ_CTX("sinkhorn n=%zu iterations=%zu tau=%g causal=%d x[0]=%g", n, iterations, tau, causal, x[0]);
        attn_status want = !(tau > 0 && isfinite(tau)) ? ATTN_ERR_RANGE : bad_a ? ATTN_ERR_NONFINITE : ATTN_OK;
        /* attn.h: ATTN_ERR_OVERFLOW iff an allowed (L - max_row) / tau leaves
         * float32 (iterations >= 1), or L / tau or exp(L / tau) does (0);
         * within a relative 1e-6 of the limits either status is accepted. */
        int must_over = 0, may_over = 0;
        for (size_t i = 0; want == ATTN_OK && i < n; i++) {
            size_t visible = causal ? i + 1 : n;
            double mx = -INFINITY;
            for (size_t j = 0; j < visible; j++) mx = fmax(mx, x[i * n + j]);
            if (iterations == 0) mx = 0;
            for (size_t j = 0; j < visible; j++) {
                double y = ((double)x[i * n + j] - mx) / tau, lim = iterations == 0 ? log(FLT_MAX) : INFINITY;
                must_over |= fabs(y) > FLT_MAX * (1 + 1e-6) || y > lim + 1e-5;
                may_over |= fabs(y) > FLT_MAX * (1 - 1e-6) || y > lim - 1e-5;
            }
        }
        st = attn_sinkhorn(n, x, iterations, tau, causal);
        FZ_STATUS(st);
        if (must_over) want = ATTN_ERR_OVERFLOW;
        FZ_ORACLE(st == want || (may_over && st == ATTN_ERR_OVERFLOW), "sinkhorn: %s, expected %s", attn_status_code(st),
                  attn_status_code(want));
        if (st == ATTN_OK && want == ATTN_OK) {
            size_t b = fz_first_nonfinite(x, n * n);
            FZ_ORACLE(b == n * n, "sinkhorn: ATTN_OK with non-finite S[%zu] = %g", b, b < n * n ? x[b] : 0.0);
            for (size_t t = 0; t < n * n; t++) {
                FZ_ORACLE(x[t] >= 0 && (iterations == 0 || x[t] <= 1 + 8 * FZ_U), "sinkhorn: S[%zu, %zu] = %g outside [0, 1]",
                          t / n, t % n, x[t]);
                if (causal && t % n > t / n) FZ_ORACLE(x[t] == 0, "sinkhorn causal: S[%zu, %zu] = %g above the diagonal", t / n, t % n, x[t]);
            }
            for (size_t j = 0; iterations > 0 && j < n; j++) {
                double sum = 0, tol = fz_gamma((double)n + 4);
                for (size_t i = 0; i < n; i++) {
                    double s = x[i * n + j];
                    sum += s;
                    if (s > 0) tol += s * 2 * FZ_U * (fabs(log(s)) + 1);
                }
                FZ_ORACLE(fabs(sum - 1) <= FZ_SAFETY * tol + FZ_TINY, "sinkhorn: column %zu sums to %.9g, tolerance %.3g", j, sum, FZ_SAFETY * tol);
            }
        }
        free(x);
        break;
    }
    }
    return 0;
}
