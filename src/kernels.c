/*
 * kernels.c - the inner loops, twice: a scalar reference and a SIMD version.
 *
 *   gemm          C = (alpha A) B  or  C += (alpha A) B
 *   max, dot      max_i x_i,  sum_i a_i b_i
 *   exp_shift_sum x_i = exp(x_i - shift), returns sum_i x_i
 *   scale, axpy   x_i *= a,  y_i += a x_i
 *   panel_scores  S[j][r] = sum_l K[j][l] Q~[r][l]   (Q~ = scale Q, 4 queries a panel)
 *   panel_softmax m' = max(m, max_j S[j]); S = exp(S - m'); l = l e^(m - m') + sum_j S[j]
 *   panel_pv      O = e^(m - m') O + S^T V
 *   panel_exp     P = exp(min(S - lse, 0))               (softmax backward)
 *   panel_ds      dS = P o (dP - D)                      (softmax backward)
 *
 * No kernel checks its values (no per-element test in a hot loop): the
 * callers guarantee finite inputs and check the results they return.
 *
 * The SIMD table is written with GCC/Clang vector extensions on 4 x float32
 * (128 bits), so the same source compiles to wasm simd128 under Emscripten
 * (-msimd128) and to SSE natively, where the tests run it under
 * AddressSanitizer. The vector kernels (max, exp_shift_sum, scale, dot,
 * axpy) are a main vector loop plus a tail (ggml's shape), so any length is
 * valid; gemm pads its edge blocks with zeros as it packs them; the panel
 * kernels take whole panels of 4 and strips of 8, any number of rows.
 * tests/native/test_kernels.c checks every entry of both tables against
 * float64 at row counts around these widths.
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

/* An empty asm statement that "changes" x: the compiler can no longer see
 * its value, nor how it was computed. Used on loop counts and pointers
 * (below), and on wasm also on vector constants (FORCE_REALIZATION). */
#if defined(__GNUC__) || defined(__clang__)
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))
#else
#define OPAQUE(x) ((void)0)
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

static void panel_scores_scalar(size_t d, size_t groups, size_t strips,
                                const float *kp,  // [groups, d, 4]
                                const float *qt,  // [strips, d, 8]
                                float *s, size_t panel_stride) {  // [2 strips, panel_stride]
    for (size_t t = 0; t < strips; t++)
        for (size_t g = 0; g < groups; g++) {
            float acc[4][8] = {{0}};
            const float *a = kp + g * d * 4, *b = qt + t * d * 8;
            size_t width = 8;  /* hidden: a constant 8 would be unrolled and vectorised (SLP) */
            OPAQUE(width);
            for (size_t l = 0; l < d; l++)
                for (size_t r = 0; r < 4; r++) {
                    float ar = a[4 * l + r];
                    SCALAR_LOOP for (size_t c = 0; c < width; c++) acc[r][c] += ar * b[8 * l + c];
                }
            for (size_t r = 0; r < 4; r++)
                for (size_t c = 0; c < 8; c++)
                    s[(2 * t + c / 4) * panel_stride + 4 * (4 * g + r) + c % 4] = acc[r][c];
        }
}

static void panel_softmax_scalar(size_t rows,
                                 float *panel,     // [rows, 4]
                                 float *run_max,   // [4]
                                 float *run_sum,   // [4]
                                 float *rescale) { // [4]
    for (size_t r = 0; r < 4; r++) {
        float mx = run_max[r];
        SCALAR_LOOP for (size_t j = 0; j < rows; j++) mx = panel[4 * j + r] > mx ? panel[4 * j + r] : mx;
        float shift = mx == -INFINITY ? 0.0f : mx, sum = 0.0f;
        SCALAR_LOOP for (size_t j = 0; j < rows; j++) {
            panel[4 * j + r] = expf(panel[4 * j + r] - shift);
            sum += panel[4 * j + r];
        }
        rescale[r] = expf(run_max[r] - shift);
        run_sum[r] = run_sum[r] * rescale[r] + sum;
        run_max[r] = mx;
    }
}

static void panel_pv_scalar(size_t rows, size_t strips,
                            const float *panel,    // [rows, 4]
                            const float *v, size_t strip_stride,  // [strips, rows, 8]
                            const float *rescale,  // [4]
                            float *o, size_t ldo) { // [4, ldo]
    size_t width = 8;  /* hidden, as in panel_scores_scalar */
    OPAQUE(width);
    for (size_t t = 0; t < strips; t++) {
        float acc[4][8];
        for (size_t r = 0; r < 4; r++)
            SCALAR_LOOP for (size_t c = 0; c < width; c++) acc[r][c] = rescale[r] * o[r * ldo + 8 * t + c];
        const float *b = v + t * strip_stride;
        for (size_t j = 0; j < rows; j++)
            for (size_t r = 0; r < 4; r++) {
                float pr = panel[4 * j + r];
                SCALAR_LOOP for (size_t c = 0; c < width; c++) acc[r][c] += pr * b[8 * j + c];
            }
        for (size_t r = 0; r < 4; r++)
            for (size_t c = 0; c < 8; c++) o[r * ldo + 8 * t + c] = acc[r][c];
    }
}

static void panel_exp_scalar(size_t rows,
                             float *panel,         // [rows, 4]
                             const float *shift) { // [4]
    for (size_t r = 0; r < 4; r++) {
        float sh = shift[r];
        SCALAR_LOOP for (size_t j = 0; j < rows; j++) {
            float x = panel[4 * j + r] - sh;
            panel[4 * j + r] = expf(x < 0.0f ? x : 0.0f);
        }
    }
}

static void panel_ds_scalar(size_t rows,
                            const float *p,    // [rows, 4]
                            float *dp,         // [rows, 4]
                            const float *dd) { // [4]
    for (size_t r = 0; r < 4; r++) {
        float dr = dd[r];
        SCALAR_LOOP for (size_t j = 0; j < rows; j++) dp[4 * j + r] = p[4 * j + r] * (dp[4 * j + r] - dr);
    }
}

const attn__kernels attn__kernels_scalar = {
    "scalar", gemm_scalar, max_scalar, exp_shift_sum_scalar, scale_scalar, dot_scalar, axpy_scalar,
    panel_scores_scalar, panel_softmax_scalar, panel_pv_scalar, panel_exp_scalar, panel_ds_scalar,
};

/* ------------------------------------------------------------------ SIMD */
#if ATTN__HAVE_SIMD

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* Unaligned loads and stores (one v128.load / movups each). */
static inline v4f v4f_load(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void v4f_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f v4f_splat(float x) { return (v4f){x, x, x, x}; }
/* max of values that are never NaN. wasm's f32x4.max follows IEEE NaN and
 * signed-zero rules and costs V8 several instructions; pmax (a < b ? b : a)
 * is one maxps. */
static inline v4f v4f_max(v4f a, v4f b) {
#if defined(__wasm_simd128__)
    return __builtin_wasm_pmax_f32x4(a, b);
#else
    v4i gt = a > b;
    return (v4f)((gt & (v4i)a) | (~gt & (v4i)b));
#endif
}
static inline float v4f_hmax(v4f v) {
    float a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
    return a > b ? a : b;
}
static inline float v4f_hsum(v4f v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/* V8 does not hoist wasm vector constants out of loops: each v128.const is
 * rebuilt where it is used, several instructions each time. Hiding a
 * constant makes the compiler keep it in a local (a register or a stack slot)
 * instead, as XNNPACK's XNN_FORCE_REALIZATION does. */
#if defined(__wasm__)
#define FORCE_REALIZATION(v) OPAQUE(v)
#else
#define FORCE_REALIZATION(v) ((void)0)
#endif

/*
 * exp(x) for x <= 0 (every caller subtracts a maximum first): x = k ln2 + r
 * with |r| <= ln2/2 (ln2 split in two parts, as in Cephes expf), exp(r) =
 * 1 + r + r^2 (c0 + c1 r + c2 r^2 + c3 r^3) with c the minimax fit of
 * relative error on that interval (computed for this file with mpmath's
 * Remez-style exchange: 1.05e-7 before float32 rounding), evaluated by
 * Estrin's scheme (short dependency chains, so the out-of-order core overlaps
 * more elements), 2^k put into the exponent bits. Measured maximum relative
 * error against a float64 exp: test_simd_exp in tests/native/test_core.c
 * (printed, asserted < 3e-7).
 * x is first raised to -88, where k = -127 and the exponent bits of 2^k are
 * all zero: so exp(x) is exactly 0 for x <= -88 and for -INFINITY (masked
 * logits), without a separate mask; on (-88, -87.3] the result is 0 or a
 * subnormal. The constants are made once per loop (exp_consts_make).
 */
typedef struct {
    v4f lo, magic, log2e, ln2_hi, ln2_lo, c0, c1, c2, c3, one;
} exp_consts;

static inline exp_consts exp_consts_make(void) {
    exp_consts c = {
        v4f_splat(-88.0f),
        /* 1.5 * 2^23 + 127: adding it rounds to an integer k and leaves k + 127
         * in the low bits, so shifting the sum's bits left by 23 gives 2^k. */
        v4f_splat(12583039.0f),
        v4f_splat(1.44269504088896341f), v4f_splat(0.693359375f), v4f_splat(-2.12194440e-4f),
        v4f_splat(0.49999231791362087f), v4f_splat(0.16667114464325855f),
        v4f_splat(0.041890113175908225f), v4f_splat(0.008312524957708142f),
        v4f_splat(1.0f),
    };
    FORCE_REALIZATION(c.lo); FORCE_REALIZATION(c.magic); FORCE_REALIZATION(c.log2e);
    FORCE_REALIZATION(c.ln2_hi); FORCE_REALIZATION(c.ln2_lo);
    FORCE_REALIZATION(c.c0); FORCE_REALIZATION(c.c1); FORCE_REALIZATION(c.c2); FORCE_REALIZATION(c.c3);
    FORCE_REALIZATION(c.one);
    return c;
}

static inline v4f v4f_exp(v4f x, const exp_consts *c) {
    x = v4f_max(x, c->lo);
    v4f biased = x * c->log2e + c->magic;
    v4f kf = biased - c->magic;  /* k = round(x / ln2), exactly */
    v4f r = x - kf * c->ln2_hi - kf * c->ln2_lo;
    v4f r2 = r * r;
    v4f p = (c->c0 + c->c1 * r) + r2 * (c->c2 + c->c3 * r);
    v4f pow2k = (v4f)((v4i)biased << 23);  /* (k + 127) << 23, k in [-127, 0]; 0 at k = -127 */
    return (p * r2 + r + c->one) * pow2k;
}

/* The register block of the panel kernels: acc[r][h] += a[l][r] * b[l][4h .. 4h + 3]
 * over l < k, a packed [k, 4] and b [k, 8]: 8 accumulators, 2 vectors of b
 * and one broadcast a value live at a time (11 of the 16 vector registers V8
 * has on x64; a 6 x 8 block spills). The loops step two pointers and hide
 * them from the compiler after each step (OPAQUE): otherwise LLVM
 * rewrites them as base + index * stride (Emscripten runs it without loop
 * strength reduction), and V8 spends a shift, an add and a lea per load on
 * recomputing addresses. Measured once, with micro-benchmarks of each kernel
 * that are not kept (npm run bench times the P V kernel alone: its "kernel"
 * row, attn_kernel_benchmark), in GFLOP/s: scores 47 (41 with an indexed
 * loop); P V 43 when its accumulators start from zero (41 starting from the
 * rescaled output); two steps per trip gain nothing, and four are slower
 * everywhere (LLVM's wasm backend, which counts no registers, hoists all
 * their loads to the top of the trip and V8 spills them). */
#define PANEL_STEP(a, b, acc)                                                   \
    {                                                                           \
        v4f b0_ = v4f_load(b), b1_ = v4f_load((b) + 4);                         \
        v4f x0_ = v4f_splat((a)[0]), x1_ = v4f_splat((a)[1]);                   \
        v4f x2_ = v4f_splat((a)[2]), x3_ = v4f_splat((a)[3]);                   \
        acc##00 += x0_ * b0_; acc##01 += x0_ * b1_;                             \
        acc##10 += x1_ * b0_; acc##11 += x1_ * b1_;                             \
        acc##20 += x2_ * b0_; acc##21 += x2_ * b1_;                             \
        acc##30 += x3_ * b0_; acc##31 += x3_ * b1_;                             \
    }
#define PANEL_BLOCK(k, a, b, acc)                                               \
    {                                                                           \
        const float *pa_ = (a), *pb_ = (b), *end_ = (b) + 8 * (k);              \
        while (pb_ != end_) {                                                   \
            PANEL_STEP(pa_, pb_, acc)                                           \
            pa_ += 4;                                                           \
            pb_ += 8;                                                           \
            OPAQUE(pa_);                                                        \
            OPAQUE(pb_);                                                        \
        }                                                                       \
    }

/*
 * gemm on packed blocks (Goto & van de Geijn): for each block of KC steps of
 * k and MC rows of A, A is copied into panels of 4 rows, [KC, 4], and each 8
 * columns of B into a strip [KC, 8], both zero-padded at the edges, so that
 * the register block reads two contiguous streams whatever the strides of A
 * and B; alpha is applied to A as it is packed (as the scalar table does).
 * The copies live on the stack (36 KiB).
 */
enum { GEMM_MC = 64, GEMM_KC = 128 };

/* A panel: alpha times rows a[0..rows) (rows <= 4; missing rows are zeros),
 * kc steps, as [kc, 4]. */
static void pack_a_panel(size_t rows, size_t kc, float alpha, const float *a, size_t lda,
                         float *out) {  // [kc, 4]
    if (rows == 4) {
        const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
        v4f va = v4f_splat(alpha);
        for (size_t l = 0; l < kc; l++) v4f_store(out + 4 * l, va * (v4f){a0[l], a1[l], a2[l], a3[l]});
        return;
    }
    for (size_t l = 0; l < kc; l++)
        for (size_t r = 0; r < 4; r++) out[4 * l + r] = r < rows ? alpha * a[r * lda + l] : 0.0f;
}

/* A strip: columns b[0..cols) (cols <= 8; missing columns are zeros), kc rows, as [kc, 8]. */
static void pack_b_strip(size_t cols, size_t kc, const float *b, size_t ldb, float *out) {  // [kc, 8]
    if (cols == 8) {
        for (size_t l = 0; l < kc; l++) {
            v4f_store(out + 8 * l, v4f_load(b + l * ldb));
            v4f_store(out + 8 * l + 4, v4f_load(b + l * ldb + 4));
        }
        return;
    }
    for (size_t l = 0; l < kc; l++)
        for (size_t x = 0; x < 8; x++) out[8 * l + x] = x < cols ? b[l * ldb + x] : 0.0f;
}

static void gemm_simd(size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda,  // [m, k]
                      const float *b, size_t ldb,  // [k, n]
                      float *c, size_t ldc,        // [m, n]
                      int accumulate) {
    float ap[GEMM_MC * GEMM_KC];  // [GEMM_MC / 4, kc, 4]
    float bp[GEMM_KC * 8];        // [kc, 8]
    if (k == 0) {  /* an empty sum */
        for (size_t i = 0; i < m && !accumulate; i++) memset(c + i * ldc, 0, n * sizeof *c);
        return;
    }
    for (size_t p0 = 0; p0 < k; p0 += GEMM_KC) {
        size_t kc = attn__min(GEMM_KC, k - p0);
        int add_to_c = accumulate || p0 > 0;  /* later k blocks add to C */
        for (size_t i0 = 0; i0 < m; i0 += GEMM_MC) {
            size_t mc = attn__min(GEMM_MC, m - i0), panels = (mc + 3) / 4;
            for (size_t t = 0; t < panels; t++)
                pack_a_panel(attn__min(4, mc - 4 * t), kc, alpha, a + (i0 + 4 * t) * lda + p0, lda,
                             ap + t * kc * 4);
            for (size_t j0 = 0; j0 < n; j0 += 8) {
                size_t nc = attn__min(8, n - j0);
                pack_b_strip(nc, kc, b + p0 * ldb + j0, ldb, bp);
                for (size_t t = 0; t < panels; t++) {
                    v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
                    PANEL_BLOCK(kc, ap + t * kc * 4, bp, c)
                    v4f acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
                    size_t rows = attn__min(4, mc - 4 * t);
                    for (size_t r = 0; r < rows; r++) {
                        float *cr = c + (i0 + 4 * t + r) * ldc + j0;
                        if (nc == 8) {
                            for (int h = 0; h < 2; h++) {
                                v4f val = acc[r][h];
                                if (add_to_c) val += v4f_load(cr + 4 * h);
                                v4f_store(cr + 4 * h, val);
                            }
                        } else {
                            float tmp[8];
                            v4f_store(tmp, acc[r][0]);
                            v4f_store(tmp + 4, acc[r][1]);
                            for (size_t x = 0; x < nc; x++) cr[x] = tmp[x] + (add_to_c ? cr[x] : 0.0f);
                        }
                    }
                }
            }
        }
    }
}

/* The largest of init and the rows of a [rows, 4] panel, column by column. */
static v4f max_rows(size_t rows, const float *panel, v4f init) {  // [rows, 4]
    v4f m0 = init, m1 = init, m2 = init, m3 = init;
    size_t j = 0;
    for (; j + 4 <= rows; j += 4) {
        m0 = v4f_max(m0, v4f_load(panel + 4 * j));
        m1 = v4f_max(m1, v4f_load(panel + 4 * j + 4));
        m2 = v4f_max(m2, v4f_load(panel + 4 * j + 8));
        m3 = v4f_max(m3, v4f_load(panel + 4 * j + 12));
    }
    for (; j < rows; j++) m0 = v4f_max(m0, v4f_load(panel + 4 * j));
    return v4f_max(v4f_max(m0, m1), v4f_max(m2, m3));
}

static float max_simd(const float *x, size_t n) {  // [n]
    float m = v4f_hmax(max_rows(n / 4, x, v4f_splat(-INFINITY)));
    for (size_t i = n - n % 4; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* The sum of the rows of a [rows, 4] panel, apart from the exp loop: with the
 * exp constants that loop has no register left for a running sum, and a sum
 * kept in memory serialises it. */
static v4f sum_rows(size_t rows, const float *panel) {  // [rows, 4]
    v4f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};  /* four chains: the adds overlap */
    size_t j = 0;
    for (; j + 4 <= rows; j += 4) {
        s0 += v4f_load(panel + 4 * j);
        s1 += v4f_load(panel + 4 * j + 4);
        s2 += v4f_load(panel + 4 * j + 8);
        s3 += v4f_load(panel + 4 * j + 12);
    }
    for (; j < rows; j++) s0 += v4f_load(panel + 4 * j);
    return (s0 + s1) + (s2 + s3);
}

static float exp_shift_sum_simd(float *x, size_t n, float shift) {  // [n]
    v4f vs = v4f_splat(shift);
    exp_consts c = exp_consts_make();
    size_t i = 0;
    /* exp first, the sum in a second pass (see sum_rows) */
    for (; i + 4 <= n; i += 4) v4f_store(x + i, v4f_exp(v4f_load(x + i) - vs, &c));
    if (i < n) {  /* the tail goes through the same exp, padded with -inf */
        float tail[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        memcpy(tail, x + i, (n - i) * sizeof *x);
        v4f_store(tail, v4f_exp(v4f_load(tail) - vs, &c));
        memcpy(x + i, tail, (n - i) * sizeof *x);
    }
    float sum = v4f_hsum(sum_rows(n / 4, x));
    for (i = n - n % 4; i < n; i++) sum += x[i];
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

static void panel_scores_simd(size_t d, size_t groups, size_t strips,
                              const float *kp,  // [groups, d, 4]
                              const float *qt,  // [strips, d, 8]
                              float *s, size_t panel_stride) {  // [2 strips, panel_stride]
    /* Key groups outside: one group (d x 4 floats) stays in L1 while every
     * query strip of the block (all of qt, 8 d floats each) passes it. */
    for (size_t g = 0; g < groups; g++) {
        const float *a = kp + g * d * 4;
        for (size_t t = 0; t < strips; t++) {
            const float *b = qt + t * d * 8;
            v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
            PANEL_BLOCK(d, a, b, c)
            /* c[r][h] = scores of key 4g + r with queries 8t + 4h .. + 3: one
             * row of panel 2t + h each. */
            float *p0 = s + 2 * t * panel_stride + 16 * g, *p1 = p0 + panel_stride;
            v4f_store(p0, c00); v4f_store(p0 + 4, c10); v4f_store(p0 + 8, c20); v4f_store(p0 + 12, c30);
            v4f_store(p1, c01); v4f_store(p1 + 4, c11); v4f_store(p1 + 8, c21); v4f_store(p1 + 12, c31);
        }
    }
}

static void panel_softmax_simd(size_t rows,
                               float *panel,     // [rows, 4]
                               float *run_max,   // [4]
                               float *run_sum,   // [4]
                               float *rescale) { // [4]
    v4f old = v4f_load(run_max), mx = max_rows(rows, panel, old);
    v4i none = mx == v4f_splat(-INFINITY);  /* nothing visible yet: shift by 0 */
    v4f shift = (v4f)(~none & (v4i)mx);
    exp_consts c = exp_consts_make();
    for (size_t j = 0; j < rows; j++) v4f_store(panel + 4 * j, v4f_exp(v4f_load(panel + 4 * j) - shift, &c));
    v4f sum = sum_rows(rows, panel);
    v4f r = v4f_exp(old - shift, &c);
    v4f_store(rescale, r);
    v4f_store(run_sum, v4f_load(run_sum) * r + sum);
    v4f_store(run_max, mx);
}

static void panel_pv_simd(size_t rows, size_t strips,
                          const float *panel,    // [rows, 4]
                          const float *v, size_t strip_stride,  // [strips, rows, 8]
                          const float *rescale,  // [4]
                          float *o, size_t ldo) { // [4, ldo]
    for (size_t t = 0; t < strips; t++) {
        const float *b = v + t * strip_stride;
        v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
        PANEL_BLOCK(rows, panel, b, c)
        /* The loop starts from zero (the same loop as the scores', which V8
         * compiles tighter); the running output joins after it. */
        v4f acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
        for (int r = 0; r < 4; r++) {
            float *or = o + (size_t)r * ldo + 8 * t;
            v4f scale = v4f_splat(rescale[r]);
            v4f_store(or, v4f_load(or) * scale + acc[r][0]);
            v4f_store(or + 4, v4f_load(or + 4) * scale + acc[r][1]);
        }
    }
}

static void panel_exp_simd(size_t rows,
                           float *panel,         // [rows, 4]
                           const float *shift) { // [4]
    v4f sh = v4f_load(shift), zero = v4f_splat(0.0f);
    FORCE_REALIZATION(zero);
    exp_consts c = exp_consts_make();
    for (size_t j = 0; j < rows; j++) {
        v4f x = v4f_load(panel + 4 * j) - sh;
        v4i pos = x > zero;
        x = (v4f)(~pos & (v4i)x);  /* min(x, 0): x is never NaN */
        v4f_store(panel + 4 * j, v4f_exp(x, &c));
    }
}

static void panel_ds_simd(size_t rows,
                          const float *p,    // [rows, 4]
                          float *dp,         // [rows, 4]
                          const float *dd) { // [4]
    v4f d = v4f_load(dd);
    for (size_t j = 0; j < rows; j++) v4f_store(dp + 4 * j, v4f_load(p + 4 * j) * (v4f_load(dp + 4 * j) - d));
}

const attn__kernels attn__kernels_simd = {
    "simd", gemm_simd, max_simd, exp_shift_sum_simd, scale_simd, dot_simd, axpy_simd,
    panel_scores_simd, panel_softmax_simd, panel_pv_simd, panel_exp_simd, panel_ds_simd,
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

enum { BENCH_PANELS = 8, BENCH_ROWS = 128, BENCH_COLS = 64 };

typedef struct bench_plan {
    size_t panels, v, rescale, o, total;
} bench_plan;

static void plan_bench(bench_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->panels = attn__layout_add(&L, BENCH_PANELS, BENCH_ROWS * 4);  // [BENCH_PANELS, BENCH_ROWS, 4]
    P->v = attn__layout_add(&L, BENCH_ROWS, BENCH_COLS);             // [BENCH_COLS / 8, BENCH_ROWS, 8]
    P->rescale = attn__layout_add(&L, BENCH_PANELS, 4);              // [BENCH_PANELS, 4]
    P->o = attn__layout_add(&L, BENCH_PANELS, 4 * BENCH_COLS);       // [BENCH_PANELS, 4, BENCH_COLS]
    attn__layout_end(&L, &P->total);  /* constant sizes: cannot overflow */
}

attn_status attn_kernel_benchmark_workspace(size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    bench_plan P;
    plan_bench(&P);
    *floats = P.total;
    return ATTN_OK;
}

attn_status attn_kernel_benchmark(size_t reps, float *work, size_t work_floats) {  // [work_floats]
    bench_plan P;
    plan_bench(&P);
    if (!work) return ATTN_ERR_NULL;
    if (work_floats < P.total) return ATTN_ERR_WORKSPACE;
    float *panels = work + P.panels, *v = work + P.v, *rescale = work + P.rescale, *o = work + P.o;
    /* Weights summing to 1 over the keys and values in [0, 1): the outputs
     * grow by at most 1 per rep, far from overflow or subnormals. */
    for (size_t i = 0; i < BENCH_PANELS * BENCH_ROWS * 4; i++) panels[i] = 1.0f / BENCH_ROWS;
    for (size_t i = 0; i < BENCH_ROWS * BENCH_COLS; i++) v[i] = (float)(i % 97) / 97.0f;
    for (size_t i = 0; i < BENCH_PANELS * 4; i++) rescale[i] = 1.0f;
    memset(o, 0, BENCH_PANELS * 4 * BENCH_COLS * sizeof *o);
    const attn__kernels *kern = kernels_in_use;
    for (size_t r = 0; r < reps; r++)
        for (size_t g = 0; g < BENCH_PANELS; g++)
            kern->panel_pv(BENCH_ROWS, BENCH_COLS / 8, panels + g * BENCH_ROWS * 4, v, BENCH_ROWS * 8,
                           rescale + 4 * g, o + g * 4 * BENCH_COLS, BENCH_COLS);
    return ATTN_OK;
}

int attn_kernels_in_use(void) {
    return kernels_in_use == &attn__kernels_scalar ? ATTN_KERNELS_SCALAR : ATTN_KERNELS_SIMD;
}
