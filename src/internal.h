/*
 * internal.h - what the .c files of the core share. Not installed, not part of
 * the API; everything here is prefixed attn__.
 */
#ifndef ATTN_INTERNAL_H
#define ATTN_INTERNAL_H

#include "attn.h"

#include <stdint.h>
#include <string.h>

/* The kernel table: every inner loop whose speed matters. Two tables exist,
 * scalar (plain loops, libm expf) and SIMD (vector extensions); tests switch
 * between them with attn_use_kernels() and compare the results. */
typedef struct attn__kernels {
    const char *name;
    /* C = (alpha A) B  (accumulate == 0)  or  C += (alpha A) B  (accumulate != 0):
     * alpha multiplies the elements of A before the products (both tables),
     * so a logit (scale q).k overflows alike here and in softmax.c's panels.
     * A: [m, k] with row stride lda; B: [k, n] with row stride ldb;
     * C: [m, n] with row stride ldc. */
    void (*gemm)(size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda,   // [m, k]
                 const float *b, size_t ldb,   // [k, n]
                 float *c, size_t ldc,         // [m, n]
                 int accumulate);
    /* Largest element of x (-INFINITY when every element is -INFINITY). */
    float (*max)(const float *x, size_t n);  // [n]
    /* x[i] = exp(x[i] - shift) in place, returning the sum of the results.
     * x[i] = -INFINITY gives exactly 0; shift is finite and >= max(x). */
    float (*exp_shift_sum)(float *x, size_t n, float shift);  // [n]
    /* x[i] *= a. */
    void (*scale)(float *x, size_t n, float a);  // [n]
    /* sum_i a[i] b[i]. */
    float (*dot)(const float *a, const float *b, size_t n);  // [n], [n]
    /* y[i] += a x[i]. */
    void (*axpy)(size_t n, float a, const float *x, float *y);  // [n], [n]

    /* The three steps of streaming softmax attention on panels (softmax.c).
     * A panel holds the scores of 4 queries against `rows` keys, key-major:
     * element (query r, key j) at panel[4 j + r]; a key group holds 4 keys
     * packed the same way, kp[4 l + r] = K[r][l]; a query strip holds 8
     * queries, qt[8 l + c] = Q[c][l].
     *
     * panel_scores: for query strip t < strips and key group g < groups,
     * scores (query 8t + c, key 4g + r) = sum_l qt[t][l][c] kp[g][l][r], into
     * panel 2t + c / 4 at s + (2t + c / 4) * panel_stride. */
    void (*panel_scores)(size_t d, size_t groups, size_t strips,
                         const float *kp,   // [groups, d, 4]
                         const float *qt,   // [strips, d, 8]
                         float *s, size_t panel_stride);  // [2 strips, panel_stride]
    /* panel_softmax: the online softmax step of one panel. With run_max and
     * run_sum (per query) from the earlier tiles: new max = max(run_max, the
     * panel's column max); panel <- exp(panel - new max) (-INFINITY -> 0; a
     * query with nothing visible yet shifts by 0); rescale = exp(run_max -
     * new max); run_sum = run_sum * rescale + sum of the panel column. */
    void (*panel_softmax)(size_t rows,
                          float *panel,      // [rows, 4]
                          float *run_max,    // [4]
                          float *run_sum,    // [4]
                          float *rescale);   // [4] output
    /* panel_pv: o[r][:] = rescale[r] o[r][:] + sum_j panel[j][r] V[j][:], V
     * in strips of 8 columns (strip t at v + t * strip_stride, [rows, 8]). */
    void (*panel_pv)(size_t rows, size_t strips,
                     const float *panel,    // [rows, 4]
                     const float *v, size_t strip_stride,  // [strips, rows, 8]
                     const float *rescale,  // [4]
                     float *o, size_t ldo); // [4, ldo], ldo >= 8 strips

    /* The two elementwise steps of the softmax backward on the same panels
     * (softmax_backward.c).
     * panel_exp: panel[j][r] = exp(min(panel[j][r] - shift[r], 0)), the
     * weights P = exp(s - lse) from recomputed scores (-INFINITY -> 0; the
     * min only guards against a shift below the row's maximum). */
    void (*panel_exp)(size_t rows,
                      float *panel,        // [rows, 4]
                      const float *shift); // [4]
    /* panel_ds: dp[j][r] = p[j][r] * (dp[j][r] - dd[r]), the score gradient
     * dS = P o (dP - D) in place of dP. */
    void (*panel_ds)(size_t rows,
                     const float *p,    // [rows, 4]
                     float *dp,         // [rows, 4]
                     const float *dd);  // [4]
} attn__kernels;

extern const attn__kernels attn__kernels_scalar;
#if defined(__GNUC__) || defined(__clang__)
#define ATTN__HAVE_SIMD 1
extern const attn__kernels attn__kernels_simd;
#else
#define ATTN__HAVE_SIMD 0
#endif

/* The table in use (set by attn_use_kernels). */
const attn__kernels *attn__kernels_get(void);

/* softmax.c: p = scale q k^T, validated, with attn_softmax_weights' workspace. */
attn_status attn__scores(size_t n, size_t m, size_t d,
                         const float *q,  // [n, d]
                         const float *k,  // [m, d]
                         float scale,
                         float *p,        // [n, m]
                         float *work, size_t work_floats);
/* softmax.c: 1 when no logit (scale q_i).k_j can overflow float32, by the
 * bound |scale| d max|q| max|k| (the usual case: then nothing is checked
 * per logit); 0 when the logits must be checked. */
int attn__logits_safe(size_t n, size_t m, size_t d,
                      const float *q,  // [n, d]
                      const float *k,  // [m, d]
                      float scale);
/* softmax.c: a float32 logit that may have overflowed on the way (a partial
 * sum did, in the path's summation order) or may be near it: |s| > FLT_MAX / 2
 * or not finite (or d >= 2^22, where a float32 sum's rounding could reach
 * FLT_MAX / 4). Such a logit is recomputed by attn__logit_exact, so which
 * inputs overflow does not depend on a path's order of summation. */
int attn__logit_suspect(float s, size_t d);
/* softmax.c: *out = the logit sum_l (float)(scale q_l) k_l, the products
 * exact in double, summed in double in order, rounded to float32; or
 * ATTN_ERR_OVERFLOW when it is beyond FLT_MAX. */
attn_status attn__logit_exact(size_t d, float scale,
                              const float *q,  // [d]
                              const float *k,  // [d]
                              float *out);
/* softmax.c: the streaming kernels' packing, shared with softmax_backward.c.
 * Packs B [rows, cols], element (r, c) at src[r * row_stride + c * col_stride],
 * into strips of `width` columns: strip t holds columns t*width .. as a
 * [height, width] block at out + t * height * width, zero-padded past `cols`
 * and past `rows` (height >= rows). */
void attn__pack_strips(size_t rows, size_t height, size_t cols, const float *src, size_t row_stride,
                       size_t col_stride, size_t width,
                       float *out);  // [ceil(cols / width), height, width]
/* softmax.c: blocked scores of a tile of score panels (attn__kernels) set to
 * -inf: keys j0 + j (j < rows; j >= keys_valid is padding) against queries
 * i0 + r (r < queries; i >= n is padding), causal and mask as in the forward. */
void attn__block_panels(float *s, size_t panel_stride, size_t queries, size_t rows, size_t keys_valid,
                        size_t i0, size_t n, size_t j0, size_t m, int causal,
                        const uint8_t *mask);  // [n, m] or NULL
/* softmax.c: the allowed scores of a tile (queries i0 + r, r < queries; keys
 * j0 + j, j < keys) that attn__logit_suspect flags, recomputed by
 * attn__logit_exact; ATTN_ERR_OVERFLOW if one is beyond float32. Call before
 * attn__block_panels, only for inputs that attn__logits_safe could not clear. */
attn_status attn__tile_exact(float *s, size_t panel_stride, size_t queries, size_t keys, size_t i0,
                             size_t j0, size_t m, size_t d, float scale,
                             const float *q,         // [n, d]
                             const float *k,         // [m, d]
                             int causal,
                             const uint8_t *mask);  // [n, m] or NULL
/* softmax.c: lse = row_max + log(row_sum) from the online softmax's running
 * max and sum (in double, rounded once); 0 for a row with nothing allowed
 * (row_sum 0). */
void attn__row_lse(size_t count,
                   const float *row_max,  // [count]
                   const float *row_sum,  // [count]
                   float *lse);           // [count] output
/* softmax.c: one row of logits (query i) to weights over its allowed keys.
 * check != 0: ATTN_ERR_OVERFLOW if an allowed logit is not finite. */
attn_status attn__softmax_row(float *row, size_t m, size_t i, int causal,
                              const uint8_t *mask_row,  // [m] or NULL
                              int check);
/* features.c: x /= den in place, each element as x / den in double when
 * 1 / den is not a normal float32 (beyond FLT_MAX or below FLT_MIN); den = 0
 * gives 0 (a row with nothing to normalise by, like a row with no allowed
 * key). */
void attn__divide_row(float *x, size_t count, double den);  // [count]

/* features.c: *out = spec resolved for a use (attn_feature_spec_resolve). */
attn_status attn__feature_resolved(const attn_feature_spec *spec, int use, attn_feature_spec *out);
/* At the top of a function taking `spec`: from here on, spec points to its
 * resolved copy (returns the status if spec is NULL or the use unknown). */
#define ATTN__RESOLVE_FEATURE(spec, use)                                      \
    attn_feature_spec attn__resolved_spec;                                    \
    do {                                                                      \
        attn_status attn__st = attn__feature_resolved(spec, use, &attn__resolved_spec); \
        if (attn__st != ATTN_OK) return attn__st;                             \
        spec = &attn__resolved_spec;                                          \
    } while (0)

/* masks.c: ATTN_OK if a CSR of nnz entries can exist where size_t has the
 * largest value size_max (int32 indices: nnz <= INT32_MAX; their bytes fit
 * in size_t), else ATTN_ERR_MEMORY. size_max is a parameter so the tests can
 * check the wasm32 case (UINT32_MAX) on a 64-bit machine. */
attn_status attn__csr_fits(uint64_t nnz, uint64_t size_max);
/* masks.c: the largest number of 64-bit word operations attn_mask_layers
 * does before it refuses (ATTN_ERR_RANGE), and whether `layers` more layers
 * of a mask with nnz allowed cells fit in it after `done` word operations. */
#define ATTN__LAYERS_MAX_WORK 4294967296.0 /* 2^32 */
int attn__layers_fit(size_t n, uint64_t nnz, double layers, double done);

/* ---- checked sizes ---- */

/* *out = a * b; 0 if the product overflows size_t. */
static inline int attn__mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* *out = a + b; 0 on overflow. */
static inline int attn__add(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

/* rows (<= d) orthonormal rows of width d from Gaussian draws by modified
 * Gram-Schmidt in double, twice (features.c). */
void attn__orthonormal_rows(attn_rng *rng, size_t rows, size_t d, float *out);  // [rows, d]

/* ATTN_OK if a [rows, cols] float matrix has a byte size that fits in size_t. */
static inline attn_status attn__matrix_fits(size_t rows, size_t cols) {
    size_t count, bytes;
    if (!attn__mul(rows, cols, &count) || !attn__mul(count, sizeof(float), &bytes))
        return ATTN_ERR_MEMORY;
    return ATTN_OK;
}

/* ---- workspace layouts ----
 * Each function with a workspace has one plan, called by its *_workspace
 * query and by its body, so the size the query reports and the offsets the
 * body uses cannot disagree. A plan adds named parts in order, each rows x
 * cols units (floats; 64-bit words for attn_mask_layers) starting where the
 * previous one ended (attn__layout_align rounds the next start up to a
 * multiple); every product and sum is checked, and attn__layout_end gives the
 * total or ATTN_ERR_MEMORY:
 *     attn__layout L = ATTN__LAYOUT_INIT;
 *     P->kt = attn__layout_add(&L, d, m);     // [d, m]
 *     P->s  = attn__layout_add(&L, 1, m);     // [m]
 *     return attn__layout_end(&L, &P->total); */
typedef struct attn__layout {
    size_t total;  /* units so far */
    int overflow;  /* a size did not fit in size_t */
} attn__layout;
#define ATTN__LAYOUT_INIT {0, 0}

/* The offset of a new part of rows x cols units (0 once a size overflowed). */
static inline size_t attn__layout_add(attn__layout *L, size_t rows, size_t cols) {
    size_t count, at = L->total;
    if (L->overflow || !attn__mul(rows, cols, &count) || !attn__add(at, count, &L->total)) {
        L->overflow = 1;
        return 0;
    }
    return at;
}

/* The next part starts at a multiple of `units` (> 0). */
static inline void attn__layout_align(attn__layout *L, size_t units) {
    size_t rest = L->total % units;
    if (rest && !attn__add(L->total, units - rest, &L->total)) L->overflow = 1;
}

/* *total = the units of every part, or ATTN_ERR_MEMORY. */
static inline attn_status attn__layout_end(const attn__layout *L, size_t *total) {
    if (L->overflow) return ATTN_ERR_MEMORY;
    *total = L->total;
    return ATTN_OK;
}

/* 1 if every element of x is finite (no NaN, no +-Infinity). Blocks of 256
 * without an early exit inside, so the compiler can vectorise the test. */
static inline int attn__all_finite(const float *x, size_t count) {  // [count]
    for (size_t i0 = 0; i0 < count; i0 += 256) {
        size_t end = count - i0 < 256 ? count : i0 + 256;
        uint32_t bad = 0;
        for (size_t i = i0; i < end; i++) {
            uint32_t bits;
            memcpy(&bits, &x[i], sizeof bits);
            bad |= (bits & 0x7f800000u) == 0x7f800000u;
        }
        if (bad) return 0;
    }
    return 1;
}

static inline size_t attn__min(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t attn__maxsz(size_t a, size_t b) { return a > b ? a : b; }

/* max/min for finite inputs. libm's fmaxf/fminf have NaN rules that wasm's
 * f32.max does not, so Emscripten calls them out of line; these compile to a
 * compare and a select. */
static inline float attn__maxf(float a, float b) { return a > b ? a : b; }
static inline float attn__minf(float a, float b) { return a < b ? a : b; }
static inline double attn__maxd(double a, double b) { return a > b ? a : b; }

/* fastweight.c: one write of the rule to W [dv, dim] with key features phi
 * [dim] and value v [dv] (SUM: W += v phi^T; DELTA: vbar = W phi, W +=
 * beta (v - vbar) phi^T; GATED_DELTA: W *= alpha first). vbar: [dv] scratch,
 * left holding W_{t-1} phi for the delta rules. fastweight_backward.c
 * replays the forward's writes with it, so both follow one order. */
void attn__fw_write(const attn__kernels *kern, int rule, size_t dv, size_t dim,
                    float *W,          // [dv, dim]
                    const float *phi,  // [dim]
                    const float *v,    // [dv]
                    float beta, float alpha,
                    float *vbar);      // [dv]

#endif /* ATTN_INTERNAL_H */
