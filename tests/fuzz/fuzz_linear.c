/*
 * fuzz_linear.c - libFuzzer target: feature maps, kernel weights and linear
 * attention, for every feature map (and an unknown one), normalize none,
 * sum, l2 (and an unknown one), stabilize, causal, eps and kernel_eps from
 * the bytes.
 *
 * Oracle:
 *  - bad arguments (unknown feature or normalize, m or nu out of range,
 *    kernel_eps or eps negative or non-finite, non-finite inputs or
 *    projection) give one of the codes attn.h names, on every function;
 *  - attn_feature_map: on ATTN_OK finite; the maps with a closed form
 *    (identity, elu+1, relu, Taylor, DPFP, Efficient, and the normalisations)
 *    match a float64 evaluation within a few ulp; positive maps give >= 0;
 *    the stabilised FAVOR+ positive and hyperbolic maps have largest feature
 *    exactly their constant (m^-1/2, (2m)^-1/2) per query row and over keys;
 *  - attn_kernel_weights W and attn_linear_attention Y: when one fails on
 *    valid arguments the other does not return ATTN_OK with W's failure
 *    (same rule as the softmax paths; except ATTN_ERR_OVERFLOW of a map that
 *    is not positive: W beyond float32 does not make W V so, e.g. V = 0, and
 *    Y is then checked below); on ATTN_OK finite, and both match the
 *    float64 evaluation from the same phi (phi(Q), phi(K) as
 *    attn_feature_map returns them): W_ij = A_ij / (D_i + eps), A = phi(Q)
 *    phi(K)^T over the allowed keys, Y = W V; so Y agrees with W V. Bound:
 *    A and D carry gamma(dim + m + 2) times the same sums over |phi| (|v|),
 *    and the quotient's error is (e_num + |ref| e_den) / (|D + eps| - e_den),
 *    vacuous when e_den reaches half the denominator (cancellation);
 *  - positive maps: W >= 0 and its rows sum to at most 1;
 *  - causal: changing the last key (and value) changes no output row before
 *    it, in W nor Y (not checked for the stabilised Performer maps, whose key
 *    constant is shared by all keys: it cancels in the weights only up to
 *    eps and rounding).
 */
#include "fuzz_spec.h"

enum { MAX_N = 32, MAX_D = 12, MAX_DV = 8 };

/* float64 reference check of one feature map output (closed forms only). */
static void check_features(const fz_spec *fs, int role, size_t n, size_t d, size_t dim, const float *x,
                           const float *phi) {
    const attn_feature_spec *s = &fs->spec;
    const char *what = role == ATTN_ROLE_KEY ? "feature_map (key)" : "feature_map (query)";
    size_t bad = fz_first_nonfinite(phi, n * dim);
    FZ_ORACLE(bad == n * dim, "%s: ATTN_OK with non-finite phi[%zu] = %g", what, bad, bad < n * dim ? phi[bad] : 0.0);
    if (fs->positive)
        for (size_t t = 0; t < n * dim; t++) FZ_ORACLE(phi[t] >= 0, "%s: phi[%zu] = %g < 0 for a positive map", what, t, phi[t]);
    if (fz_is_performer(s->feature)) {
        /* stabilised positive maps: the largest exponent is 0, so the largest
         * feature is the constant c (per query row; over all key rows) */
        if (s->stabilize && s->feature != ATTN_FEATURE_FAVOR_TRIG && s->normalize == ATTN_NORMALIZE_NONE) {
            double c = 1 / sqrt((double)(s->feature == ATTN_FEATURE_FAVOR_HYP ? 2 * s->m : s->m)), top = 0;
            for (size_t i = 0; i < n; i++) {
                double row = 0;
                for (size_t f = 0; f < dim; f++) row = fmax(row, phi[i * dim + f]);
                if (role == ATTN_ROLE_QUERY)
                    FZ_ORACLE(fabs(row - c) <= 8 * FZ_U * c, "%s %s stabilised: row %zu's largest feature %.9g, not c = %.9g",
                              what, fz_feature_name(s->feature), i, row, c);
                top = fmax(top, row);
            }
            if (role == ATTN_ROLE_KEY)
                FZ_ORACLE(fabs(top - c) <= 8 * FZ_U * c, "%s %s stabilised: largest key feature %.9g, not c = %.9g", what,
                          fz_feature_name(s->feature), top, c);
        }
        return;
    }
    double *ref = fz_alloc(dim * sizeof *ref), *err = fz_alloc(dim * sizeof *err);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        for (size_t f = 0; f < dim; f++) err[f] = 0;
        switch (s->feature) {
        case ATTN_FEATURE_IDENTITY:
            for (size_t l = 0; l < d; l++) ref[l] = xi[l];
            break;
        case ATTN_FEATURE_ELU1:
            for (size_t l = 0; l < d; l++) {
                ref[l] = xi[l] > 0 ? xi[l] + 1.0 : exp(xi[l]);
                err[l] = 4 * FZ_U * fabs(ref[l]) + FZ_TINY;
            }
            break;
        case ATTN_FEATURE_RELU:
            for (size_t l = 0; l < d; l++) {
                ref[l] = fmax(xi[l], 0.0) + s->kernel_eps;
                err[l] = FZ_U * fabs(ref[l]);
            }
            break;
        case ATTN_FEATURE_TAYLOR: {
            double norm = 0;
            for (size_t l = 0; l < d; l++) norm += (double)xi[l] * xi[l];
            ref[0] = 1;
            for (size_t l = 0; l < d; l++) {
                ref[1 + l] = xi[l] / (sqrt(norm) + 1e-6);
                err[1 + l] = 3 * FZ_U * fabs(ref[1 + l]) + FZ_TINY;
            }
            break;
        }
        case ATTN_FEATURE_DPFP: {
            size_t two_d = 2 * d;
            for (size_t j = 1; j <= s->nu; j++)
                for (size_t p = 0; p < two_d; p++) {
                    size_t p2 = (p + two_d - j) % two_d;
                    double a = p < d ? fmax(xi[p], 0) : fmax(-xi[p - d], 0);
                    double b = p2 < d ? fmax(xi[p2], 0) : fmax(-xi[p2 - d], 0);
                    ref[(j - 1) * two_d + p] = a * b;
                    err[(j - 1) * two_d + p] = FZ_U * a * b + FZ_TINY;
                }
            break;
        }
        case ATTN_FEATURE_EFFICIENT:
            if (role == ATTN_ROLE_QUERY) {
                double mx = -INFINITY, sum = 0;
                for (size_t l = 0; l < d; l++) mx = fmax(mx, xi[l]);
                for (size_t l = 0; l < d; l++) sum += ref[l] = exp(xi[l] - mx);
                for (size_t l = 0; l < d; l++) {
                    ref[l] /= sum;
                    err[l] = (fz_gamma((double)d + 8) + 2 * FZ_U * fabs(xi[l] - mx)) * ref[l] + FZ_TINY;
                }
            } else {  /* softmax over the rows of each column */
                for (size_t l = 0; l < d; l++) {
                    double mx = -INFINITY, sum = 0;
                    for (size_t r = 0; r < n; r++) mx = fmax(mx, x[r * d + l]);
                    for (size_t r = 0; r < n; r++) sum += exp(x[r * d + l] - mx);
                    ref[l] = exp(xi[l] - mx) / sum;
                    err[l] = (fz_gamma((double)n + 8) + 2 * FZ_U * fabs(xi[l] - mx)) * ref[l] + FZ_TINY;
                }
            }
            break;
        default: free(ref); free(err); return;
        }
        if (s->normalize != ATTN_NORMALIZE_NONE) {
            double t = 0, mag = 0;
            for (size_t f = 0; f < dim; f++) {
                t += s->normalize == ATTN_NORMALIZE_SUM ? ref[f] : ref[f] * ref[f];
                mag += s->normalize == ATTN_NORMALIZE_SUM ? fabs(ref[f]) + err[f] : (fabs(ref[f]) + err[f]) * (fabs(ref[f]) + err[f]);
            }
            if (s->normalize == ATTN_NORMALIZE_L2) t = sqrt(t), mag = sqrt(mag);
            /* relative error of the divisor: the sum's rounding over its magnitude */
            double rel = t != 0 ? (fz_gamma((double)dim + 4) * mag + (mag - fabs(t))) / fabs(t) : INFINITY;
            if (s->normalize == ATTN_NORMALIZE_SUM && t != 0) {
                double e = 0;
                for (size_t f = 0; f < dim; f++) e += err[f];
                rel = (fz_gamma((double)dim + 4) * mag + e) / fabs(t);
            }
            for (size_t f = 0; f < dim; f++) {
                double r = t != 0 ? ref[f] / t : 0;
                err[f] = t != 0 ? (err[f] / fabs(t) + fabs(r) * (rel >= 0.5 ? INFINITY : 2 * rel) + FZ_TINY) : INFINITY;
                ref[f] = r;
            }
        }
        for (size_t f = 0; f < dim; f++) {
            double tol = FZ_SAFETY * err[f] + (s->feature == ATTN_FEATURE_IDENTITY && !s->normalize ? 0 : FZ_TINY);
            if (!isfinite(ref[f])) continue;  /* the definition overflows double: only finiteness */
            FZ_ORACLE(fz_close(phi[i * dim + f], ref[f], tol), "%s %s: phi[%zu, %zu] = %.9g, float64 %.9g, tolerance %.3g",
                      what, fz_feature_name(s->feature), i, f, phi[i * dim + f], ref[f], tol);
        }
    }
    free(ref);
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = fz_start(data, size);
    fz_kernels(&in);
    uint8_t flags = fz_u8(&in);
    size_t n = fz_range(&in, 1, MAX_N), m = fz_range(&in, 1, MAX_N);
    size_t d = fz_range(&in, 1, MAX_D), dv = fz_range(&in, 1, MAX_DV);
    int causal = flags & 1, nonfinite_ok = flags & 2;
    float eps = flags & 4 ? 1e-6f : fz_float(&in, nonfinite_ok);
    fz_spec fs = fz_feature_spec(&in, d);
    int bad_q, bad_k, bad_v;
    float *q = fz_matrix(&in, n, d, nonfinite_ok, &bad_q);
    float *k = fz_matrix(&in, m, d, nonfinite_ok, &bad_k);
    float *v = fz_matrix(&in, m, dv, nonfinite_ok, &bad_v);
    const attn_feature_spec *spec = &fs.spec;
    if (fz_tame && spec->feature == ATTN_FEATURE_EFFICIENT) causal = 0;
    if (fz_tame && !(eps >= 1e-6f)) eps = 1e-6f;  /* 0 / 0 with eps = 0 */
    if (fz_tame == 1 && fz_is_performer(fs.spec.feature)) fs.spec.stabilize = 1;  /* the plain estimator overflows */
    FZ_CTX("feature=%s(%d) m=%zu nu=%zu kernel_eps=%g stabilize=%d normalize=%d n=%zu keys=%zu d=%zu dv=%zu causal=%d "
           "eps=%g q[0]=%g k[0]=%g v[0]=%g kernels=%s",
           fz_feature_name(spec->feature), spec->feature, spec->m, spec->nu, spec->kernel_eps, spec->stabilize,
           spec->normalize, n, m, d, dv, causal, eps, q[0], k[0], v[0], attn_kernels_in_use() ? "simd" : "scalar");

    unsigned bad_map_q = fs.bad | (bad_q ? FZ_BIT(ATTN_ERR_NONFINITE) : 0);
    unsigned bad_map_k = fs.bad | (bad_k ? FZ_BIT(ATTN_ERR_NONFINITE) : 0);
    unsigned bad_w = bad_map_q | bad_map_k | (!(eps >= 0 && isfinite(eps)) ? FZ_BIT(ATTN_ERR_RANGE) : 0);
    /* attn.h: the efficient key map reads every position, refused with causal */
    if (causal && spec->feature == ATTN_FEATURE_EFFICIENT) bad_w |= FZ_BIT(ATTN_ERR_RANGE);
    unsigned bad_y = bad_w | (bad_v ? FZ_BIT(ATTN_ERR_NONFINITE) : 0);

    /* feature maps */
    size_t dim = 0, fwork = 0;
    attn_status sd = attn_feature_dim(spec, d, &dim);
    FZ_STATUS(sd);
    if (sd != ATTN_OK || attn_feature_map_workspace(spec, d, &fwork) != ATTN_OK) {
        FZ_ORACLE(fs.bad != 0 && (fs.bad & FZ_BIT(sd) || sd == ATTN_OK), "feature_dim: %s for a valid spec", attn_status_code(sd));
        goto done;
    }
    float *fw = fz_alloc(fwork * sizeof *fw);
    float *phq = fz_alloc(n * dim * sizeof *phq), *phk = fz_alloc(m * dim * sizeof *phk);
    attn_status sq = attn_feature_map(spec, ATTN_ROLE_QUERY, n, d, q, phq, fw, fwork);
    attn_status sk = attn_feature_map(spec, ATTN_ROLE_KEY, m, d, k, phk, fw, fwork);
    FZ_STATUS(sq);
    FZ_STATUS(sk);
    FZ_EXPECT("feature_map (query)", sq, bad_map_q);
    FZ_EXPECT("feature_map (key)", sk, bad_map_k);
    if (sq == ATTN_OK && !bad_map_q) check_features(&fs, ATTN_ROLE_QUERY, n, d, dim, q, phq);
    if (sk == ATTN_OK && !bad_map_k) check_features(&fs, ATTN_ROLE_KEY, m, d, dim, k, phk);
    free(fw);

    /* kernel weights and linear attention */
    size_t lw = 0;
    attn_status sl = attn_linear_workspace(spec, n, m, d, dv, &lw);
    FZ_ALWAYS(sl == ATTN_OK, "linear_workspace: %s after feature_dim OK", attn_status_code(sl));
    float *work = fz_alloc(lw * sizeof *work), *w = fz_alloc(n * m * sizeof *w), *y = fz_alloc(n * dv * sizeof *y);
    attn_status sw = attn_kernel_weights(spec, n, m, d, q, k, causal, eps, w, work, lw);
    attn_status sy = attn_linear_attention(spec, n, m, d, dv, q, k, v, causal, eps, y, work, lw);
    FZ_STATUS(sw);
    FZ_STATUS(sy);
    FZ_EXPECT("kernel_weights", sw, bad_w);
    FZ_EXPECT("linear_attention", sy, bad_y);
    /* Positive maps give weights in [0, 1], which cannot overflow; other maps'
     * weights can (a / (D + eps) with D cancelling to ~0) while Y = W V is
     * finite, e.g. V = 0. */
    if (!bad_y && sw != ATTN_OK && (sw != ATTN_ERR_OVERFLOW || fs.positive))
        FZ_ORACLE(sy != ATTN_OK, "kernel_weights fails with %s but linear_attention returns ATTN_OK", attn_status_code(sw));
    if (sq == ATTN_OK && sk == ATTN_OK && !bad_w && (sw == ATTN_OK || sy == ATTN_OK)) {
        size_t bw = fz_first_nonfinite(w, n * m), by = fz_first_nonfinite(y, n * dv);
        if (sw == ATTN_OK)
            FZ_ORACLE(bw == n * m, "kernel_weights: ATTN_OK with non-finite w[%zu] = %g", bw, bw < n * m ? w[bw] : 0.0);
        if (sy == ATTN_OK && !bad_v)
            FZ_ORACLE(by == n * dv, "linear_attention: ATTN_OK with non-finite y[%zu] = %g", by, by < n * dv ? y[by] : 0.0);
        double g = fz_gamma((double)(dim + m + 4));
        for (size_t i = 0; i < n; i++) {
            size_t allowed = causal ? (i + 1 < m ? i + 1 : m) : m;
            double *a = fz_alloc(m * sizeof *a), *mag = fz_alloc(m * sizeof *mag), D = 0, Dmag = 0;
            for (size_t j = 0; j < m; j++) {
                a[j] = mag[j] = 0;
                for (size_t f = 0; f < dim; f++) {
                    a[j] += (double)phq[i * dim + f] * phk[j * dim + f];
                    mag[j] += fabs((double)phq[i * dim + f] * phk[j * dim + f]);
                }
                if (j < allowed) D += a[j], Dmag += mag[j];
            }
            /* Underflow: a float32 product whose result is below 2^-126 is
             * rounded to a multiple of 2^-149, losing up to 2^-150 absolutely
             * whatever its relative size (sums lose nothing there: gradual
             * underflow makes them exact). Each a_ij and each term of D is a
             * dot of length dim; Y's causal blocks multiply such a's by V:
             * (m + 2)(dim + 2) 2^-149 bounds all those (with V's magnitude
             * below). Y's state S = phi(K)^T V (linear.c) is a float32 sum of
             * m products phk_jf v_jc, each of which can underflow, so S_fc
             * carries up to m 2^-150 absolutely, and phi(q_i) S carries
             * m 2^-150 sum_f |phq_if|: an error multiplied by phi(q), which
             * the division by D + eps does not undo when phi(K) is small
             * (phk 2^-100, v 1e-38, phq 1e30 give S = 0 and Y = 0 for an
             * exact Y = v). under_s is that term, doubled for the relative
             * roundings that follow it (gamma(dim) < 1). */
            double under = ldexp((double)((m + 2) * (dim + 2)), -149), qnorm = 0;
            for (size_t f = 0; f < dim; f++) qnorm += fabs((double)phq[i * dim + f]);
            double under_s = ldexp((double)m * qnorm, -149);
            double den = D + eps, eden = g * Dmag + 2 * FZ_U * fabs(den) + under;
            int resolved = isfinite(den) && den != 0 && eden < fabs(den) / 2 && isfinite(Dmag);
            double wsum = 0;
            for (size_t j = 0; sw == ATTN_OK && j < m; j++) {
                double got = w[i * m + j], want = j < allowed ? a[j] / den : 0;
                wsum += got;
                if (j >= allowed) {
                    FZ_ORACLE(got == 0, "kernel_weights: w[%zu, %zu] = %g past the causal limit", i, j, got);
                    continue;
                }
                if (fs.positive) FZ_ORACLE(got >= 0, "kernel_weights: w[%zu, %zu] = %g < 0 for a positive map", i, j, got);
                if (!resolved) continue;
                double tol = FZ_SAFETY * ((g * mag[j] + under + fabs(want) * eden) / (fabs(den) - eden) + 2 * FZ_U * fabs(want)) + FZ_TINY;
                FZ_ORACLE(fz_close(got, want, tol), "kernel_weights: w[%zu, %zu] = %.9g, float64 %.9g, tolerance %.3g", i, j,
                          got, want, tol);
            }
            if (sw == ATTN_OK && fs.positive)
                FZ_ORACLE(wsum <= 1 + FZ_SAFETY * fz_gamma((double)m + dim + 4), "kernel_weights: row %zu sums to %.9g > 1", i, wsum);
            for (size_t c = 0; sy == ATTN_OK && !bad_v && c < dv; c++) {
                double num = 0, nmag = 0, vmax = 0;
                for (size_t j = 0; j < allowed; j++) {
                    num += a[j] * v[j * dv + c];
                    nmag += mag[j] * fabs(v[j * dv + c]);
                    vmax = fmax(vmax, fabs(v[j * dv + c]));
                }
                double got = y[i * dv + c], want = num / den;
                /* convex combination, up to rounding and the underflow terms
                 * above: those are absolute, so the division by D + eps (not
                 * by the float sum of the same rounded products, as in W)
                 * scales them up (phi(q) = 1e-38: phq S rounds to a multiple
                 * of 2^-149 near 1e-42, then divided by D ~ 1e-39). */
                double slack = resolved ? FZ_SAFETY * (under * (1 + vmax) + under_s) / (fabs(den) - eden) : INFINITY;
                if (fs.positive && D >= 0 && eps >= 0)
                    FZ_ORACLE(fabs(got) <= vmax * (1 + FZ_SAFETY * fz_gamma((double)m + dim + 4)) + FZ_TINY + slack,
                              "linear_attention: |y[%zu, %zu]| = %.9g beyond max |v| = %.9g (weights >= 0 summing to <= 1)",
                              i, c, got, vmax);
                if (!resolved || !isfinite(want) || !isfinite(nmag)) continue;
                double tol = FZ_SAFETY * ((g * nmag + under * (1 + vmax) + under_s + fabs(want) * eden) / (fabs(den) - eden) + 2 * FZ_U * fabs(want)) + FZ_TINY * vmax;
                tol += ldexp(1.0, -149);  /* a subnormal y: its own rounding to float */
                FZ_ORACLE(fz_close(got, want, tol), "linear_attention: y[%zu, %zu] = %.9g, float64 %.9g (= W V), tolerance %.3g",
                          i, c, got, want, tol);
            }
            free(a);
            free(mag);
        }
        /* causality: a different last key and value change no earlier row */
        int shared_key_constant = fz_is_performer(spec->feature) && spec->stabilize;
        if (causal && m >= 2 && !shared_key_constant) {
            float *k2 = fz_alloc(m * d * sizeof *k2), *v2 = fz_alloc(m * dv * sizeof *v2);
            memcpy(k2, k, m * d * sizeof *k2);
            memcpy(v2, v, m * dv * sizeof *v2);
            for (size_t l = 0; l < d; l++) k2[(m - 1) * d + l] = fz_float(&in, 0);
            for (size_t c = 0; c < dv; c++) v2[(m - 1) * dv + c] = fz_float(&in, 0);
            float *w2 = fz_alloc(n * m * sizeof *w2), *y2 = fz_alloc(n * dv * sizeof *y2);
            attn_status sw2 = attn_kernel_weights(spec, n, m, d, q, k2, causal, eps, w2, work, lw);
            attn_status sy2 = attn_linear_attention(spec, n, m, d, dv, q, k2, v2, causal, eps, y2, work, lw);
            size_t rows = n < m - 1 ? n : m - 1;
            if (sw == ATTN_OK && sw2 == ATTN_OK)
                for (size_t t = 0; t < rows * m; t++)
                    FZ_ORACLE(w[t] == w2[t], "kernel_weights causal: w[%zu, %zu] changes from %.9g to %.9g when only the last key changes",
                              t / m, t % m, w[t], w2[t]);
            if (sy == ATTN_OK && sy2 == ATTN_OK && !bad_v)
                for (size_t t = 0; t < rows * dv; t++)
                    FZ_ORACLE(y[t] == y2[t], "linear_attention causal: y[%zu, %zu] changes from %.9g to %.9g when only the last key and value change",
                              t / dv, t % dv, y[t], y2[t]);
            free(k2);
            free(v2);
            free(w2);
            free(y2);
        }
    }
    free(work);
    free(w);
    free(y);
    free(phq);
    free(phk);
done:
    free(fs.projection);
    free(q);
    free(k);
    free(v);
    return 0;
}
