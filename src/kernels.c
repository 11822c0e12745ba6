/*
 * kernels.c - the inner loops, twice: a scalar reference and a SIMD version.
 *
 * The SIMD table is written with GCC/Clang vector extensions on 4 x float32
 * (128 bits), so the same source compiles to wasm simd128 under Emscripten
 * (-msimd128) and to SSE natively, where the tests run it under
 * AddressSanitizer. Each SIMD function is a main vector loop plus a scalar
 * tail (ggml's shape), so any length is valid.
 */
#include "internal.h"

#include <math.h>

/* ---------------------------------------------------------------- scalar */

/* The scalar table is the reference the SIMD table is compared with, and the
 * baseline it is timed against: keep clang from vectorising its loops. */
#if defined(__clang__)
#define SCALAR_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#else
#define SCALAR_LOOP
#endif

static void gemm_scalar(size_t m, size_t n, size_t k, float alpha,
                        const float *a, size_t lda,  // [m, k]
                        const float *b, size_t ldb,  // [k, n]
                        float *c, size_t ldc,        // [m, n]
                        int accumulate) {
    for (size_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        if (!accumulate) memset(ci, 0, n * sizeof *ci);
        for (size_t l = 0; l < k; l++) {
            float ail = alpha * a[i * lda + l];
            const float *bl = b + l * ldb;
            SCALAR_LOOP for (size_t j = 0; j < n; j++) ci[j] += ail * bl[j];
        }
    }
}

static float max_scalar(const float *x, size_t n) {  // [n]
    float best = -INFINITY;
    SCALAR_LOOP for (size_t i = 0; i < n; i++) best = x[i] > best ? x[i] : best;
    return best;
}

static float exp_shift_sum_scalar(float *x, size_t n, float shift) {  // [n]
    float sum = 0.0f;
    SCALAR_LOOP for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - shift);
        sum += x[i];
    }
    return sum;
}

static void scale_scalar(float *x, size_t n, float a) {  // [n]
    SCALAR_LOOP for (size_t i = 0; i < n; i++) x[i] *= a;
}

static float dot_scalar(const float *a, const float *b, size_t n) {  // [n], [n]
    float s = 0.0f;
    SCALAR_LOOP for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy_scalar(size_t n, float a, const float *x, float *y) {  // [n], [n]
    SCALAR_LOOP for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

const attn__kernels attn__kernels_scalar = {
    "scalar", gemm_scalar, max_scalar, exp_shift_sum_scalar, scale_scalar, dot_scalar, axpy_scalar,
};

/* ------------------------------------------------------------------ SIMD */
#if ATTN__HAVE_SIMD

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* Unaligned loads and stores (one v128.load / movups each). */
static inline v4f v4f_load(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void v4f_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f v4f_splat(float x) { return (v4f){x, x, x, x}; }
static inline v4f v4f_max(v4f a, v4f b) {
    v4i gt = a > b;
    return (v4f)((gt & (v4i)a) | (~gt & (v4i)b));
}
static inline float v4f_hmax(v4f v) {
    float a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
    return a > b ? a : b;
}
static inline float v4f_hsum(v4f v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/*
 * exp(x) for x <= 88, after Cephes expf (S. L. Moshier): x = k ln2 + r with
 * |r| <= ln2/2 and ln2 split in two parts, exp(r) by a degree-7 polynomial,
 * 2^k put into the exponent bits. Measured maximum relative error against a
 * float64 exp: 1.8e-7 (about 2 ulp) on [-87.3, 0]. Below -87.33 (where exp
 * would be denormal) the result is exactly 0, which also makes
 * exp(-INFINITY) = 0 as masked logits need.
 */
static inline v4f v4f_exp(v4f x) {
    const v4f lo = v4f_splat(-87.3365478515625f), hi = v4f_splat(88.0f);
    v4i underflow = x < lo;
    x = v4f_max(lo, x);
    v4i over = x > hi;
    x = (v4f)((over & (v4i)hi) | (~over & (v4i)x));
    /* k = round(x / ln2): adding 1.5 * 2^23 rounds to the nearest integer. */
    const v4f magic = v4f_splat(12582912.0f);
    v4f kf = (x * v4f_splat(1.44269504088896341f) + magic) - magic;
    v4f r = x - kf * v4f_splat(0.693359375f) - kf * v4f_splat(-2.12194440e-4f);
    v4f p = v4f_splat(1.9875691500e-4f);
    p = p * r + v4f_splat(1.3981999507e-3f);
    p = p * r + v4f_splat(8.3334519073e-3f);
    p = p * r + v4f_splat(4.1665795894e-2f);
    p = p * r + v4f_splat(1.6666665459e-1f);
    p = p * r + v4f_splat(5.0000001201e-1f);
    p = p * r * r + r + v4f_splat(1.0f);
    v4i k = __builtin_convertvector(kf, v4i);
    v4f pow2k = (v4f)((k + 127) << 23);
    return (v4f)((v4i)(p * pow2k) & ~underflow);
}

/* The register block of gemm: C[4, 8] from A[4, k] and B[k, 8] in 8 vector
 * accumulators (8 more registers hold B and the broadcast A values). */
static void gemm_4x8(size_t k, float alpha,
                     const float *a, size_t lda,  // [4, k]
                     const float *b, size_t ldb,  // [k, 8]
                     float *c, size_t ldc,        // [4, 8]
                     int accumulate) {
    v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0};
    v4f c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    for (size_t l = 0; l < k; l++) {
        const float *bl = b + l * ldb;
        v4f b0 = v4f_load(bl), b1 = v4f_load(bl + 4);
        v4f x0 = v4f_splat(a0[l]), x1 = v4f_splat(a1[l]);
        v4f x2 = v4f_splat(a2[l]), x3 = v4f_splat(a3[l]);
        c00 += x0 * b0; c01 += x0 * b1;
        c10 += x1 * b0; c11 += x1 * b1;
        c20 += x2 * b0; c21 += x2 * b1;
        c30 += x3 * b0; c31 += x3 * b1;
    }
    v4f acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
    v4f va = v4f_splat(alpha);
    for (int r = 0; r < 4; r++) {
        float *cr = c + (size_t)r * ldc;
        for (int h = 0; h < 2; h++) {
            v4f val = va * acc[r][h];
            if (accumulate) val += v4f_load(cr + 4 * h);
            v4f_store(cr + 4 * h, val);
        }
    }
}

/* Edge blocks (fewer than 4 rows or 8 columns): one row at a time, vector
 * loop over columns plus a scalar tail. */
static void gemm_edge(size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda,  // [m, k]
                      const float *b, size_t ldb,  // [k, n]
                      float *c, size_t ldc,        // [m, n]
                      int accumulate) {
    for (size_t i = 0; i < m; i++) {
        const float *ai = a + i * lda;
        float *ci = c + i * ldc;
        size_t j = 0;
        for (; j + 4 <= n; j += 4) {
            v4f acc = {0};
            for (size_t l = 0; l < k; l++) acc += v4f_splat(ai[l]) * v4f_load(b + l * ldb + j);
            acc *= v4f_splat(alpha);
            if (accumulate) acc += v4f_load(ci + j);
            v4f_store(ci + j, acc);
        }
        for (; j < n; j++) {
            float acc = 0.0f;
            for (size_t l = 0; l < k; l++) acc += ai[l] * b[l * ldb + j];
            ci[j] = alpha * acc + (accumulate ? ci[j] : 0.0f);
        }
    }
}

static void gemm_simd(size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda,  // [m, k]
                      const float *b, size_t ldb,  // [k, n]
                      float *c, size_t ldc,        // [m, n]
                      int accumulate) {
    size_t m4 = m - m % 4, n8 = n - n % 8;
    for (size_t i = 0; i < m4; i += 4) {
        for (size_t j = 0; j < n8; j += 8)
            gemm_4x8(k, alpha, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, accumulate);
        if (n8 < n)
            gemm_edge(4, n - n8, k, alpha, a + i * lda, lda, b + n8, ldb, c + i * ldc + n8, ldc,
                      accumulate);
    }
    if (m4 < m) gemm_edge(m - m4, n, k, alpha, a + m4 * lda, lda, b, ldb, c + m4 * ldc, ldc, accumulate);
}

static float max_simd(const float *x, size_t n) {  // [n]
    v4f best = v4f_splat(-INFINITY);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) best = v4f_max(best, v4f_load(x + i));
    float m = v4f_hmax(best);
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static float exp_shift_sum_simd(float *x, size_t n, float shift) {  // [n]
    v4f vs = v4f_splat(shift), acc = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4f e = v4f_exp(v4f_load(x + i) - vs);
        v4f_store(x + i, e);
        acc += e;
    }
    float sum = v4f_hsum(acc);
    if (i < n) {  /* the tail goes through the same exp, padded with -inf */
        float tail[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        memcpy(tail, x + i, (n - i) * sizeof *x);
        v4f e = v4f_exp(v4f_load(tail) - vs);
        v4f_store(tail, e);
        memcpy(x + i, tail, (n - i) * sizeof *x);
        sum += v4f_hsum(e);
    }
    return sum;
}

static void scale_simd(float *x, size_t n, float a) {  // [n]
    v4f va = v4f_splat(a);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) v4f_store(x + i, v4f_load(x + i) * va);
    for (; i < n; i++) x[i] *= a;
}

static float dot_simd(const float *a, const float *b, size_t n) {  // [n], [n]
    v4f acc0 = {0}, acc1 = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc0 += v4f_load(a + i) * v4f_load(b + i);
        acc1 += v4f_load(a + i + 4) * v4f_load(b + i + 4);
    }
    for (; i + 4 <= n; i += 4) acc0 += v4f_load(a + i) * v4f_load(b + i);
    float s = v4f_hsum(acc0 + acc1);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy_simd(size_t n, float a, const float *x, float *y) {  // [n], [n]
    v4f va = v4f_splat(a);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) v4f_store(y + i, v4f_load(y + i) + va * v4f_load(x + i));
    for (; i < n; i++) y[i] += a * x[i];
}

const attn__kernels attn__kernels_simd = {
    "simd", gemm_simd, max_simd, exp_shift_sum_simd, scale_simd, dot_simd, axpy_simd,
};

#endif /* ATTN__HAVE_SIMD */

/* --------------------------------------------------------------- the table */

#if ATTN__HAVE_SIMD
static const attn__kernels *kernels_in_use = &attn__kernels_simd;
#else
static const attn__kernels *kernels_in_use = &attn__kernels_scalar;
#endif

const attn__kernels *attn__kernels_get(void) { return kernels_in_use; }

int attn_simd_available(void) { return ATTN__HAVE_SIMD; }

attn_status attn_use_kernels(int id) {
    switch (id) {
    case ATTN_KERNELS_SCALAR: kernels_in_use = &attn__kernels_scalar; return ATTN_OK;
#if ATTN__HAVE_SIMD
    case ATTN_KERNELS_SIMD: kernels_in_use = &attn__kernels_simd; return ATTN_OK;
#endif
    default: return ATTN_ERR_KIND;
    }
}

int attn_kernels_in_use(void) {
    return kernels_in_use == &attn__kernels_scalar ? ATTN_KERNELS_SCALAR : ATTN_KERNELS_SIMD;
}
