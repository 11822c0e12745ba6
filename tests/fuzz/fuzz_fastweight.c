/*
 * fuzz_fastweight.c - libFuzzer target: fast weight memory (sum, delta,
 * gated delta and an unknown rule) with every feature map, per-step beta
 * and alpha arrays or scalars (in and out of [0, 1], NaN), queries or NULL,
 * states and errors requested or not; and the capacity experiment.
 *
 * Oracle:
 *  - bad arguments give one of the codes attn.h names (an unused beta or
 *    alpha may be refused or ignored);
 *  - on ATTN_OK outputs, final, states and errors are finite;
 *  - the same call without states and errors, and with beta (alpha) given as
 *    an array of the scalar, gives the same outputs and final memory, bit
 *    for bit; states[T - 1] is the final memory;
 *  - every step follows the rule: from states[t - 1] (float), the float64
 *    write of step t matches states[t] within the rounding of that one step
 *    (a local bound, so error growth across steps does not loosen it);
 *    outputs[t] = states[t] phi(q_t) and errors[t, s] = 1/2 |v_s - W_t
 *    phi(k_s)|^2 (0 for s > t) within the rounding of a dot product of
 *    length dim, with phi from attn_feature_map;
 *  - attn_capacity: on ATTN_OK a finite error >= 0.
 */
#include "fuzz_spec.h"

enum { MAX_T = 24, MAX_D = 8, MAX_DV = 6 };

/* beta or alpha: NULL (the scalar) or an array with values in and out of [0, 1]. */
static float *unit_array(fz_in *in, size_t T, float *scalar, int *bad_range, int *bad_nonfinite) {
    uint8_t b = fz_u8(in);
    *bad_range = *bad_nonfinite = 0;
    if (b & 1) {
        *scalar = b & 2 ? (float)fz_u8(in) / 255.0f : fz_float(in, 1);
        *bad_range = !(*scalar >= 0 && *scalar <= 1);
        return NULL;
    }
    *scalar = 0.5f;
    float *x = fz_alloc(T * sizeof *x);
    for (size_t t = 0; t < T; t++) {
        x[t] = b & 2 ? (float)fz_u8(in) / 255.0f : fz_float(in, 1);
        if (!isfinite(x[t])) *bad_nonfinite = 1;
        else if (!(x[t] >= 0 && x[t] <= 1)) *bad_range = 1;
    }
    return x;
}

static int same(const float *a, const float *b, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))) return 0;
    return 1;
}

/* The local check of step t (see the header). w0: states[t - 1] or NULL for 0. */
static void check_step(int rule, size_t t, size_t dv, size_t dim, const float *w0, const float *w1, const float *phi,
                       const float *v, double beta, double alpha) {
    for (size_t r = 0; r < dv; r++) {
        double vbar = 0, evbar = 0;
        for (size_t f = 0; f < dim; f++) {
            double wp = w0 ? (rule == ATTN_RULE_GATED_DELTA ? alpha * w0[r * dim + f] : w0[r * dim + f]) : 0;
            vbar += wp * phi[f];
            evbar += fabs(wp * phi[f]);
        }
        evbar = fz_gamma((double)dim + 2) * evbar;
        double c = rule == ATTN_RULE_SUM ? v[r] : beta * (v[r] - vbar);
        double ec = rule == ATTN_RULE_SUM ? 0 : beta * evbar + 3 * FZ_U * fabs(c);
        /* Underflow: a float32 product below 2^-126 loses up to 2^-150
         * absolutely (sums are exact there). The core's coefficient
         * c = beta (v - vbar) is such a product, and vbar a dot of dim of
         * them (after the gated rule's products alpha w, which reach vbar
         * times |phi|): c carries up to 2^-150 (1 + beta (dim + |phi|_1)),
         * and the write multiplies it by phi_f, which can be large (beta
         * 1/255, v 2^-149, phi 3e30: c = 0 in float32, a write of -1.6e-17
         * in float64). Doubled for the relative roundings that follow. */
        double phisum = 0;
        for (size_t f = 0; rule == ATTN_RULE_GATED_DELTA && f < dim; f++) phisum += fabs(phi[f]);
        if (rule != ATTN_RULE_SUM) ec += ldexp(1 + beta * ((double)dim + phisum), -149);
        for (size_t f = 0; f < dim; f++) {
            double wp = w0 ? (rule == ATTN_RULE_GATED_DELTA ? alpha * w0[r * dim + f] : w0[r * dim + f]) : 0;
            double want = wp + c * phi[f];
            double tol = FZ_SAFETY * (3 * FZ_U * (fabs(wp) + fabs(c * phi[f])) + ec * fabs(phi[f])) + FZ_TINY;
            if (!isfinite(want) || !isfinite(tol)) continue;
            FZ_ORACLE(fz_close(w1[r * dim + f], want, tol),
                      "fast_weights rule %d: step %zu, W[%zu, %zu] = %.9g, float64 write from W_{t-1} %.9g, tolerance %.3g",
                      rule, t, r, f, w1[r * dim + f], want, tol);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = fz_start(data, size);
    fz_kernels(&in);
    uint8_t flags = fz_u8(&in);
    size_t T = fz_range(&in, 1, MAX_T), d = fz_range(&in, 1, MAX_D), dv = fz_range(&in, 1, MAX_DV);
    int rule = (int)(fz_u8(&in) % 4), nonfinite_ok = flags & 1;
    fz_spec fs = fz_feature_spec(&in, d);
    if (fz_tame == 1 && fz_is_performer(fs.spec.feature)) fs.spec.stabilize = 1;  /* the plain estimator overflows */
    if (fz_tame == 1 && rule != ATTN_RULE_SUM && fs.spec.normalize <= ATTN_NORMALIZE_L2)
        fs.spec.normalize = ATTN_NORMALIZE_L2;  /* beta |phi|^2 > 2 diverges */
    const attn_feature_spec *spec = &fs.spec;
    int bad_k, bad_v, bad_q = 0;
    float *keys = fz_matrix(&in, T, d, nonfinite_ok, &bad_k);
    float *values = fz_matrix(&in, T, dv, nonfinite_ok, &bad_v);
    float *queries = flags & 2 ? fz_matrix(&in, T, d, nonfinite_ok, &bad_q) : NULL;
    float beta_s, alpha_s;
    int beta_range, beta_nf, alpha_range, alpha_nf;
    float *beta = unit_array(&in, T, &beta_s, &beta_range, &beta_nf);
    float *alpha = unit_array(&in, T, &alpha_s, &alpha_range, &alpha_nf);
    FZ_CTX("fast_weights rule=%d feature=%s(%d) m=%zu nu=%zu kernel_eps=%g stabilize=%d normalize=%d T=%zu d=%zu "
           "dv=%zu queries=%d beta=%s %g alpha=%s %g keys[0]=%g values[0]=%g kernels=%s",
           rule, fz_feature_name(spec->feature), spec->feature, spec->m, spec->nu, spec->kernel_eps, spec->stabilize,
           spec->normalize, T, d, dv, queries != NULL, beta ? "array" : "scalar", beta ? beta[0] : beta_s,
           alpha ? "array" : "scalar", alpha ? alpha[0] : alpha_s, keys[0], values[0],
           attn_kernels_in_use() ? "simd" : "scalar");

    unsigned bad = fs.bad | (rule > ATTN_RULE_GATED_DELTA ? FZ_BIT(ATTN_ERR_KIND) : 0) |
                   (bad_k || bad_v || bad_q ? FZ_BIT(ATTN_ERR_NONFINITE) : 0);
    /* attn.h: the efficient key map reads every position, always refused here */
    if (spec->feature == ATTN_FEATURE_EFFICIENT) bad |= FZ_BIT(ATTN_ERR_RANGE);
    unsigned soft = 0;  /* an unused beta or alpha */
    unsigned beta_bits = (beta_range ? FZ_BIT(ATTN_ERR_RANGE) : 0) | (beta_nf ? FZ_BIT(ATTN_ERR_NONFINITE) : 0);
    unsigned alpha_bits = (alpha_range ? FZ_BIT(ATTN_ERR_RANGE) : 0) | (alpha_nf ? FZ_BIT(ATTN_ERR_NONFINITE) : 0);
    if (rule == ATTN_RULE_SUM) soft |= beta_bits; else bad |= beta_bits;
    if (rule == ATTN_RULE_GATED_DELTA) bad |= alpha_bits; else soft |= alpha_bits;

    size_t dim = 0, need = 0;
    attn_status st = attn_fast_weights_workspace(spec, T, d, dv, &need);
    FZ_STATUS(st);
    if (st != ATTN_OK || attn_feature_dim(spec, d, &dim) != ATTN_OK) {
        FZ_ORACLE(fs.bad & FZ_BIT(st), "fast_weights_workspace: %s for a valid spec", attn_status_code(st));
        goto capacity;
    }
    {
        int want_states = flags & 4, want_errors = flags & 8;
        float *work = fz_alloc(need * sizeof *work), *out = fz_alloc(T * dv * sizeof *out);
        float *fin = fz_alloc(dv * dim * sizeof *fin);
        float *states = want_states ? fz_alloc(T * dv * dim * sizeof *states) : NULL;
        float *errors = want_errors ? fz_alloc(T * T * sizeof *errors) : NULL;
        st = attn_fast_weights(spec, rule, T, d, dv, keys, values, queries, beta, beta_s, alpha, alpha_s, out, fin,
                               states, errors, work, need);
        FZ_STATUS(st);
        if (bad) FZ_EXPECT("fast_weights", st, bad | soft);
        else if (soft && st != ATTN_OK) FZ_EXPECT("fast_weights", st, soft);
        if (st == ATTN_OK && !bad) {
            size_t b;
            FZ_ORACLE((b = fz_first_nonfinite(out, T * dv)) == T * dv, "fast_weights: ATTN_OK with non-finite outputs[%zu] = %g", b, b < T * dv ? out[b] : 0.0);
            FZ_ORACLE((b = fz_first_nonfinite(fin, dv * dim)) == dv * dim, "fast_weights: ATTN_OK with non-finite final[%zu]", b);
            if (states) FZ_ORACLE((b = fz_first_nonfinite(states, T * dv * dim)) == T * dv * dim, "fast_weights: ATTN_OK with non-finite states[%zu]", b);
            if (errors) FZ_ORACLE((b = fz_first_nonfinite(errors, T * T)) == T * T, "fast_weights: ATTN_OK with non-finite errors[%zu]", b);
            if (states) FZ_ORACLE(same(states + (T - 1) * dv * dim, fin, dv * dim), "fast_weights: states[T - 1] differs from final");

            /* the same call without the optional outputs, and with the scalars as arrays */
            float *out2 = fz_alloc(T * dv * sizeof *out2), *fin2 = fz_alloc(dv * dim * sizeof *fin2);
            float *ba = fz_alloc(T * sizeof *ba), *aa = fz_alloc(T * sizeof *aa);
            for (size_t t = 0; t < T; t++) ba[t] = beta ? beta[t] : beta_s, aa[t] = alpha ? alpha[t] : alpha_s;
            attn_status s2 = attn_fast_weights(spec, rule, T, d, dv, keys, values, queries, ba, 0.25f, aa, 0.75f, out2,
                                               fin2, NULL, NULL, work, need);
            FZ_ORACLE(s2 == ATTN_OK && same(out, out2, T * dv) && same(fin, fin2, dv * dim),
                      "fast_weights: %s or different results without states and errors, beta and alpha as arrays",
                      attn_status_code(s2));
            free(out2);
            free(fin2);
            free(ba);
            free(aa);

            if (states && fz_all_finite(states, T * dv * dim)) {
                float *fw = NULL, *phk = fz_alloc(T * dim * sizeof *phk), *phq = fz_alloc(T * dim * sizeof *phq);
                size_t fwork = 0;
                attn_feature_map_workspace(spec, d, &fwork);
                fw = fz_alloc(fwork * sizeof *fw);
                attn_status sk = attn_feature_map(spec, ATTN_ROLE_KEY, T, d, keys, phk, fw, fwork);
                attn_status sq = attn_feature_map(spec, ATTN_ROLE_QUERY, T, d, queries ? queries : keys, phq, fw, fwork);
                FZ_ORACLE(sk == ATTN_OK && sq == ATTN_OK, "feature_map fails (%s, %s) where fast_weights succeeded",
                          attn_status_code(sk), attn_status_code(sq));
                for (size_t t = 0; sk == ATTN_OK && sq == ATTN_OK && t < T; t++) {
                    const float *w1 = states + t * dv * dim, *w0 = t ? states + (t - 1) * dv * dim : NULL;
                    check_step(rule, t, dv, dim, w0, w1, phk + t * dim, values + t * dv, beta ? beta[t] : beta_s,
                               alpha ? alpha[t] : alpha_s);
                    for (size_t r = 0; r < dv; r++) {
                        double want = 0, mag = 0;
                        for (size_t f = 0; f < dim; f++) {
                            want += (double)w1[r * dim + f] * phq[t * dim + f];
                            mag += fabs((double)w1[r * dim + f] * phq[t * dim + f]);
                        }
                        double tol = FZ_SAFETY * fz_gamma((double)dim + 1) * mag + FZ_TINY;
                        if (isfinite(want) && isfinite(tol))
                            FZ_ORACLE(fz_close(out[t * dv + r], want, tol), "fast_weights: outputs[%zu, %zu] = %.9g, W_t phi(q_t) = %.9g",
                                      t, r, out[t * dv + r], want);
                    }
                    for (size_t s = 0; errors && s < T; s++) {
                        double e = 0, ee = 0;
                        for (size_t r = 0; r < dv; r++) {
                            double rr = 0, rm = 0;
                            for (size_t f = 0; f < dim; f++) {
                                rr += (double)w1[r * dim + f] * phk[s * dim + f];
                                rm += fabs((double)w1[r * dim + f] * phk[s * dim + f]);
                            }
                            double diff = values[s * dv + r] - rr, rho = fz_gamma((double)dim + 1) * rm + 2 * FZ_U * fabs(diff);
                            e += diff * diff;
                            ee += 2 * fabs(diff) * rho + rho * rho;
                        }
                        double got = errors[t * T + s];
                        if (s > t) {
                            FZ_ORACLE(got == 0, "fast_weights: errors[%zu, %zu] = %g for s > t", t, s, got);
                            continue;
                        }
                        double want = 0.5 * e, tol = FZ_SAFETY * (0.5 * ee + fz_gamma((double)dv + 2) * want) + FZ_TINY;
                        if (isfinite(want) && isfinite(tol))
                            FZ_ORACLE(fz_close(got, want, tol), "fast_weights: errors[%zu, %zu] = %.9g, float64 %.9g, tolerance %.3g", t, s,
                                      got, want, tol);
                    }
                }
                free(fw);
                free(phk);
                free(phq);
            }
        }
        free(work);
        free(out);
        free(fin);
        free(states);
        free(errors);
    }
capacity:
    if (flags & 0x10) {
        size_t S = fz_range(&in, 0, 12), trials = fz_range(&in, 0, 2);
        float cb = fz_u8(&in) & 1 ? (float)fz_u8(&in) / 255.0f : fz_float(&in, 1);
        uint64_t seed = fz_u64(&in);
        unsigned cbad = fs.bad & ~FZ_BIT(ATTN_ERR_NONFINITE);  /* the projection's NaN: see below */
        if (fs.bad & FZ_BIT(ATTN_ERR_NONFINITE)) cbad |= FZ_BIT(ATTN_ERR_NONFINITE);
        if (S == 0 || trials == 0) cbad |= FZ_BIT(ATTN_ERR_SHAPE);
        if (rule > ATTN_RULE_GATED_DELTA) cbad |= FZ_BIT(ATTN_ERR_KIND);
        if (spec->feature == ATTN_FEATURE_EFFICIENT) cbad |= FZ_BIT(ATTN_ERR_RANGE);
        unsigned cbeta = !(cb >= 0 && cb <= 1) ? FZ_BIT(ATTN_ERR_RANGE) | FZ_BIT(ATTN_ERR_NONFINITE) : 0;
        if (rule != ATTN_RULE_SUM) cbad |= cbeta;  /* the sum rule has no beta: refused or ignored */
        size_t cneed = 0;
        attn_status sc = attn_capacity_workspace(spec, d, S, &cneed);
        if (sc == ATTN_OK) {
            float *work = fz_alloc(cneed * sizeof *work);
            double err = -1;
            sc = attn_capacity(spec, rule, d, S, cb, trials, seed, &err, work, cneed);
            FZ_STATUS(sc);
            FZ_CTX("capacity rule=%d feature=%s(%d) m=%zu nu=%zu kernel_eps=%g stabilize=%d normalize=%d dkey=%zu size=%zu beta=%g trials=%zu",
                   rule, fz_feature_name(spec->feature), spec->feature, spec->m, spec->nu, spec->kernel_eps,
                   spec->stabilize, spec->normalize, d, S, cb, trials);
            if (cbad) FZ_EXPECT("capacity", sc, cbad | cbeta);
            else if (cbeta && sc != ATTN_OK) FZ_EXPECT("capacity", sc, cbeta);
            if (sc == ATTN_OK) FZ_ORACLE(isfinite(err) && err >= 0, "capacity: ATTN_OK with error %g", err);
            free(work);
        }
    }
    free(fs.projection);
    free(keys);
    free(values);
    free(queries);
    free(beta);
    free(alpha);
    return 0;
}
