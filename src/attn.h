/*
 * attn.h - the attnlab core: attention mechanisms in portable C11.
 *
 * This header is the manual. Read it top to bottom.
 *
 * WHAT IT DOES
 *   Computes attention weights and attention outputs for single-head attention
 *   on float32 row-major matrices, so that the JS API (wasm/attn.js), the web
 *   page and the native tests all share one implementation:
 *     - softmax attention weights P = softmax(scale * Q K^T) with causal and
 *       custom masks (attn_softmax_weights);
 *     - softmax attention outputs Y = P V computed streaming (online softmax
 *       over key tiles, as FlashAttention does) so the n x m matrix is never
 *       stored (attn_softmax_attention);
 *     - masks (attn_mask_*), a seeded random number generator (attn_rng_*).
 *
 * WHAT IT DOES NOT DO
 *   No multi-head batching, no backward pass, no threads, no allocation. It
 *   never exits, aborts or prints. It keeps no hidden global state: the only
 *   process-wide setting is the kernel table (attn_use_kernels), which tests
 *   switch to compare the SIMD and scalar paths end to end.
 *
 * CONVENTIONS
 *   - Matrices are float32, row-major, densely packed: a [rows, cols] matrix
 *     has element (i, j) at p[i * cols + j]. Every pointer parameter carries
 *     its shape in a comment, e.g. `// [n, d]`.
 *   - Names: n queries, m keys, d the query/key width, dv the value width.
 *   - A mask is uint8 [n, m]: 0 = blocked, non-zero = allowed. Composite
 *     masks set one bit per component (ATTN_MASK_*), so a picture can colour
 *     them. "causal" allows key j for query i when j <= i (top-left aligned,
 *     also when n != m).
 *   - A query row with no allowed key has weights all 0 and output 0.
 *   - Callers own memory. Outputs and workspace are passed in; each function
 *     that needs workspace has a *_workspace() query giving its length in
 *     floats. Sizes whose byte count does not fit in size_t give
 *     ATTN_ERR_MEMORY.
 *   - Every function validates its arguments and returns an attn_status;
 *     inputs containing NaN or +-Infinity give ATTN_ERR_NONFINITE and leave
 *     the outputs unspecified. On success the outputs contain no NaN.
 *
 * ACCURACY
 *   Outputs agree with a float64 evaluation of the definition to about 1e-6
 *   relative for logits up to +-100 (the tests use 2e-5). The SIMD exp used by
 *   the SIMD kernels has a maximum relative error of about 2 ulp on
 *   [-87.3, 0] and returns exactly 0 below -87.3 (see kernels.c).
 *
 * SOURCE LAYOUT
 *   attn.h      this manual            attn.c     status strings, version
 *   rng.c       seeded PCG32 + normals  masks.c    attention masks
 *   softmax.c   softmax weights and streaming outputs
 *   kernels.c   kernel table: SIMD (GCC/Clang vector extensions, which
 *               compile to wasm simd128 or SSE) beside a scalar reference
 *   internal.h  declarations shared between the .c files (attn__ prefix)
 */
#ifndef ATTN_H
#define ATTN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATTN_VERSION "0.1.0"

/* ---- status codes ------------------------------------------------------
 * One list: X(enum name, value, stable string code, message). The string
 * codes are what the JS API puts in AttnError.code. */
#define ATTN_STATUS_LIST(X)                                                   \
    X(ATTN_OK,            0, "OK",            "success")                      \
    X(ATTN_ERR_NULL,      1, "ERR_NULL",      "a required pointer is NULL")   \
    X(ATTN_ERR_SHAPE,     2, "ERR_SHAPE",     "a dimension is zero or the dimensions do not agree") \
    X(ATTN_ERR_NONFINITE, 3, "ERR_NONFINITE", "an input contains NaN or Infinity") \
    X(ATTN_ERR_RANGE,     4, "ERR_RANGE",     "an option is out of range")    \
    X(ATTN_ERR_KIND,      5, "ERR_KIND",      "unknown kind")                 \
    X(ATTN_ERR_WORKSPACE, 6, "ERR_WORKSPACE", "the workspace is too small")   \
    X(ATTN_ERR_MEMORY,    7, "ERR_MEMORY",    "the sizes do not fit in memory") \
    X(ATTN_ERR_TYPE,      8, "ERR_TYPE",      "an argument has the wrong type")

typedef enum attn_status {
#define ATTN__ENUM(name, value, code, message) name = value,
    ATTN_STATUS_LIST(ATTN__ENUM)
#undef ATTN__ENUM
    ATTN_STATUS_COUNT
} attn_status;

/* Human-readable message, e.g. "the dimensions do not agree". Never NULL. */
const char *attn_status_str(int status);
/* Stable code string, e.g. "ERR_SHAPE". Never NULL ("ERR_UNKNOWN" if out of range). */
const char *attn_status_code(int status);
/* Number of status codes (ATTN_STATUS_COUNT). */
int attn_status_count(void);

/* Library version, "MAJOR.MINOR.PATCH". */
const char *attn_version(void);
/* Hash of the sources this binary was built from ("dev" if not stamped). */
const char *attn_source_hash(void);

/* ---- kernels -----------------------------------------------------------
 * The inner loops (matrix products, exp, row reductions) go through a table.
 * ATTN_KERNELS_SIMD exists when the compiler supports vector extensions;
 * ATTN_KERNELS_SCALAR is the plain-C reference. The default is SIMD. */
typedef enum attn_kernels_id {
    ATTN_KERNELS_SCALAR = 0,
    ATTN_KERNELS_SIMD = 1
} attn_kernels_id;

/* Select the kernel table. ATTN_ERR_KIND if id is unknown or not compiled in. */
attn_status attn_use_kernels(int id);
/* The table in use: ATTN_KERNELS_SCALAR or ATTN_KERNELS_SIMD. */
int attn_kernels_in_use(void);
/* 1 if this build contains the SIMD table, else 0. */
int attn_simd_available(void);

/* ---- random numbers ----------------------------------------------------
 * PCG32 (O'Neill 2014, XSH-RR output, 64-bit state) with explicit state.
 * Normal samples come from the Box-Muller transform evaluated in double
 * precision. The stream depends only on the seed, so a wasm build gives
 * bit-identical samples in every engine. */
typedef struct attn_rng {
    uint64_t state;
    uint64_t inc;
    double spare;  /* second Box-Muller sample, valid when has_spare */
    int has_spare;
} attn_rng;

/* Size in bytes of attn_rng, for bindings that allocate it. */
size_t attn_rng_size(void);
/* Seed the generator. Any seed is valid. */
attn_status attn_rng_seed(attn_rng *rng, uint64_t seed);
/* Next 32 uniformly distributed bits. rng must be seeded. */
uint32_t attn_rng_u32(attn_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double attn_rng_uniform(attn_rng *rng);
/* Standard normal sample, N(0, 1). */
double attn_rng_normal(attn_rng *rng);
/* Fill out with count N(0, 1) samples, rounded to float. */
attn_status attn_randn(attn_rng *rng, size_t count,
                       float *out);  // [count]

/* ---- masks ---------------------------------------------------------------
 * Bits set by the mask builders, one per component. */
#define ATTN_MASK_LOCAL   1u
#define ATTN_MASK_STRIDED 2u
#define ATTN_MASK_GLOBAL  4u
#define ATTN_MASK_RANDOM  8u
#define ATTN_MASK_CLUSTER 16u
#define ATTN_MASK_BLOCK   32u

/* Every key allowed: out[i, j] = ATTN_MASK_LOCAL. */
attn_status attn_mask_full(size_t n, size_t m,
                           uint8_t *out);  // [n, m]
/* j <= i allowed (ATTN_MASK_LOCAL), else 0. */
attn_status attn_mask_causal(size_t n, size_t m,
                             uint8_t *out);  // [n, m]
/* Sliding window with `window` keys per side: |i - j| <= window, or
 * 0 <= i - j <= window when causal. */
attn_status attn_mask_local(size_t n, size_t window, int causal,
                            uint8_t *out);  // [n, n]

/* ---- softmax attention ---------------------------------------------------
 * Shared arguments:
 *   scale   multiplies every logit q_i . k_j (the JS API defaults to
 *           1/sqrt(d)); any finite value.
 *   causal  non-zero: key j is visible to query i only when j <= i.
 *   mask    NULL, or [n, m] with 0 = blocked; combined with causal by AND.
 */

/* Workspace length in floats for attn_softmax_weights. */
attn_status attn_softmax_weights_workspace(size_t n, size_t m, size_t d,
                                           size_t *floats);
/* P[i, j] = exp(s_ij) / sum over allowed j' of exp(s_ij'), s = scale q_i.k_j,
 * 0 where blocked; rows with no allowed key are all 0. */
attn_status attn_softmax_weights(size_t n, size_t m, size_t d,
                                 const float *q,     // [n, d]
                                 const float *k,     // [m, d]
                                 float scale, int causal,
                                 const uint8_t *mask,  // [n, m] or NULL
                                 float *p,           // [n, m] output
                                 float *work, size_t work_floats);  // [work_floats]

/* Workspace length in floats for attn_softmax_attention: O(m d + tile), no
 * n x m term. */
attn_status attn_softmax_attention_workspace(size_t n, size_t m, size_t d, size_t dv,
                                             size_t *floats);
/* Y = P V with P as in attn_softmax_weights, computed tile by tile with the
 * online-softmax recurrence (running row max and row sum, FlashAttention-2
 * style: unnormalised accumulator, one division per row at the end). Key
 * tiles wholly above the diagonal are skipped when causal. */
attn_status attn_softmax_attention(size_t n, size_t m, size_t d, size_t dv,
                                   const float *q,     // [n, d]
                                   const float *k,     // [m, d]
                                   const float *v,     // [m, dv]
                                   float scale, int causal,
                                   const uint8_t *mask,  // [n, m] or NULL
                                   float *out,         // [n, dv] output
                                   float *work, size_t work_floats);  // [work_floats]

#ifdef __cplusplus
}
#endif

#endif /* ATTN_H */
