/*
 * fuzz_spec.h - a feature-map spec from the fuzzer's bytes, shared by
 * fuzz_linear.c and fuzz_fastweight.c, with the status attn.h promises for
 * it (as a set of acceptable codes: when several arguments are bad, the
 * order in which the core checks them is its own).
 */
#ifndef ATTN_FUZZ_SPEC_H
#define ATTN_FUZZ_SPEC_H

#include "fuzz.h"

typedef struct fz_spec {
    attn_feature_spec spec;
    float *projection;  // [m, d] or NULL
    unsigned bad;       /* bit per status code the spec alone must produce */
    int positive;       /* every feature >= 0 (for valid specs) */
} fz_spec;

#define FZ_BIT(st) (1u << (st))

static inline int fz_is_performer(int f) {
    return f == ATTN_FEATURE_FAVOR_POS || f == ATTN_FEATURE_FAVOR_TRIG || f == ATTN_FEATURE_FAVOR_HYP;
}

/* A spec for inputs of width d: any feature (and one past the last), m
 * random features (sometimes 0), a projection (sometimes with a NaN),
 * DPFP's nu from 0 to 2d, kernel_eps from fz_float (negative, huge or
 * non-finite included), stabilize, and normalize (one past the last too). */
static inline fz_spec fz_feature_spec(fz_in *in, size_t d) {
    fz_spec s = {0};
    uint8_t b = fz_u8(in);
    int feature = b % (ATTN_FEATURE_COUNT + 1);
    if (b >= 250) feature = b == 250 ? -1 : 1000;
    size_t m = fz_range(in, 0, 12);
    size_t nu = fz_u8(in) % (2 * d + 1);
    float keps = fz_u8(in) & 1 ? 1e-3f : fz_float(in, 1);
    uint8_t o = fz_u8(in);
    int stabilize = o & 1, normalize = (o >> 1) % 4;
    int bad_proj = 0;
    if (fz_is_performer(feature) && m > 0) s.projection = fz_matrix(in, m, d, 1, &bad_proj);
    attn_feature_spec_set(&s.spec, feature, m, s.projection, nu, keps, stabilize, normalize);
    if (feature < 0 || feature >= ATTN_FEATURE_COUNT) s.bad |= FZ_BIT(ATTN_ERR_KIND);
    if (fz_is_performer(feature) && m == 0) s.bad |= FZ_BIT(ATTN_ERR_RANGE);
    if (feature == ATTN_FEATURE_DPFP && (nu == 0 || nu > 2 * d - 1)) s.bad |= FZ_BIT(ATTN_ERR_RANGE);
    if (feature == ATTN_FEATURE_RELU && !(keps >= 0 && isfinite(keps))) s.bad |= FZ_BIT(ATTN_ERR_RANGE);
    if (normalize > ATTN_NORMALIZE_L2) s.bad |= FZ_BIT(ATTN_ERR_KIND);
    if (bad_proj) s.bad |= FZ_BIT(ATTN_ERR_NONFINITE);
    s.positive = feature == ATTN_FEATURE_ELU1 || feature == ATTN_FEATURE_RELU || feature == ATTN_FEATURE_EFFICIENT ||
                 feature == ATTN_FEATURE_FAVOR_POS || feature == ATTN_FEATURE_FAVOR_HYP ||
                 feature == ATTN_FEATURE_DPFP;
    return s;
}

static inline const char *fz_feature_name(int f) {
    static const char *names[] = {"identity", "elu1", "relu", "taylor", "efficient", "favor_pos", "favor_trig",
                                  "favor_hyp", "dpfp"};
    return f >= 0 && f < ATTN_FEATURE_COUNT ? names[f] : "invalid";
}

/* The status is one of the acceptable codes (bad != 0), or OK (bad == 0). */
#define FZ_EXPECT(what, st, bad)                                                                          \
    FZ_ORACLE((bad) ? ((st) != ATTN_OK && ((bad) & FZ_BIT(st))) : 1, "%s: status %s, expected one of %#x", \
              what, attn_status_code(st), (bad))

#endif /* ATTN_FUZZ_SPEC_H */
