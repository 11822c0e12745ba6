/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share: a reader that
 * turns the fuzzer's bytes into sizes, options and float matrices (with
 * huge, tiny, negative and, where asked, non-finite values), exactly sized
 * heap buffers (so AddressSanitizer sees every byte past an end), and the
 * oracle.
 *
 * Oracle mode (on unless the environment has ATTN_FUZZ_ORACLE=0, or the
 * target is built with -DATTN_FUZZ_ORACLE=0): FZ_ORACLE(cond, ...) aborts
 * with a message when cond is false. The oracle fails when a call returns
 * ATTN_OK with a non-finite output, when a non-finite input is not refused
 * with ATTN_ERR_NONFINITE, or when equivalent paths disagree (in status, or
 * in value beyond a tolerance derived from a float64 error bound). With the
 * oracle off, only the sanitizers and FZ_ALWAYS (memory-safety contracts:
 * status codes in range) can fail, so a run keeps looking for memory errors
 * past the known numeric ones.
 *
 * Error bounds: u = 2^-24 is float32's unit roundoff and gamma(k) = k u /
 * (1 - k u) bounds the relative error of a k-term float32 sum of products
 * (Higham, Accuracy and Stability of Numerical Algorithms, 3.1). Each check
 * compares the core's float32 result with a float64 evaluation of the
 * definition, with a tolerance of FZ_SAFETY times that bound plus an absolute
 * floor for underflow; when the bound is infinite (the inputs are so large
 * that float32 cannot resolve the answer) only finiteness and the
 * structural properties (rows summing to 1, convex combinations) are checked.
 */
#ifndef ATTN_FUZZ_H
#define ATTN_FUZZ_H

#include "attn.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ATTN_FUZZ_ORACLE
#define ATTN_FUZZ_ORACLE 1
#endif

#define FZ_U (1.0 / 16777216.0)  /* float32 unit roundoff 2^-24 */
#define FZ_SAFETY 4.0            /* tolerance = FZ_SAFETY x the float64 bound */
#define FZ_TINY 1e-37            /* absolute floor: a few float32 normal minima */

static int fz_oracle = ATTN_FUZZ_ORACLE;
/* ATTN_FUZZ_TAME=1 keeps generated floats within +-1e4 and away from
 * underflow (and targets skip a few other inputs of issue 12's known
 * failures; 2: only the floats), to look for other failures while those
 * are open. Never set by run.sh. */
static int fz_tame = 0;
static int fz_verbose = 0;  /* ATTN_FUZZ_VERBOSE=1: print every input's description */
static char fz_ctx[768];  /* the call being checked, printed with a failure */

/* Describe the current input (sizes, options) for the failure message. */
#define FZ_CTX(...)                                                      \
    do {                                                                \
        snprintf(fz_ctx, sizeof fz_ctx, __VA_ARGS__);                   \
        if (fz_verbose) fprintf(stderr, "==attnlab-fuzz== input: %s\n", fz_ctx); \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *e = getenv("ATTN_FUZZ_ORACLE");
    if (e) fz_oracle = atoi(e) != 0;
    e = getenv("ATTN_FUZZ_VERBOSE");
    if (e) fz_verbose = atoi(e) != 0;
    e = getenv("ATTN_FUZZ_TAME");
    if (e) fz_tame = atoi(e);
    return 0;
}

static void fz_fail(const char *kind, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "\n==attnlab-fuzz== %s FAILURE at %s:%d: ", kind, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n==attnlab-fuzz== input: %s\n", fz_ctx);
    abort();
}

/* Always checked (contracts whose failure would corrupt a caller). */
#define FZ_ALWAYS(cond, ...) \
    do { if (!(cond)) fz_fail("CONTRACT", __FILE__, __LINE__, __VA_ARGS__); } while (0)
/* Checked in oracle mode. */
#define FZ_ORACLE(cond, ...) \
    do { if (fz_oracle && !(cond)) fz_fail("ORACLE", __FILE__, __LINE__, __VA_ARGS__); } while (0)

static inline double fz_gamma(double k) { return k * FZ_U / (1.0 - k * FZ_U); }

/* A status code is one of the list. */
#define FZ_STATUS(st) FZ_ALWAYS((int)(st) >= 0 && (int)(st) < ATTN_STATUS_COUNT, "status %d out of range", (int)(st))

/* ------------------------------------------------------------------ reader */

typedef struct fz_in {
    const uint8_t *p;
    size_t left;
    uint64_t lcg;  /* fills matrices cheaply once a fill is chosen by the bytes */
} fz_in;

static inline fz_in fz_start(const uint8_t *data, size_t size) {
    fz_in in = {data, size, 0x853c49e6748fea9bull};
    return in;
}

/* Next byte, 0 when the input is exhausted. */
static inline uint8_t fz_u8(fz_in *in) {
    if (!in->left) return 0;
    in->left--;
    return *in->p++;
}
static inline uint32_t fz_u32(fz_in *in) {
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x = x << 8 | fz_u8(in);
    return x;
}
static inline uint64_t fz_u64(fz_in *in) { return (uint64_t)fz_u32(in) << 32 | fz_u32(in); }
/* An integer in [lo, hi]. */
static inline size_t fz_range(fz_in *in, size_t lo, size_t hi) {
    return lo + (hi > lo ? fz_u8(in) % (hi - lo + 1) : 0);
}

/* A float from the bytes: mostly ordinary values, often an extreme one
 * (huge, tiny, subnormal, zero of either sign, just below overflow), a raw
 * bit pattern, and non-finite values only when allowed (else the largest
 * finite float). */
static float fz_float_raw(fz_in *in, int allow_nonfinite);
static float fz_float(fz_in *in, int allow_nonfinite) {
    float x = fz_float_raw(in, allow_nonfinite);
    if (fz_tame && isfinite(x) && fabsf(x) > 1e4f) x = x > 0 ? 1e4f : -1e4f;
    if (fz_tame && fabsf(x) < 1e-30f) x = 0;
    return x;
}
static float fz_float_raw(fz_in *in, int allow_nonfinite) {
    uint8_t b = fz_u8(in);
    float sign = b & 0x80 ? -1.0f : 1.0f;
    switch (b & 15) {
    case 0: case 1: case 2: case 3: case 4:
        return sign * (float)fz_u8(in) / 32.0f;           /* [0, 8) in steps of 1/32 */
    case 5: return sign * (float)(fz_u8(in) + 1) * 4.0f;  /* logits up to ~1000 */
    case 6: return sign * 0.0f;
    case 7: return sign * 1.0f;
    case 8: return sign * 1e-38f;                          /* tiny normal */
    case 9: return sign * 1e-45f;                          /* smallest subnormal */
    case 10: return sign * 1e20f;
    case 11: return sign * FLT_MAX;
    case 12: return sign * 1e30f;
    case 13: return sign * ldexpf(1.0f, (int)(fz_u8(in) % 254) - 126);  /* any power of two */
    case 14: {
        uint32_t bits = fz_u32(in);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!allow_nonfinite && !isfinite(f)) f = sign * 3e38f;
        return f;
    }
    default:
        if (!allow_nonfinite) return sign * 3e38f;
        return b & 0x40 ? NAN : sign * INFINITY;
    }
}

/* A uniform value in [-1, 1) from the input's LCG. */
static inline float fz_lcg(fz_in *in) {
    in->lcg = in->lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(in->lcg >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void *fz_alloc(size_t bytes) {  /* exact size, never NULL */
    void *p = malloc(bytes ? bytes : 1);
    FZ_ALWAYS(p != NULL, "out of memory");
    return p;
}

/* A [rows, cols] matrix: a fill (LCG uniform times an amplitude, a constant,
 * or small integers) chosen by the bytes, then up to 7 entries overwritten
 * with values from fz_float, then, if allow_nonfinite and the bytes say so,
 * one NaN or infinity. *nonfinite (if given) is set when one was placed. */
static float *fz_matrix(fz_in *in, size_t rows, size_t cols, int allow_nonfinite, int *nonfinite) {
    size_t count = rows * cols;
    float *x = fz_alloc(count * sizeof *x);
    uint8_t mode = fz_u8(in);
    float amp = fz_float(in, 0);
    if ((mode & 3) == 0) amp = 1.0f;
    in->lcg ^= fz_u32(in);
    for (size_t i = 0; i < count; i++) {
        switch (mode >> 2 & 3) {
        case 0: case 1: x[i] = amp * fz_lcg(in); break;
        case 2: x[i] = amp; break;
        default: x[i] = (float)(int)(4.0f * fz_lcg(in)); break;
        }
    }
    size_t overrides = fz_u8(in) % 8;
    for (size_t t = 0; t < overrides && count; t++) {
        size_t at = (size_t)fz_u32(in) % count;
        x[at] = fz_float(in, 0);
    }
    if (nonfinite) *nonfinite = 0;
    if (allow_nonfinite && (mode & 0x80) && count) {
        size_t at = (size_t)fz_u32(in) % count;
        x[at] = mode & 0x40 ? NAN : (mode & 0x20 ? INFINITY : -INFINITY);
        if (nonfinite) *nonfinite = 1;
    }
    return x;
}

/* ---------------------------------------------------------------- helpers */

static inline int fz_all_finite(const float *x, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* The first index of a non-finite entry, or count. */
static inline size_t fz_first_nonfinite(const float *x, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i])) return i;
    return count;
}

/* Kernel table for this input: SIMD or scalar, from one bit. */
static inline void fz_kernels(fz_in *in) {
    attn_use_kernels(fz_u8(in) & 1 ? ATTN_KERNELS_SCALAR : ATTN_KERNELS_SIMD);
}

/* |got - ref| <= tol, where tol may be +inf (vacuous) and got must be finite. */
static inline int fz_close(double got, double ref, double tol) {
    if (!isfinite(got)) return 0;
    if (isinf(tol) || isnan(tol)) return 1;
    return fabs(got - ref) <= tol;
}

#endif /* ATTN_FUZZ_H */
