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
 *     - kernel (linear) attention: feature maps phi (attn_feature_map), the
 *       n x m weights they imply (attn_kernel_weights) and outputs in O(n)
 *       (attn_linear_attention), Performer random features;
 *     - fast weight memory: the sum and delta rules written step by step,
 *       and the capacity experiment (attn_fast_weights, attn_capacity);
 *     - masks (attn_mask_*): local, strided, dilated, fixed, Sparse
 *       Transformer, global, random, Longformer, BigBird, LSH buckets and
 *       k-means clusters; sparse attention over them in O(nnz);
 *     - gradients (attn_*_backward): softmax attention (streaming,
 *       FlashAttention-2's backward), sparse attention, every feature map,
 *       linear attention (plain and causal) and the fast weight memory;
 *     - the layers of a small model with their gradients, and AdamW
 *       (attn_layer_*, attn_gelu, attn_cross_entropy, attn_adamw_step);
 *     - structured inputs whose softmax attention has the structure of real
 *       heads: local, clustered, sinks, previous token (attn_inputs);
 *     - a seeded random number generator (attn_rng_*).
 *
 * WHAT IT DOES NOT DO
 *   No multi-head batching, no threads, no allocation. It
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
 *     the outputs unspecified. Options are checked against the ranges given
 *     with each function (ATTN_ERR_RANGE).
 *   - Finite or an error: on ATTN_OK every output is finite. Where float32
 *     overflows (a logit, a normaliser, a product, a recurrence that
 *     diverges) the function returns ATTN_ERR_OVERFLOW instead, and the
 *     outputs are unspecified. A normaliser of exactly 0 gives a row of 0
 *     (as does a row with no allowed key), never a division by 0.
 *
 * ACCURACY
 *   Outputs agree with a float64 evaluation of the definition to about 1e-6
 *   relative for logits up to +-100 (the tests use 2e-5). The SIMD exp used by
 *   the SIMD kernels has a maximum relative error of 1.8e-7 (about 2 ulp) on
 *   [-87.3, 0], returns exactly 0 at and below -88 and 0 or a subnormal in
 *   between (see kernels.c).
 *
 * SOURCE LAYOUT
 *   attn.h      this manual            attn.c     status strings, version
 *   rng.c       seeded PCG32 + normals  masks.c    attention masks, clustering
 *   sparse.c    sparse attention over CSR masks (and its gradients)
 *   softmax.c   softmax weights and streaming outputs
 *   softmax_backward.c  gradients of streaming softmax attention
 *   features.c  feature maps phi and Performer random features
 *   features_backward.c  gradients of the feature maps
 *   linear.c    kernel weights and linear attention (plain and causal)
 *   linear_backward.c    gradients of linear attention
 *   fastweight.c  fast weight memory (sum, delta, gated delta), capacity
 *   fastweight_backward.c  gradients of the fast weight memory
 *   inputs.c    structured Q, K, V (local, clustered, sinks, ...)
 *   layers.c    layers of a small model and their gradients (linear,
 *               layer norm, GELU, embedding, cross-entropy), AdamW
 *   gallery.c   matmul, slot pooling, row softmax, Sinkhorn (Linformer,
 *               compressed, Synthesizer, Sinkhorn, Funnel)
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
    X(ATTN_ERR_TYPE,      8, "ERR_TYPE",      "an argument has the wrong type") \
    X(ATTN_ERR_OVERFLOW,  9, "ERR_OVERFLOW",  "a result overflows float32")    \
    X(ATTN_ERR_OPTION,   10, "ERR_OPTION",    "unknown option")

typedef enum attn_status {
#define ATTN__ENUM(name, value, code, message) name = value,
    ATTN_STATUS_LIST(ATTN__ENUM)
#undef ATTN__ENUM
    ATTN_STATUS_COUNT
} attn_status;

/* ---- names ---------------------------------------------------------------
 * Every enumeration a binding needs is one X-macro list X(enum name, value,
 * "name") below (the features, rules, normalisations, kernel tables, mask
 * kinds and mask bits), and attn_<list>_name(id) gives the name of value id,
 * NULL past the last: a binding reads them at load,
 *     for (int id = 0; attn_feature_name(id); id++) ...
 * so it never keeps a second copy of the numbering. */
#define ATTN__ENUM_ITEM(name, value, text) name = value,

/* ---- defaults -------------------------------------------------------------
 * Every default of the library is defined here once, so native callers, Node
 * and browsers see the same values. Two kinds:
 *
 *  - named defaults: one X-macro list X(enum name, "name", value, doc). The
 *    name is "<function or family>.<option>" as the JS API spells the option;
 *    values are doubles (enum defaults hold the enum value: "linear.feature"
 *    is ATTN_FEATURE_ELU1). attn_default_name(id) / attn_default_value(id)
 *    read the list (NULL / NaN past the end); a binding reads it at load.
 *    The C functions themselves do not substitute these for 0 (0 hashes stays
 *    ATTN_ERR_RANGE): they are what a binding passes when an option is
 *    omitted, and what the spec resolvers (attn_mask_spec_resolve,
 *    attn_feature_spec_resolve) fill in for fields left unset.
 *  - derived defaults, which depend on a size: the attn_default_* functions
 *    below (scale 1/sqrt(d), window floor(sqrt(n)), ...). */
#define ATTN_DEFAULT_LIST(X)                                                  \
    X(ATTN_DEFAULT_SEED, "seed", 0, "every seed of a random draw")           \
    X(ATTN_DEFAULT_FEATURE_M, "feature.features", 64, "Performer maps: random features m") \
    X(ATTN_DEFAULT_FEATURE_NU, "feature.nu", 1, "DPFP order nu")             \
    X(ATTN_DEFAULT_FEATURE_KERNEL_EPS, "feature.kernelEpsilon", 1e-3, "RELU: kernel_eps added to every feature") \
    X(ATTN_DEFAULT_FEATURE_STABILIZE, "feature.stabilize", 1, "Performer maps: stabilize") \
    X(ATTN_DEFAULT_FEATURE_ORTHOGONAL, "feature.orthogonal", 1, "Performer projections: orthogonal blocks") \
    X(ATTN_DEFAULT_LINEAR_FEATURE, "linear.feature", ATTN_FEATURE_ELU1, "feature map of kernel attention (feature maps, kernel weights, linear attention)") \
    X(ATTN_DEFAULT_LINEAR_NORMALIZE, "linear.normalize", ATTN_NORMALIZE_NONE, "normalisation of kernel attention's features") \
    X(ATTN_DEFAULT_LINEAR_EPS, "linear.eps", 1e-6, "kernel weights, linear attention: eps added to the denominator") \
    X(ATTN_DEFAULT_FAST_FEATURE, "fastWeights.feature", ATTN_FEATURE_DPFP, "feature map of the fast weight memory") \
    X(ATTN_DEFAULT_FAST_NORMALIZE, "fastWeights.normalize", ATTN_NORMALIZE_SUM, "its normalisation (sum: fast weight programmers)") \
    X(ATTN_DEFAULT_FAST_RULE, "fastWeights.rule", ATTN_RULE_SUM, "update rule") \
    X(ATTN_DEFAULT_FAST_BETA, "fastWeights.beta", 1, "delta rule write strength beta") \
    X(ATTN_DEFAULT_FAST_ALPHA, "fastWeights.alpha", 1, "gated delta rule decay alpha") \
    X(ATTN_DEFAULT_CAPACITY_FEATURE, "capacity.feature", ATTN_FEATURE_DPFP, "feature map of the capacity experiment") \
    X(ATTN_DEFAULT_CAPACITY_NORMALIZE, "capacity.normalize", ATTN_NORMALIZE_L2, "its normalisation (L2: one write stores its pair exactly)") \
    X(ATTN_DEFAULT_CAPACITY_DKEY, "capacity.dKey", 64, "key width") \
    X(ATTN_DEFAULT_CAPACITY_RULE, "capacity.rule", ATTN_RULE_SUM, "update rule") \
    X(ATTN_DEFAULT_CAPACITY_BETA, "capacity.beta", 1, "beta")                \
    X(ATTN_DEFAULT_CAPACITY_TRIALS, "capacity.trials", 3, "draws averaged per size") \
    X(ATTN_DEFAULT_CAPACITY_SIZE_STEP, "capacity.sizeStep", 20, "sizes: step, step 2, .., step count") \
    X(ATTN_DEFAULT_CAPACITY_SIZE_COUNT, "capacity.sizeCount", 30, "sizes: how many") \
    X(ATTN_DEFAULT_SWEEP_FEATURES_MIN, "kernelErrorSweep.featuresMin", 8, "features: min, 2 min, 4 min, ..") \
    X(ATTN_DEFAULT_SWEEP_FEATURES_COUNT, "kernelErrorSweep.featuresCount", 6, "features: how many doublings") \
    X(ATTN_DEFAULT_SWEEP_TRIALS, "kernelErrorSweep.trials", 8, "projections averaged per point") \
    X(ATTN_DEFAULT_LSH_BUCKETS, "lsh.buckets", 8, "Reformer LSH buckets") \
    X(ATTN_DEFAULT_LSH_HASHES, "lsh.hashes", 1, "Reformer LSH rounds")      \
    X(ATTN_DEFAULT_KMEANS_ITERATIONS, "kmeans.iterations", 10, "k-means rounds (clusters: attn_default_clusters)") \
    X(ATTN_DEFAULT_MASK_DILATION, "mask.dilation", 2, "DILATED: dilation") \
    X(ATTN_DEFAULT_MASK_LONGFORMER_DILATION, "mask.longformerDilation", 1, "LONGFORMER: dilation") \
    X(ATTN_DEFAULT_MASK_SUMMARY, "mask.summary", 1, "FIXED: summary")       \
    X(ATTN_DEFAULT_MASK_PER_ROW, "mask.perRow", 3, "RANDOM: per_row (at most n)") \
    X(ATTN_DEFAULT_MASK_WINDOW_BLOCKS, "mask.windowBlocks", 3, "BIGBIRD: window_blocks") \
    X(ATTN_DEFAULT_MASK_GLOBAL_BLOCKS, "mask.globalBlocks", 1, "BIGBIRD: global_blocks") \
    X(ATTN_DEFAULT_MASK_RANDOM_BLOCKS, "mask.randomBlocks", 3, "BIGBIRD: random_blocks") \
    X(ATTN_DEFAULT_MASK_TOKEN, "mask.token", 0, "GLOBAL, LONGFORMER: the one global token") \
    X(ATTN_DEFAULT_MASK_LAYERS_MAX, "maskLayers.maxLayers", 256, "layers counted at most (and at most n)") \
    X(ATTN_DEFAULT_MATMUL_ALPHA, "matmul.alpha", 1, "alpha of C = (alpha A) B") \
    X(ATTN_DEFAULT_SINKHORN_ITERATIONS, "sinkhorn.iterations", 20, "Sinkhorn rounds") \
    X(ATTN_DEFAULT_SINKHORN_TAU, "sinkhorn.tau", 1, "Sinkhorn temperature") \
    X(ATTN_DEFAULT_LINFORMER_RANK, "linformer.rank", 32, "projected rows k (and at most m)") \
    X(ATTN_DEFAULT_COMPRESSED_FACTOR, "compressedAttention.factor", 2, "rows pooled per slot") \
    X(ATTN_DEFAULT_SYNTHESIZER_FACTORS, "synthesizer.factors", 8, "factorized logits: rank") \
    X(ATTN_DEFAULT_SYNTHESIZER_MIX, "synthesizer.mix", 0, "share of dot-product logits") \
    X(ATTN_DEFAULT_SINKHORN_ATTENTION_BLOCK, "sinkhornAttention.block", 8, "rows per block") \
    X(ATTN_DEFAULT_SINKHORN_ATTENTION_ITERATIONS, "sinkhornAttention.iterations", 8, "Sinkhorn rounds") \
    X(ATTN_DEFAULT_SINKHORN_ATTENTION_TAU, "sinkhornAttention.tau", 0.75, "Sinkhorn temperature") \
    X(ATTN_DEFAULT_SINKHORN_ATTENTION_SORTCUT, "sinkhornAttention.sortcut", 0, "SortCut blocks (0: all)") \
    X(ATTN_DEFAULT_FUNNEL_STRIDE, "funnelAttention.stride", 2, "query pooling stride") \
    X(ATTN_DEFAULT_BENCHMARK_RUNS, "benchmark.runs", 1, "timed calls") \
    X(ATTN_DEFAULT_BENCHMARK_REPS, "benchmark.reps", 200, "kernel: repetitions per call") \
    X(ATTN_DEFAULT_INPUTS_KIND, "inputs.kind", ATTN_INPUT_MIXTURE, "structured inputs: the kind") \
    X(ATTN_DEFAULT_INPUTS_SCALE, "inputs.scale", 1, "structured inputs: multiplies Q and K") \
    X(ATTN_DEFAULT_INPUTS_WIDTH, "inputs.width", 4, "local, mixture: window of most of a row's mass (at most n)") \
    X(ATTN_DEFAULT_INPUTS_CLUSTERS, "inputs.clusters", 4, "clustered: clusters (at most n)") \
    X(ATTN_DEFAULT_INPUTS_TOKENS, "inputs.tokens", 2, "global, mixture: sink tokens (at most n)")
#define ATTN__DEFAULT_ITEM(name, text, value, doc) name,
typedef enum attn_default_id { ATTN_DEFAULT_LIST(ATTN__DEFAULT_ITEM) ATTN_DEFAULT_COUNT } attn_default_id;
#undef ATTN__DEFAULT_ITEM
/* The name of named default id ("linear.eps"); NULL past the end. */
const char *attn_default_name(int id);
/* Its value (1e-6); NaN past the end. */
double attn_default_value(int id);

/* Derived defaults (see each function's options for where they apply):
 *   attn_default_scale(d)         1 / sqrt(d), the softmax logit scale
 *   attn_default_window(n)        floor(sqrt(n)), LOCAL/DILATED/LONGFORMER window
 *   attn_default_root(n)          max(1, round(sqrt(n))): STRIDED and
 *                                 SPARSE_TRANSFORMER stride, FIXED block,
 *                                 k-means clusters
 *   attn_default_bigbird_block(n) the largest divisor of n not above
 *                                 sqrt(n) (1 for n = 0)
 *   attn_default_rank(m)          min(m, "linformer.rank")
 *   attn_default_max_layers(n)    min(n, "maskLayers.maxLayers")
 *   attn_default_per_row(n)       min(n, "mask.perRow")
 * Sizes are exact for n up to 2^52. */
double attn_default_scale(size_t d);
size_t attn_default_window(size_t n);
size_t attn_default_root(size_t n);
size_t attn_default_bigbird_block(size_t n);
size_t attn_default_rank(size_t m);
size_t attn_default_max_layers(size_t n);
size_t attn_default_per_row(size_t n);

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
#define ATTN_KERNELS_LIST(X)                                                  \
    X(ATTN_KERNELS_SCALAR, 0, "scalar")                                       \
    X(ATTN_KERNELS_SIMD, 1, "simd")
typedef enum attn_kernels_id { ATTN_KERNELS_LIST(ATTN__ENUM_ITEM) ATTN_KERNELS_COUNT } attn_kernels_id;
/* "scalar", "simd"; NULL past the end. */
const char *attn_kernels_name(int id);

/* Select the kernel table. ATTN_ERR_KIND if id is unknown or not compiled in. */
attn_status attn_use_kernels(int id);
/* The table in use: ATTN_KERNELS_SCALAR or ATTN_KERNELS_SIMD. */
int attn_kernels_in_use(void);
/* 1 if this build contains the SIMD table, else 0. */
int attn_simd_available(void);

/* The matrix-product kernel alone, for benchmarks: `reps` times, the P V step
 * of streaming softmax attention (8 panels of 4 queries x 128 keys against
 * 64 value columns: 524288 flops per rep) on data that stays in cache, with
 * the table in use. The caller times the call; its GFLOP/s is the ceiling the
 * whole attention computation is compared with. work: the floats given by
 * attn_kernel_benchmark_workspace, contents ignored. */
attn_status attn_kernel_benchmark_workspace(size_t *floats);
attn_status attn_kernel_benchmark(size_t reps, float *work, size_t work_floats);  // [work_floats]

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

/* Performer random features: m rows of width d. orthogonal != 0: blocks of d
 * rows orthonormalised by Gram-Schmidt (in double) from Gaussian blocks, each
 * row then scaled by the norm of an independent N(0, I_d) vector (chi_d
 * distributed), so every row has the marginal law of a Gaussian row; the last
 * block keeps its first m mod d rows. orthogonal == 0: i.i.d. N(0, 1) entries. */
attn_status attn_random_features(attn_rng *rng, size_t m, size_t d, int orthogonal,
                                 float *out);  // [m, d]

/* ---- masks ---------------------------------------------------------------
 * Bits set by the mask builders, one per component: X(name, bit index,
 * "name"), the value is 1 << index. A cell that belongs to two components
 * carries both bits (a Longformer or BigBird window cell in a global row or
 * column is LOCAL | GLOBAL). */
#define ATTN_MASK_BIT_LIST(X)                                                 \
    X(ATTN_MASK_LOCAL, 0, "local") X(ATTN_MASK_STRIDED, 1, "strided")         \
    X(ATTN_MASK_GLOBAL, 2, "global") X(ATTN_MASK_RANDOM, 3, "random")         \
    X(ATTN_MASK_CLUSTER, 4, "cluster")
#define ATTN__BIT_ITEM(name, bit, text) name = 1 << (bit),
#define ATTN__COUNT_ITEM(name, value, text) +1
typedef enum attn_mask_bit { ATTN_MASK_BIT_LIST(ATTN__BIT_ITEM) } attn_mask_bit;
enum { ATTN_MASK_BIT_COUNT = 0 ATTN_MASK_BIT_LIST(ATTN__COUNT_ITEM) };
/* The name of bit index `bit` (value 1 << bit): "local" .. "cluster"; NULL
 * past the end. */
const char *attn_mask_bit_name(int bit);

/* A mask is described by an attn_mask_spec and generated row by row, so the
 * same rule gives a dense [n, n] mask (attn_mask_dense), a compressed sparse
 * row form (attn_mask_csr) or just its count (attn_mask_nnz). Keys j and
 * queries i both run over 0..n-1; bits per cell:
 *
 *   FULL        all                                                LOCAL
 *   CAUSAL      j <= i                                             LOCAL
 *   LOCAL       |i - j| <= window (causal: 0 <= i - j <= window)    LOCAL
 *   STRIDED     (i - j) mod stride = 0 (causal: and j <= i)         STRIDED
 *   DILATED     i - j = dilation t, |t| <= window (causal: t >= 0)  LOCAL
 *   FIXED       j <= i and floor(j/block) = floor(i/block)          LOCAL
 *               j <= i and j mod block >= block - summary           STRIDED
 *   SPARSE_TRANSFORMER  0 <= i - j <= stride - 1                    LOCAL
 *               j <= i and (i - j) mod stride = 0                   STRIDED
 *   GLOBAL      i or j in tokens                                    GLOBAL
 *   RANDOM      per_row distinct keys per row, uniform (causal:
 *               among j <= i), from a generator seeded by (seed, i)  RANDOM
 *   LONGFORMER  DILATED (window, dilation, causal)                  LOCAL
 *               and GLOBAL (tokens)                                 GLOBAL
 *   BIGBIRD     blocks of `block` keys, nb = n / block (block must
 *               divide n); B(i) = floor(i / block);
 *               B(i) or B(j) among the first or last global_blocks  GLOBAL
 *               |B(i) - B(j)| <= (window_blocks - 1) / 2 (also in a
 *               global row or column: such cells carry both bits)  LOCAL
 *               B(j) in R(B(i)): for every block-row that is not
 *               global, min(random_blocks, available) distinct blocks
 *               drawn from those neither global nor in its window,
 *               seeded by (seed, B(i))                              RANDOM
 *   CLUSTER     a[r][i] = a[r][j] for some round r, with a the
 *               [rounds, n] assignments (attn_lsh_buckets,
 *               attn_kmeans)                                        CLUSTER
 */
#define ATTN_MASK_KIND_LIST(X)                                                \
    X(ATTN_MASK_KIND_FULL, 0, "full") X(ATTN_MASK_KIND_CAUSAL, 1, "causal")   \
    X(ATTN_MASK_KIND_LOCAL, 2, "local") X(ATTN_MASK_KIND_STRIDED, 3, "strided") \
    X(ATTN_MASK_KIND_DILATED, 4, "dilated") X(ATTN_MASK_KIND_FIXED, 5, "fixed") \
    X(ATTN_MASK_KIND_SPARSE_TRANSFORMER, 6, "sparse-transformer")             \
    X(ATTN_MASK_KIND_GLOBAL, 7, "global") X(ATTN_MASK_KIND_RANDOM, 8, "random") \
    X(ATTN_MASK_KIND_LONGFORMER, 9, "longformer")                             \
    X(ATTN_MASK_KIND_BIGBIRD, 10, "bigbird") X(ATTN_MASK_KIND_CLUSTER, 11, "cluster")
typedef enum attn_mask_kind { ATTN_MASK_KIND_LIST(ATTN__ENUM_ITEM) ATTN_MASK_KIND_COUNT } attn_mask_kind;
/* "full" .. "cluster" (the JS API's lsh and kmeans both build a cluster
 * mask); NULL past the end. */
const char *attn_mask_kind_name(int id);

typedef struct attn_mask_spec {
    int kind;  /* attn_mask_kind */
    size_t n;
    int causal;
    size_t window, dilation, stride, block, summary;
    const int32_t *tokens;  /* [n_tokens] global token indices */
    size_t n_tokens;
    size_t per_row;
    size_t window_blocks, global_blocks, random_blocks;
    uint64_t seed;
    const int32_t *assignments;  /* [rounds, n] */
    size_t rounds;
    unsigned set;  /* bit 1 << field id (ATTN_MASK_FIELDS) for each field given */
} attn_mask_spec;

/* The fields of attn_mask_spec by number, for bindings: X(id, name, member,
 * range). attn_mask_spec_set takes a double, checks that it is an integer in
 * [0, 2^53] (else ATTN_ERR_RANGE) before converting it, then by range:
 *   FLAG      0 or 1, else ATTN_ERR_RANGE
 *   AT_MOST_N clamped to n (to n = INT32_MAX if n is larger): every larger
 *             value gives the same mask (a window or per_row of n covers
 *             every key, a stride or dilation of n reaches only j = i, ...)
 *   ODD_N     window_blocks: clamped to 2n + 1, or 2n if even (so an even
 *             value is still refused by attn_mask_check)
 *   ANY       the seed: any integer up to 2^53
 *   COUNT     at most INT32_MAX (the largest n), else ATTN_ERR_RANGE
 * so no value wraps in a 32-bit size_t. */
#define ATTN_MASK_FIELDS(X)                                                   \
    X(0, "causal", causal, FLAG) X(1, "window", window, AT_MOST_N)           \
    X(2, "dilation", dilation, AT_MOST_N) X(3, "stride", stride, AT_MOST_N)  \
    X(4, "block", block, COUNT) X(5, "summary", summary, COUNT)              \
    X(6, "nTokens", n_tokens, COUNT) X(7, "perRow", per_row, AT_MOST_N)      \
    X(8, "windowBlocks", window_blocks, ODD_N)                               \
    X(9, "globalBlocks", global_blocks, AT_MOST_N)                           \
    X(10, "randomBlocks", random_blocks, AT_MOST_N) X(11, "seed", seed, ANY) \
    X(12, "rounds", rounds, COUNT)

/* Bindings: size of the struct, a reset to kind and n with every other field
 * 0, none given (so each takes its default, below) and the pointers NULL (set
 * n before the fields: they are clamped by it),
 * a numeric field by id (ranges above; ATTN_ERR_KIND for an unknown id), the
 * two pointers, and the name of field id (NULL past the last). */
size_t attn_mask_spec_size(void);
attn_status attn_mask_spec_init(attn_mask_spec *spec, int kind, size_t n);
attn_status attn_mask_spec_set(attn_mask_spec *spec, int field, double value);
attn_status attn_mask_spec_set_arrays(attn_mask_spec *spec,
                                      const int32_t *tokens,        // [n_tokens] or NULL
                                      const int32_t *assignments);  // [rounds, n] or NULL
const char *attn_mask_field_name(int field);

/* Defaults: a numeric field that was not given (its bit clear in `set`; the
 * setter sets it, attn_mask_spec_init clears them all) and is 0 takes the
 * default of its kind:
 *   window         LOCAL, DILATED, LONGFORMER    attn_default_window(n)
 *   stride         STRIDED, SPARSE_TRANSFORMER   attn_default_root(n)
 *   dilation       DILATED "mask.dilation", LONGFORMER "mask.longformerDilation"
 *   block          FIXED attn_default_root(n), BIGBIRD attn_default_bigbird_block(n)
 *   summary        FIXED                         "mask.summary"
 *   per_row        RANDOM                        attn_default_per_row(n)
 *   window_blocks, global_blocks, random_blocks  BIGBIRD  "mask.windowBlocks", ..
 *   n_tokens       GLOBAL, LONGFORMER: with tokens NULL, the one token
 *                  "mask.token" (0)
 * Fields where 0 is meaningful (window 0, random_blocks 0, n_tokens 0, ...)
 * keep an explicit 0 when given through the setter, or when the caller sets
 * the bit itself (spec.set |= 1u << 1 for window). causal, seed and rounds
 * have no default beyond 0. Every function taking a spec resolves a copy, so
 * the spec itself is not changed. attn_mask_spec_resolve does it in place
 * (and marks every field given), after which attn_mask_spec_get reads field
 * id of the resolved spec; ATTN_ERR_KIND for an unknown id, ATTN_ERR_NULL
 * for NULL pointers. n = 0 or an unknown kind resolve nothing. */
attn_status attn_mask_spec_resolve(attn_mask_spec *spec);
attn_status attn_mask_spec_get(const attn_mask_spec *spec, int field, double *value);

/* ATTN_OK if the (resolved) spec is valid: ATTN_ERR_KIND for an unknown kind,
 * ATTN_ERR_SHAPE for n = 0, ATTN_ERR_RANGE for stride, block, dilation or
 * window_blocks of 0 where used, summary > block, an even window_blocks, a
 * block not dividing n (BIGBIRD), a token or assignment out of range;
 * ATTN_ERR_NULL for missing arrays; ATTN_ERR_MEMORY for n > INT32_MAX or
 * assignments whose [rounds, n] bytes do not fit in size_t. */
attn_status attn_mask_check(const attn_mask_spec *spec);

/* Which field: the status attn_mask_check returns, with *argument set to
 * the name of the field at fault ("kind", "n", a name of ATTN_MASK_FIELDS
 * such as "stride" or "windowBlocks", "tokens", "assignments"; "spec" when
 * spec is NULL) or NULL for ATTN_OK. argument may be NULL. No state is kept:
 * a binding calls it after a mask function fails to name the field. The
 * mask functions below fail for a valid spec only with ATTN_ERR_NULL (an
 * output pointer), ATTN_ERR_WORKSPACE (capacity) or ATTN_ERR_MEMORY from
 * the count of allowed cells, which is about argument "n" (more cells than
 * int32 indices or size_t bytes address). */
attn_status attn_mask_spec_check(const attn_mask_spec *spec, const char **argument);

/* The dense mask. */
attn_status attn_mask_dense(const attn_mask_spec *spec,
                            uint8_t *out);  // [n, n]
/* The number of allowed cells (work: n bytes), counted in 64 bits:
 * ATTN_ERR_MEMORY if it exceeds INT32_MAX or 4 nnz bytes exceed SIZE_MAX, the
 * largest CSR there can be (mask FULL, n = 65536 on wasm32: 2^32 cells). */
attn_status attn_mask_nnz(const attn_mask_spec *spec, size_t *nnz,
                          uint8_t *work);   // [n]
/* Compressed sparse rows: row i's keys are indices[indptr[i] .. indptr[i+1]-1]
 * in increasing order, with their component bits in bits (may be NULL).
 * capacity is the length of indices and bits (ATTN_ERR_WORKSPACE if it is
 * less than the count; ATTN_ERR_MEMORY past INT32_MAX entries). work: n bytes. */
attn_status attn_mask_csr(const attn_mask_spec *spec, size_t capacity,
                          int32_t *indptr,   // [n + 1]
                          int32_t *indices,  // [capacity]
                          uint8_t *bits,     // [capacity] or NULL
                          uint8_t *work);    // [n]
/* CSR of a dense [n, m] mask (non-zero = allowed). */
attn_status attn_dense_to_csr(size_t n, size_t m,
                              const uint8_t *mask,  // [n, m]
                              size_t capacity,
                              int32_t *indptr,      // [n + 1]
                              int32_t *indices);    // [capacity]

/* Reformer LSH: for each of `hashes` rounds, a random rotation R ~ N(0, 1) of
 * shape [d, buckets / 2] and h(x) = argmax([x^ R, -x^ R]) with x^ = x / |x|
 * (x = 0 hashes to bucket 0). buckets must be even and >= 2. */
attn_status attn_lsh_workspace(size_t d, size_t buckets, size_t *floats);
attn_status attn_lsh_buckets(size_t n, size_t d,
                             const float *x,      // [n, d]
                             size_t buckets, size_t hashes, uint64_t seed,
                             int32_t *assignments,  // [hashes, n]
                             float *work, size_t work_floats);  // [attn_lsh_workspace]
/* Spherical k-means (Routing Transformer): rows normalised to unit length,
 * centroids seeded by k-means++ (the first a uniform row, each next a row
 * drawn with probability proportional to its squared chordal distance
 * 2 - 2 cos to the nearest centroid so far), then `iterations` rounds of
 * assigning each row to the centroid of largest cosine (ties: the lower
 * index) and setting each centroid to its members' mean, normalised (a
 * cluster left empty keeps its centroid), then a final assignment.
 * clusters <= n. */
attn_status attn_kmeans_workspace(size_t n, size_t d, size_t clusters, size_t *floats);
attn_status attn_kmeans(size_t n, size_t d,
                        const float *x,           // [n, d]
                        size_t clusters, size_t iterations, uint64_t seed,
                        int32_t *assignments,     // [n]
                        float *work, size_t work_floats);  // [attn_kmeans_workspace]

/* How many stacked layers of this mask (with the residual path: every token
 * keeps itself) until no token reaches anything new: reached[L-1] = number of
 * (i, j) pairs with a path of at most L steps from query i to key j, for
 * L = 1 .. max_layers; *layers = the first L after which reached stops
 * growing (0 if it still grows at max_layers). A mask lets every token reach
 * every other when that final count is n * n. work: 3 n ceil(n / 64)
 * 64-bit words (attn_mask_layers_workspace).
 * Cost: layer L + 1 ORs, for every query, the layer-L reach sets of its keys:
 * (n + nnz) ceil(n / 64) word operations a layer, stopping at the first layer
 * that adds nothing. Bounded: ATTN_ERR_RANGE when the next layer would take
 * the total past 2^32 word operations (a few seconds), checked before each
 * layer, so that a mask too large for even one layer (n = 46340 full: 1.6e12)
 * is refused at once, after counting its cells. */
attn_status attn_mask_layers_workspace(size_t n, size_t *words);
attn_status attn_mask_layers(size_t n,
                             const uint8_t *mask,  // [n, n]
                             size_t max_layers,
                             double *reached,      // [max_layers]
                             size_t *layers,
                             uint64_t *work, size_t work_words);  // [work_words]

/* ---- sparse attention ----------------------------------------------------
 * softmax over the allowed keys only, from a CSR mask, in O(nnz (d + dv)):
 * equal to attn_softmax_attention with the same mask (the same logits
 * (scale q_i).k_j, the same ATTN_ERR_OVERFLOW). A row without keys gives 0.
 * The CSR is validated: indptr[0] = 0 and non-decreasing (its last entry is
 * the number of indices), every index in [0, m) and strictly increasing
 * within a row (sorted, no duplicate); else ATTN_ERR_RANGE. work: the largest
 * row count of floats (m suffices). */
attn_status attn_sparse_attention(size_t n, size_t m, size_t d, size_t dv,
                                  const float *q,        // [n, d]
                                  const float *k,        // [m, d]
                                  const float *v,        // [m, dv]
                                  float scale,
                                  const int32_t *indptr,   // [n + 1]
                                  const int32_t *indices,  // [indptr[n]]
                                  float *out,            // [n, dv] output
                                  float *work, size_t work_floats);  // [work_floats]

/* ---- softmax attention ---------------------------------------------------
 * Shared arguments:
 *   scale   the logit is s_ij = (scale q_i) . k_j in float32: the query is
 *           scaled first, in all three paths (weights, streaming outputs,
 *           sparse). Any finite value (else ATTN_ERR_RANGE); the default
 *           is attn_default_scale(d) = 1/sqrt(d); scale = 0 gives uniform weights over the
 *           allowed keys, whatever the inputs.
 *   causal  non-zero: key j is visible to query i only when j <= i.
 *   mask    NULL, or [n, m] with 0 = blocked; combined with causal by AND.
 * Overflow: ATTN_ERR_OVERFLOW when the logit of an allowed pair is beyond
 * float32 (e.g. q = 1e20, k = 1e20; a logit whose float32 partial sums
 * overflow but which is itself finite is recomputed in double, so the
 * order of summation does not matter), identically in the three paths, or
 * when an output sum overflows (|v| near FLT_MAX). Finite logits are
 * handled exactly, however far apart (weights exp(s - max) in [0, 1]).
 */

/* Workspace length in floats for attn_softmax_weights. */
attn_status attn_softmax_weights_workspace(size_t n, size_t m, size_t d,
                                           size_t *floats);
/* P[i, j] = exp(s_ij) / sum over allowed j' of exp(s_ij'), s_ij = (scale q_i).k_j,
 * 0 where blocked; rows with no allowed key are all 0. */
attn_status attn_softmax_weights(size_t n, size_t m, size_t d,
                                 const float *q,     // [n, d]
                                 const float *k,     // [m, d]
                                 float scale, int causal,
                                 const uint8_t *mask,  // [n, m] or NULL
                                 float *p,           // [n, m] output
                                 float *work, size_t work_floats);  // [work_floats]

/* Workspace length in floats for attn_softmax_attention: O(m (d + dv) + tile)
 * (K in groups of 4 keys and V in strips of 8 columns, both zero-padded, the
 * block's queries, one 32 x 128 score tile and one 32 x dv output block), no
 * n x m term. */
attn_status attn_softmax_attention_workspace(size_t n, size_t m, size_t d, size_t dv,
                                             size_t *floats);
/* Y = P V with P as in attn_softmax_weights, computed tile by tile with the
 * online-softmax recurrence (running row max and row sum, FlashAttention-2
 * style: unnormalised accumulator, one division per row at the end). Key
 * tiles wholly above the diagonal are skipped when causal. Each tile's
 * scores, exps and product with V run as three kernels on panels of 4
 * queries (attn__kernels in internal.h), so nothing is transposed or
 * re-packed inside the loop. */
attn_status attn_softmax_attention(size_t n, size_t m, size_t d, size_t dv,
                                   const float *q,     // [n, d]
                                   const float *k,     // [m, d]
                                   const float *v,     // [m, dv]
                                   float scale, int causal,
                                   const uint8_t *mask,  // [n, m] or NULL
                                   float *out,         // [n, dv] output
                                   float *work, size_t work_floats);  // [work_floats]

/* ---- backward: softmax and sparse attention ------------------------------
 * Reverse-mode gradients: given dY = dL/dY for a loss L of the output Y,
 * the gradients dL/dQ, dL/dK, dL/dV. With s_ij = (scale q_i) . k_j (blocked:
 * -inf), P the row softmax of s, Y = P V and
 *
 *   lse_i = log sum_j exp(s_ij)     D_i = dY_i . Y_i = sum_j P_ij (dY_i . v_j)
 *   dV    = P^T dY
 *   dS_ij = P_ij (dY_i . v_j - D_i)            (the softmax Jacobian)
 *   dQ    = scale dS K                         dK = dS^T (scale Q)
 *
 * Blocked pairs get no gradient; a row with no allowed key (Y = 0) adds
 * nothing, its dq is 0, and a key no query sees has dk = dv = 0.
 * Shapes and options as the forward (scale, causal, mask; the CSR of
 * attn_sparse_attention). Finite or an error: ATTN_ERR_OVERFLOW for an
 * allowed logit that overflows (as the forward) or a gradient that leaves
 * float32. dv_out is named so because dv is the value width.
 *
 * ACCURACY: each gradient is a sum of products over keys or queries of
 * P (relative error about (d + 2 max|s|) u from the recomputed logits and
 * lse, u = 2^-24) and of dY . v - D (about dv u times the sum of |terms|);
 * tests/native/test_backward_softmax.c checks every entry against a float64
 * reference (itself checked against central differences of a float64
 * forward) within 4 u (d (1 + 2 max|s|) + dv + n + m + |lse| + 8) times the
 * sum of the magnitudes of the terms that make the entry.
 */

/* The forward with the row log-sum-exp, lse_i = log sum_j exp(s_ij) over the
 * allowed keys (0 for a row with none: the log of an empty sum would be -inf,
 * and every output is finite), which the backward can take instead of
 * recomputing it. out equals attn_softmax_attention's bit for bit; the same
 * workspace (attn_softmax_attention_workspace). lse: float32 rounding of a
 * double max_j s_ij + log(sum_j exp(s_ij - max)), the sum in float32. */
attn_status attn_softmax_attention_lse(size_t n, size_t m, size_t d, size_t dv,
                                       const float *q,     // [n, d]
                                       const float *k,     // [m, d]
                                       const float *v,     // [m, dv]
                                       float scale, int causal,
                                       const uint8_t *mask,  // [n, m] or NULL
                                       float *out,         // [n, dv] output
                                       float *lse,         // [n] output
                                       float *work, size_t work_floats);  // [work_floats]

/* Workspace length in floats for attn_softmax_attention_backward: O(m (d +
 * dv) + tiles), independent of n (K and V packed twice, the dK and dV
 * accumulators, one 64-query block's packings and 64 x 128 tiles). */
attn_status attn_softmax_attention_backward_workspace(size_t n, size_t m, size_t d, size_t dv,
                                                      size_t *floats);
/* The gradients of attn_softmax_attention, streaming (FlashAttention-2's
 * backward): per block of 64 queries and tile of 128 keys, S is recomputed,
 * P = exp(S - lse), dV += P^T dY, dP = dY V^T, dS = P o (dP - D), dQ +=
 * scale dS K, dK += scale dS^T Q, on the forward's panel kernels; no n x m
 * matrix is stored. out and lse: the forward's output and row log-sum-exp
 * (attn_softmax_attention_lse on the same inputs); or lse NULL (out is then
 * not read and may be NULL): both are recomputed, block by block, by the
 * forward's online softmax (4 n m d more flops). lse given without out:
 * ATTN_ERR_NULL; a non-finite out or lse: ATTN_ERR_NONFINITE. An lse that is
 * not the forward's gives gradients of no meaning. Cost without the
 * recomputation: 2 n m (2 d + 3 dv) flops (half of it above the diagonal
 * skipped when causal), 10 n m d for d = dv. */
attn_status attn_softmax_attention_backward(size_t n, size_t m, size_t d, size_t dv,
                                            const float *q,       // [n, d]
                                            const float *k,       // [m, d]
                                            const float *v,       // [m, dv]
                                            float scale, int causal,
                                            const uint8_t *mask,  // [n, m] or NULL
                                            const float *out,     // [n, dv] or NULL
                                            const float *lse,     // [n] or NULL
                                            const float *dout,    // [n, dv] dY
                                            float *dq,            // [n, d] output
                                            float *dk,            // [m, d] output
                                            float *dv_out,        // [m, dv] output
                                            float *work, size_t work_floats);  // [work_floats]

/* The gradients of attn_sparse_attention over a CSR mask (validated as
 * there), row by row in O(nnz (d + dv)): each row's weights are recomputed
 * from its listed keys, then D_i, dS on the listed pairs, and dq_i, dk_j,
 * dv_j accumulated. Equal, up to rounding, to
 * attn_softmax_attention_backward with the same mask as a dense one. work: 2
 * x the largest row count of floats (2 m suffices). */
attn_status attn_sparse_attention_backward(size_t n, size_t m, size_t d, size_t dv,
                                           const float *q,          // [n, d]
                                           const float *k,          // [m, d]
                                           const float *v,          // [m, dv]
                                           float scale,
                                           const int32_t *indptr,   // [n + 1]
                                           const int32_t *indices,  // [indptr[n]]
                                           const float *dout,       // [n, dv] dY
                                           float *dq,               // [n, d] output
                                           float *dk,               // [m, d] output
                                           float *dv_out,           // [m, dv] output
                                           float *work, size_t work_floats);  // [work_floats]

/* ---- feature maps (kernel / linear attention) ---------------------------
 * phi maps each row x of width d to a feature row of width dim; kernel
 * attention uses sim(q, k) = phi(q) . phi(k). x' = x d^-1/4 and h = |x'|^2/2
 * for the Performer maps, u = Omega x' with Omega the [m, d] projection.
 *
 *   ATTN_FEATURE_IDENTITY    x                                          d
 *   ATTN_FEATURE_ELU1        elu(x) + 1                                 d
 *   ATTN_FEATURE_RELU        max(x, 0) + kernel_eps                     d
 *   ATTN_FEATURE_TAYLOR      [1, x / (|x| + 1e-6)]: phi.phi = 1 + q^.k^ d + 1
 *   ATTN_FEATURE_EFFICIENT   query: softmax over the features of a row;
 *                            key: softmax over the rows (positions) of
 *                            each feature column (Shen et al.)           d
 *   ATTN_FEATURE_FAVOR_POS   m^-1/2 exp(u - h)                          m
 *   ATTN_FEATURE_FAVOR_TRIG  m^-1/2 exp(h) [sin u, cos u]               2m
 *   ATTN_FEATURE_FAVOR_HYP   (2m)^-1/2 exp(-h) [exp(u), exp(-u)]        2m
 *   ATTN_FEATURE_DPFP        r = [relu(x), relu(-x)];
 *                            concat_{j=1..nu} r_i r_{(i-j) mod 2d}      2 d nu
 *
 * stabilize (Performer maps): every query row is multiplied by its own
 * constant and all key rows by one shared constant, chosen so the largest
 * exponent is 0: exp(u - h - c_i) with c_i = max_l (u_il - h_i) for a query,
 * c = max over all keys and features for keys (trig: exp(h_j - max_j' h_j')
 * for keys, the query factor dropped). These constants cancel in normalised
 * attention weights, and keep every feature finite for large inputs. Without
 * stabilize the maps are the unbiased estimators of exp(q.k / sqrt d).
 * normalize: ATTN_NORMALIZE_SUM divides each row by the sum of its features
 * (fast weight programmers' sum normalisation), ATTN_NORMALIZE_L2 by its
 * Euclidean norm (DeltaNet); a row whose sum or norm is 0 stays 0.
 *
 * Options and their ranges (ATTN_ERR_RANGE outside):
 *   m           Performer maps: >= 1;  nu  DPFP: 1 .. 2d - 1
 *   kernel_eps  RELU: finite, >= 0
 * A feature beyond float32 (e.g. the plain Performer estimators without
 * stabilize on large inputs, DPFP products near FLT_MAX, a kernel_eps so
 * large that phi.phi overflows downstream) gives ATTN_ERR_OVERFLOW.
 * ATTN_FEATURE_EFFICIENT's key map needs every position: with causal
 * (kernel weights, linear attention) and in the fast weight memory (always
 * causal) it would read the future, and is refused with ATTN_ERR_RANGE. */
#define ATTN_FEATURE_LIST(X)                                                  \
    X(ATTN_FEATURE_IDENTITY, 0, "identity") X(ATTN_FEATURE_ELU1, 1, "elu+1")   \
    X(ATTN_FEATURE_RELU, 2, "relu") X(ATTN_FEATURE_TAYLOR, 3, "taylor")         \
    X(ATTN_FEATURE_EFFICIENT, 4, "efficient")                                 \
    X(ATTN_FEATURE_FAVOR_POS, 5, "favor+")                                    \
    X(ATTN_FEATURE_FAVOR_TRIG, 6, "favor-trig")                               \
    X(ATTN_FEATURE_FAVOR_HYP, 7, "favor-hyp") X(ATTN_FEATURE_DPFP, 8, "dpfp")
typedef enum attn_feature { ATTN_FEATURE_LIST(ATTN__ENUM_ITEM) ATTN_FEATURE_COUNT } attn_feature;
/* "identity" .. "dpfp"; NULL past the end. */
const char *attn_feature_name(int id);

typedef enum attn_role { ATTN_ROLE_QUERY = 0, ATTN_ROLE_KEY = 1 } attn_role;

#define ATTN_NORMALIZE_LIST(X)                                                \
    X(ATTN_NORMALIZE_NONE, 0, "none") X(ATTN_NORMALIZE_SUM, 1, "sum")          \
    X(ATTN_NORMALIZE_L2, 2, "l2")
typedef enum attn_normalize { ATTN_NORMALIZE_LIST(ATTN__ENUM_ITEM) ATTN_NORMALIZE_COUNT } attn_normalize;
/* "none", "sum", "l2"; NULL past the end. */
const char *attn_normalize_name(int id);

/* A feature map and its parameters. */
typedef struct attn_feature_spec {
    int feature;             /* attn_feature */
    size_t m;                /* random features (Performer maps), rows of projection */
    const float *projection; /* [m, d] Omega (Performer maps), else NULL */
    size_t nu;               /* DPFP order, >= 1 (default "feature.nu") */
    float kernel_eps;        /* RELU: added to every feature (default "feature.kernelEpsilon") */
    int stabilize;           /* Performer maps: see above */
    int normalize;           /* attn_normalize */
    unsigned set;            /* bit 1 << field id (ATTN_FEATURE_FIELDS) for each field given */
} attn_feature_spec;

/* The fields of attn_feature_spec by number: X(id, name, member). */
#define ATTN_FEATURE_FIELDS(X)                                                \
    X(0, "feature", feature) X(1, "features", m) X(2, "nu", nu)              \
    X(3, "kernelEpsilon", kernel_eps) X(4, "stabilize", stabilize)            \
    X(5, "normalize", normalize)
/* Where a feature spec is used: the defaults of feature and normalize differ. */
#define ATTN_FEATURE_USE_LIST(X)                                              \
    X(ATTN_USE_LINEAR, 0, "linear") X(ATTN_USE_FAST_WEIGHTS, 1, "fastWeights") \
    X(ATTN_USE_CAPACITY, 2, "capacity")
typedef enum attn_feature_use { ATTN_FEATURE_USE_LIST(ATTN__ENUM_ITEM) ATTN_FEATURE_USE_COUNT } attn_feature_use;
/* "linear", "fastWeights", "capacity"; NULL past the end. */
const char *attn_feature_use_name(int id);

/* For bindings that cannot lay out the struct: its size, and a setter of
 * every field (all marked given; the projection is the one pointer). */
size_t attn_feature_spec_size(void);
attn_status attn_feature_spec_set(attn_feature_spec *spec, int feature, size_t m,
                                  const float *projection,  // [m, d] or NULL
                                  size_t nu, float kernel_eps, int stabilize, int normalize);
/* Defaults: attn_feature_spec_init zeroes the spec (no field given);
 * attn_feature_spec_set_field gives one field (a double, stored as the
 * member's type: an integer in [0, 2^53] except kernelEpsilon, else
 * ATTN_ERR_RANGE; ATTN_ERR_KIND for an unknown id). A field not given (its
 * bit clear in `set`) and 0 takes its default: feature and normalize by use
 * ("linear.feature", "fastWeights.normalize", ...), m "feature.features",
 * nu "feature.nu", kernel_eps "feature.kernelEpsilon", stabilize
 * "feature.stabilize". attn_feature_spec_resolve fills them in place for a
 * use (and marks every field given); attn_feature_spec_get reads field id
 * back. Every function taking a spec resolves a copy for its use: feature
 * maps, kernel weights, linear attention ATTN_USE_LINEAR; attn_fast_weights
 * ATTN_USE_FAST_WEIGHTS; attn_capacity ATTN_USE_CAPACITY. */
/* Which field: the status a function taking the spec for `use` returns for
 * the spec with inputs of width d before any work (attn_feature_dim, the
 * projection's presence and finiteness, kernel_eps, normalize), with
 * *argument set to the name of the field at fault ("feature", "features" (m),
 * "nu", "kernelEpsilon", "normalize", "projection"; "d" for the width;
 * "spec" or "use" when NULL or unknown) or NULL for ATTN_OK. argument may be
 * NULL; no state is kept. */
attn_status attn_feature_spec_check(const attn_feature_spec *spec, int use, size_t d, const char **argument);
attn_status attn_feature_spec_init(attn_feature_spec *spec);
attn_status attn_feature_spec_set_field(attn_feature_spec *spec, int field, double value);
attn_status attn_feature_spec_resolve(attn_feature_spec *spec, int use);
attn_status attn_feature_spec_get(const attn_feature_spec *spec, int field, double *value);
const char *attn_feature_field_name(int field);

/* Width of the feature rows for inputs of width d; ATTN_ERR_KIND for an unknown
 * feature, ATTN_ERR_RANGE for m or nu of 0 where they are needed. */
attn_status attn_feature_dim(const attn_feature_spec *spec, size_t d, size_t *dim);

/* Workspace length in floats for attn_feature_map (m d for the Performer
 * maps, else 0). */
attn_status attn_feature_map_workspace(const attn_feature_spec *spec, size_t d, size_t *floats);

/* phi of each of the n rows of x as the given role (attn_role). */
attn_status attn_feature_map(const attn_feature_spec *spec, int role, size_t n, size_t d,
                             const float *x,   // [n, d]
                             float *out,       // [n, dim]
                             float *work, size_t work_floats);  // [work_floats]

/* Workspace length in floats for attn_kernel_weights / attn_linear_attention. */
attn_status attn_linear_workspace(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                  size_t dv, size_t *floats);

/* W[i, j] = phi(q_i).phi(k_j) / (sum over allowed j' of phi(q_i).phi(k_j') + eps),
 * allowed = all, or j <= i when causal; 0 where not allowed. This is the
 * matrix that linear attention applies implicitly. eps: finite, >= 0. A row
 * whose denominator is exactly 0 (eps = 0 and phi(q_i).phi(k_j) summing to
 * 0, e.g. ReLU features with kernel_eps = 0 and a negative q_i) is all 0,
 * like a row with no allowed key (and its output is 0). A row whose float32
 * dots overflow is computed in double: ATTN_ERR_OVERFLOW only for a W beyond
 * float32. Causal with ATTN_FEATURE_EFFICIENT: ATTN_ERR_RANGE. */
attn_status attn_kernel_weights(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                const float *q,  // [n, d]
                                const float *k,  // [m, d]
                                int causal, float eps,
                                float *w,        // [n, m] output
                                float *work, size_t work_floats);  // [work_floats]

/* Y = W V with W as in attn_kernel_weights, in O((n + m) dim dv) time without
 * an n x m matrix: phi(Q) (phi(K)^T V) / (phi(Q) sum_j phi(k_j) + eps), or
 * with running sums S_i = S_{i-1} + phi(k_i) v_i^T, z_i = z_{i-1} + phi(k_i)
 * when causal (the RNN form). */
attn_status attn_linear_attention(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                  size_t dv,
                                  const float *q,  // [n, d]
                                  const float *k,  // [m, d]
                                  const float *v,  // [m, dv]
                                  int causal, float eps,
                                  float *out,      // [n, dv] output
                                  float *work, size_t work_floats);  // [work_floats]

/* ---- backward: linear attention ----------------------------------------
 * Reverse mode (vector-Jacobian products) of the feature maps and of linear
 * attention, and of the fast weight memory (src/features_backward.c,
 * src/linear_backward.c, src/fastweight_backward.c; formulas in
 * their banners and in docs/mechanisms.md, "Gradients of linear attention").
 * Given dL/d(output) they return dL/d(inputs) for a scalar loss L; they
 * recompute what they need from the inputs (nothing is kept from a forward
 * call), with the same checks, statuses and workspace convention.
 *
 * Conventions the gradients follow:
 *   - Performer maps: the projection Omega is a constant (no gradient). The
 *     stabilizers of the forward (a query row's max, the keys' global max;
 *     favor-trig's h or max h) are constants too (stop-gradient): the
 *     gradient is that of the map with those constants held at their
 *     values. Linear attention's output does not depend on them when eps =
 *     0 (they scale a query row, or all keys, by one factor), so there this
 *     is also the gradient of the forward as computed.
 *   - Non-differentiable points take one-sided values: relu and dpfp's
 *     relu(+-x) have derivative 0 at x = 0, elu+1 has 1; taylor at x = 0
 *     has derivative I / 1e-6 (the limit of its definition).
 *   - normalize: a row whose sum or norm is 0 is 0 in the forward and has
 *     gradient 0 (as a zero-denominator row of attention has).
 *   - A zero denominator row of linear attention (output 0) gives zero
 *     gradients from that row.
 *   - Gradients beyond float32 give ATTN_ERR_OVERFLOW; a non-finite
 *     incoming gradient ATTN_ERR_NONFINITE.
 */

/* Workspace length in floats for attn_feature_map_backward on n rows. */
attn_status attn_feature_map_backward_workspace(const attn_feature_spec *spec, size_t n, size_t d,
                                                size_t *floats);
/* dx = (d phi / d x)^T dphi for the rows of x in the given role (the map and
 * its normalisation as attn_feature_map computes them, with the constants
 * above). The efficient key map (a softmax over positions) couples the
 * rows; every other map acts row by row. */
attn_status attn_feature_map_backward(const attn_feature_spec *spec, int role, size_t n, size_t d,
                                      const float *x,     // [n, d]
                                      const float *dphi,  // [n, dim] dL/dphi
                                      float *dx,          // [n, d] output dL/dx
                                      float *work, size_t work_floats);  // [work_floats]

/* Workspace length in floats for attn_linear_attention_backward: O((n + m)
 * (dim + dv) + dim dv) whether causal or not. */
attn_status attn_linear_attention_backward_workspace(const attn_feature_spec *spec, size_t n, size_t m,
                                                     size_t d, size_t dv, size_t *floats);
/* dq, dk, dv_out = dL/dQ, dL/dK, dL/dV of Y = attn_linear_attention(Q, K, V)
 * given dout = dL/dY. Non-causal in O((n + m) dim dv); causal by prefix
 * sums forwards and suffix sums backwards in blocks of rows, the same time
 * and O(dim dv) state, never an n x dim x dv tensor. Arguments and statuses
 * as attn_linear_attention (causal efficient: ATTN_ERR_RANGE), plus dout
 * (finite, else ATTN_ERR_NONFINITE). Causal with m > n: keys j >= n are
 * seen by no query, their gradients are 0. */
attn_status attn_linear_attention_backward(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                           size_t dv,
                                           const float *q,     // [n, d]
                                           const float *k,     // [m, d]
                                           const float *v,     // [m, dv]
                                           int causal, float eps,
                                           const float *dout,  // [n, dv] dL/dY
                                           float *dq,          // [n, d] output
                                           float *dk,          // [m, d] output
                                           float *dv_out,      // [m, dv] output
                                           float *work, size_t work_floats);  // [work_floats]

/* Workspace length in floats for attn_fast_weights_backward: O(T (dim + d)
 * + sqrt(T) dv dim). */
attn_status attn_fast_weights_backward_workspace(const attn_feature_spec *spec, size_t T, size_t d, size_t dv,
                                                 size_t *floats);
/* The gradients of L for the fast weight memory (attn_fast_weights, below,
 * same rule, spec (ATTN_USE_FAST_WEIGHTS), beta and alpha) given doutputs =
 * dL/d outputs: dkeys, dvalues, dqueries (required when queries is given;
 * when queries is NULL the queries are the keys and their gradient is added
 * to dkeys), dbeta[t] = dL/dbeta_t and dalpha[t] = dL/dalpha_t (NULL to
 * skip; for a scalar beta or alpha its gradient is the sum over t; 0 where
 * the rule does not use them). The final state is not an output here. The
 * states are recomputed, not stored: a checkpoint every ceil(sqrt(T)) steps,
 * each segment written again from its checkpoint and swept back (the delta
 * rule's W_{t-1} cannot be recovered from W_t), so O(sqrt(T) dv dim) memory
 * and twice the forward's writes. Statuses as attn_fast_weights, plus
 * doutputs (finite). */
attn_status attn_fast_weights_backward(const attn_feature_spec *spec, int rule, size_t T, size_t d, size_t dv,
                                       const float *keys,      // [T, d]
                                       const float *values,    // [T, dv]
                                       const float *queries,   // [T, d] or NULL (the keys)
                                       const float *beta,      // [T] or NULL
                                       float beta_scalar,
                                       const float *alpha,     // [T] or NULL
                                       float alpha_scalar,
                                       const float *doutputs,  // [T, dv] dL/d outputs
                                       float *dkeys,           // [T, d] output
                                       float *dvalues,         // [T, dv] output
                                       float *dqueries,        // [T, d] output, or NULL when queries is NULL
                                       float *dbeta,           // [T] output or NULL
                                       float *dalpha,          // [T] output or NULL
                                       float *work, size_t work_floats);  // [work_floats]

/* ---- fast weight memory -------------------------------------------------
 * Causal linear attention as a fast weight programmer (Schlag, Irie &
 * Schmidhuber 2021): a memory W [dv, dim] starts at 0 and is written once
 * per step t with phi = phi(k_t) (role key), then read with phi(q_t):
 *
 *   SUM          W_t = W_{t-1} + v_t phi^T
 *   DELTA        vbar = W_{t-1} phi;  W_t = W_{t-1} + beta_t (v_t - vbar) phi^T
 *   GATED_DELTA  W' = alpha_t W_{t-1}, then the DELTA step from W'
 *   read         y_t = W_t phi(q_t)
 *
 * beta and alpha: per-step arrays [T] or NULL for the scalars, all in [0, 1]
 * (else ATTN_ERR_RANGE). The delta rule diverges when beta |phi|^2 > 2 (each
 * write multiplies the old error along phi by 1 - beta |phi|^2): L2 keeps
 * |phi| = 1, SUM keeps |phi| <= 1 for non-negative features; with larger
 * keys it can diverge, and gives ATTN_ERR_OVERFLOW once a value leaves
 * float32 (as does any other sum beyond float32). ATTN_FEATURE_EFFICIENT:
 * ATTN_ERR_RANGE.
 * Optional outputs (NULL to skip): states [T, dv, dim], W after each step;
 * errors [T, T], errors[t, s] = 1/2 |v_s - W_t phi(k_s)|^2 for s <= t (how
 * much every earlier memory is damaged by later writes), 0 for s > t. */
#define ATTN_RULE_LIST(X)                                                     \
    X(ATTN_RULE_SUM, 0, "sum") X(ATTN_RULE_DELTA, 1, "delta")                 \
    X(ATTN_RULE_GATED_DELTA, 2, "gated-delta")
typedef enum attn_rule { ATTN_RULE_LIST(ATTN__ENUM_ITEM) ATTN_RULE_COUNT } attn_rule;
/* "sum", "delta", "gated-delta"; NULL past the end. */
const char *attn_rule_name(int id);

/* Workspace length in floats for attn_fast_weights. */
attn_status attn_fast_weights_workspace(const attn_feature_spec *spec, size_t T, size_t d, size_t dv,
                                        size_t *floats);
attn_status attn_fast_weights(const attn_feature_spec *spec, int rule, size_t T, size_t d, size_t dv,
                              const float *keys,     // [T, d]
                              const float *values,   // [T, dv]
                              const float *queries,  // [T, d] or NULL (the keys)
                              const float *beta,     // [T] or NULL
                              float beta_scalar,
                              const float *alpha,    // [T] or NULL
                              float alpha_scalar,
                              float *outputs,        // [T, dv]
                              float *final,          // [dv, dim]
                              float *states,         // [T, dv, dim] or NULL
                              float *errors,         // [T, T] or NULL
                              float *work, size_t work_floats);  // [work_floats]

/* The capacity experiment: store `size` pairs (key k_s ~ N(0, I_dkey), value
 * the one-hot e_s of length size) with the rule, read every key back with
 * itself as the query, and average 1/2 |e_s - y_s|^2 over the keys and over
 * `trials` draws (trial t seeded by seed + t). 0.5 means total failure. The
 * spec gives the feature map (its projection, if any, has width dkey). beta
 * in [0, 1]. ATTN_ERR_OVERFLOW if the memory leaves float32 (e.g. FAVOR+
 * without stabilize); ATTN_FEATURE_EFFICIENT: ATTN_ERR_RANGE. */
attn_status attn_capacity_workspace(const attn_feature_spec *spec, size_t dkey, size_t size,
                                    size_t *floats);
attn_status attn_capacity(const attn_feature_spec *spec, int rule, size_t dkey, size_t size,
                          float beta, size_t trials, uint64_t seed, double *error,
                          float *work, size_t work_floats);  // [work_floats]

/* ---- building blocks of the compressed / synthetic / sorted mechanisms ----
 * Linformer, memory-compressed attention, Synthesizer, Sinkhorn attention and
 * Funnel pooling are softmax attention over transformed keys, values or
 * logits; these are the transformations (the JS API composes them). */

/* C = (alpha A) B: alpha multiplies A's elements first (alpha finite, else
 * ATTN_ERR_RANGE). ATTN_ERR_OVERFLOW if C is not finite in float32. The
 * same for matmul_nt and pool_rows. */
attn_status attn_matmul(size_t n, size_t k, size_t m, float alpha,
                        const float *a,  // [n, k]
                        const float *b,  // [k, m]
                        float *c);       // [n, m]
/* C = (alpha A) B^T (work: m * k floats, attn_softmax_weights_workspace(n, m, k)). */
attn_status attn_matmul_nt(size_t n, size_t m, size_t k, float alpha,
                           const float *a,  // [n, k]
                           const float *b,  // [m, k]
                           float *c,        // [n, m]
                           float *work, size_t work_floats);
/* Slot pooling: out[s] = sum_t kernel[t] x[s c + t] over the rows of slot s
 * (slots of c rows; the last one may be shorter). c = 0 is refused. */
attn_status attn_pool_rows(size_t n, size_t d, size_t c,
                           const float *x,       // [n, d]
                           const float *kernel,  // [c]
                           float *out);          // [ceil(n / c), d]
/* In place: each row of logits becomes softmax over its allowed entries
 * (causal: j <= i; mask: non-zero), 0 elsewhere; rows with nothing allowed
 * are 0. Finite logits always give finite weights. */
attn_status attn_softmax_rows(size_t n, size_t m,
                              float *logits,        // [n, m] in: logits, out: weights
                              int causal,
                              const uint8_t *mask);  // [n, m] or NULL
/* In place, Sinkhorn normalisation in log space (Tay et al. 2020): L = L / tau,
 * then `iterations` rounds of L -= logsumexp over each row, L -= logsumexp
 * over each column; finally exp(L), a nearly doubly stochastic matrix. With
 * causal, entries above the diagonal are -inf throughout (0 at the end).
 * Since the first row step cancels any shift of a row, L = (L - max_row) / tau
 * is used when iterations >= 1 (max over the allowed entries, in double):
 * tau = 1e-38 with finite logits gives a finite S. iterations = 0 means no
 * normalisation: S = exp(L / tau), unnormalised.
 * tau: finite, > 0 (else ATTN_ERR_RANGE); ATTN_ERR_OVERFLOW if an allowed
 * (L - max_row) / tau leaves float32 (tau = 1e-35 with logits 0 and 1e4 in a
 * row) or, with iterations = 0, L / tau or exp(L / tau) does (exp(100)). */
attn_status attn_sinkhorn(size_t n,
                          float *logits,   // [n, n] in: logits, out: S
                          size_t iterations, float tau, int causal);

/* ---- structured inputs ---------------------------------------------------
 * Q [n, d], K [n, d] and V [n, dv] whose softmax attention at the usual
 * scale 1/sqrt(d) has the structure real heads have, so that pictures and
 * tests of the mechanisms start from something other than noise. Every
 * number comes from PCG32 seeded by `seed` (attn_rng_*), so a wasm build
 * gives bit-identical inputs in every engine.
 *
 * The structured kinds build coordinates x_i (queries) and y_j (keys) whose
 * product is a target logit, x_i . y_j = sqrt(d) L(i, j), so that the logit
 * at scale 1/sqrt(d) is L(i, j); they rotate them by one random orthogonal
 * [d, d] matrix R (Gram-Schmidt on Gaussian rows; dot products are kept, no
 * structure sits on the axes), add content noise N(0, 0.25^2) to every
 * entry of Q and K (ATTN_INPUTS_NOISE), and finally multiply Q and K by `scale`, which multiplies the
 * logits by scale^2 (the noise too). beta = 12 is the height of a
 * structure's logit (ATTN_INPUTS_BETA), sharp enough that at scale 1 a
 * structure holds most of a row's mass against n = 4096 other keys.
 *
 *   RANDOM          Q, K ~ N(0, scale^2), no structure (no rotation, no
 *                   extra noise): logits of standard deviation scale^2.
 *   LOCAL           rotary position features: for F = floor(d / 2)
 *                   frequencies w_f, x_i has the pair a (cos w_f i,
 *                   sin w_f i) and y_j the same at j, so x_i . y_j =
 *                   a^2 sum_f cos(w_f (i - j)), a function of i - j only.
 *                   The w_f are stratified Gaussian draws (quantiles
 *                   ((f + u_f) / F) of N(0, 1/sigma^2), u_f uniform): the
 *                   sum is a random-Fourier estimate of the Gaussian kernel
 *                   exp(-(i-j)^2 / (2 sigma^2)) (Bochner), so the logit is
 *                   about beta exp(-(i-j)^2 / (2 sigma^2)) and each row's
 *                   weights about a Gaussian in j of standard deviation
 *                   tau = width / 2.5 around i (sigma = tau sqrt(beta)):
 *                   about 98 % of the mass within |i - j| <= width. Far
 *                   keys carry an estimation noise of about
 *                   beta / sqrt(2F) in their logits, so the band is clean
 *                   from d = 32 on and rough below d = 16; d = 1 has no
 *                   pair and gives the noise alone.
 *   CLUSTERED       `clusters` centres c (one-hot coordinates when
 *                   clusters <= d, so orthogonal after R; else random unit
 *                   vectors); token t belongs to cluster z_t, the labels
 *                   t mod clusters shuffled (Fisher-Yates), so clusters
 *                   have equal sizes (within 1) and are not contiguous;
 *                   x_t = y_t = sqrt(sqrt(d) beta) c_{z_t}: logit beta
 *                   inside a cluster, about 0 across. Sorted by cluster,
 *                   the weights are blocks (what LSH and k-means find).
 *                   cluster[t] = z_t.
 *   GLOBAL          attention sinks: tokens 0 .. tokens-1. Every x_i and
 *                   the sinks' y_j carry one shared direction, the other
 *                   keys only noise: logit beta on the sinks, about 0
 *                   elsewhere; the sinks hold most of every row.
 *   PREVIOUS_TOKEN  LOCAL with x_i at position i - 1 and tau = 0.4: each
 *                   query's largest weight is on key i - 1 (from d = 16
 *                   on; the neighbours i and i - 2 get about e^-3 of it).
 *   MIXTURE         GLOBAL (one coordinate) plus LOCAL (the other d - 1),
 *                   each at logit beta; the sinks' keys carry the sink
 *                   direction alone. Every row splits its mass between the
 *                   sinks (about 40 % on average, 10 % to 75 % in most rows) and
 *                   its window.
 *
 * V ~ N(0, 1) in every kind, drawn first from the seed, so the same seed
 * gives the same V whatever the kind.
 */
#define ATTN_INPUT_KIND_LIST(X)                                               \
    X(ATTN_INPUT_RANDOM, 0, "random") X(ATTN_INPUT_LOCAL, 1, "local")         \
    X(ATTN_INPUT_CLUSTERED, 2, "clustered") X(ATTN_INPUT_GLOBAL, 3, "global") \
    X(ATTN_INPUT_PREVIOUS_TOKEN, 4, "previous-token")                         \
    X(ATTN_INPUT_MIXTURE, 5, "mixture")
typedef enum attn_input_kind { ATTN_INPUT_KIND_LIST(ATTN__ENUM_ITEM) ATTN_INPUT_KIND_COUNT } attn_input_kind;
/* "random" .. "mixture"; NULL past the end. */
const char *attn_input_kind_name(int id);

/* The logit height of a structure at scale 1 (see above). */
#define ATTN_INPUTS_BETA 12.0
/* The standard deviation of the content noise added to Q and K (before scale). */
#define ATTN_INPUTS_NOISE 0.25

/* A generator and its parameters; 0 means the default:
 *   scale     multiplies Q and K: finite, >= 0; 0 means 1
 *   width     LOCAL, MIXTURE: the window half-width; 0 means 4; clamped to n
 *   clusters  CLUSTERED: 1 .. n; 0 means min(4, n)
 *   tokens    GLOBAL, MIXTURE: the number of sinks, 1 .. n; 0 means min(2, n)
 * A parameter a kind does not use is ignored (its range is still checked). */
typedef struct attn_inputs_spec {
    int kind;  /* attn_input_kind */
    uint64_t seed;
    double scale;
    size_t width, clusters, tokens;
} attn_inputs_spec;

/* For bindings: the size of the struct, and a setter. */
size_t attn_inputs_spec_size(void);
attn_status attn_inputs_spec_set(attn_inputs_spec *spec, int kind, uint64_t seed, double scale,
                                 size_t width, size_t clusters, size_t tokens);

/* The values attn_inputs uses for n and d: fields left 0 take their defaults
 * ("inputs.*" in ATTN_DEFAULT_LIST, at most n); the same checks as attn_inputs. */
attn_status attn_inputs_resolved(const attn_inputs_spec *spec, size_t n, size_t d,
                                 double *scale, size_t *width, size_t *clusters, size_t *tokens);

/* Workspace length in floats for attn_inputs: 0 for RANDOM, else
 * d^2 + 33 d, plus clusters d for CLUSTERED with clusters > d. Checks the
 * spec like attn_inputs (ATTN_ERR_KIND, ATTN_ERR_RANGE, ATTN_ERR_SHAPE). */
attn_status attn_inputs_workspace(const attn_inputs_spec *spec, size_t n, size_t d,
                                  size_t *floats);
/* Fills q, k, v as described above. cluster: the cluster of each token for
 * CLUSTERED (required: ATTN_ERR_NULL without it), -1 for the other kinds (may
 * be NULL). ATTN_ERR_SHAPE for n, d or dv of 0; ATTN_ERR_MEMORY when n >
 * INT32_MAX or a matrix does not fit in size_t; ATTN_ERR_KIND for an unknown
 * kind; ATTN_ERR_RANGE for a scale that is negative or not finite, clusters
 * or tokens > n; ATTN_ERR_OVERFLOW when scale makes Q or K leave float32. */
attn_status attn_inputs(const attn_inputs_spec *spec, size_t n, size_t d, size_t dv,
                        float *q,          // [n, d] output
                        float *k,          // [n, d] output
                        float *v,          // [n, dv] output
                        int32_t *cluster,  // [n] output, or NULL
                        float *work, size_t work_floats);  // [work_floats]

/* ---- layers ----------------------------------------------------------
 * The layers and the optimizer of a small model (src/layers.c, where the
 * formulas are): each forward with its reverse mode (the vector-Jacobian
 * product with dy = dL/dy). Outputs are caller-owned. Parameter gradients
 * (dw, db, dgain, dbias, dtable) overwrite their output, or are added to it
 * when accumulate != 0; dx always overwrites (and may be NULL when not
 * wanted). Common status codes: ATTN_ERR_NULL, ATTN_ERR_SHAPE (a size of
 * 0), ATTN_ERR_MEMORY (a matrix beyond size_t), ATTN_ERR_NONFINITE (an
 * input is NaN or Inf), ATTN_ERR_OVERFLOW (an output left float32),
 * ATTN_ERR_RANGE (an option or an index out of range),
 * ATTN_ERR_WORKSPACE. */

/* Linear layer y = x w^T + b (b may be NULL: no bias), through the kernel
 * table's gemm. Workspace: in * out floats (forward), out * n (backward). */
attn_status attn_layer_linear_workspace(size_t n, size_t in, size_t out, size_t *floats);
attn_status attn_layer_linear(size_t n, size_t in, size_t out,
                              const float *x,  // [n, in]
                              const float *w,  // [out, in]
                              const float *b,  // [out] or NULL
                              float *y,        // [n, out] output
                              float *work, size_t work_floats);  // [work_floats]
attn_status attn_layer_linear_backward_workspace(size_t n, size_t in, size_t out, size_t *floats);
/* dx = dy w, dw = dy^T x, db = column sums of dy. */
attn_status attn_layer_linear_backward(size_t n, size_t in, size_t out,
                                       const float *x,   // [n, in]
                                       const float *w,   // [out, in]
                                       const float *dy,  // [n, out]
                                       float *dx,        // [n, in] output, or NULL
                                       float *dw,        // [out, in] output
                                       float *db,        // [out] output, or NULL
                                       int accumulate,
                                       float *work, size_t work_floats);  // [work_floats]

/* Layer norm over each row: y = gain o (x - mean) / sqrt(var + eps) + bias,
 * var the biased (population) variance; eps > 0 and finite, else
 * ATTN_ERR_RANGE. bias may be NULL (0). Statistics in double; the backward
 * recomputes them from x (no saved state). */
attn_status attn_layer_norm(size_t n, size_t d, double eps,
                            const float *x,     // [n, d]
                            const float *gain,  // [d]
                            const float *bias,  // [d] or NULL
                            float *y);          // [n, d] output
attn_status attn_layer_norm_backward(size_t n, size_t d, double eps,
                                     const float *x,     // [n, d]
                                     const float *gain,  // [d]
                                     const float *dy,    // [n, d]
                                     float *dx,          // [n, d] output, or NULL
                                     float *dgain,       // [d] output, or NULL
                                     float *dbias,       // [d] output, or NULL
                                     int accumulate);

/* GELU, the tanh form: y = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2
 * (GPT-2; PyTorch's approximate='tanh'), elementwise, in double. */
attn_status attn_gelu(size_t count,
                      const float *x,  // [count]
                      float *y);       // [count] output (may be x)
attn_status attn_gelu_backward(size_t count,
                               const float *x,   // [count]
                               const float *dy,  // [count]
                               float *dx);       // [count] output (may be dy)

/* Softmax cross-entropy of each row of logits against an integer target:
 * loss = mean over the rows with targets[i] >= 0 of lse(row) - row[target]
 * (a negative target marks an ignored position; none counted: loss 0);
 * dlogits (may be NULL) = its gradient, (softmax - onehot) / count, 0 on
 * ignored rows. A target >= classes: ATTN_ERR_RANGE. */
attn_status attn_cross_entropy(size_t n, size_t classes,
                               const float *logits,     // [n, classes]
                               const int32_t *targets,  // [n]
                               float *loss,             // [1] output
                               float *dlogits);         // [n, classes] output, or NULL

/* Embedding lookup y[i] = table[tokens[i]] and its backward, the
 * scatter-add dtable[tokens[i]] += dy[i]. A token outside [0, vocab):
 * ATTN_ERR_RANGE. */
attn_status attn_embedding(size_t n, size_t vocab, size_t d,
                           const int32_t *tokens,  // [n]
                           const float *table,     // [vocab, d]
                           float *y);              // [n, d] output
attn_status attn_embedding_backward(size_t n, size_t vocab, size_t d,
                                    const int32_t *tokens,  // [n]
                                    const float *dy,        // [n, d]
                                    float *dtable,          // [vocab, d] output
                                    int accumulate);

/* One AdamW step (decoupled weight decay, as PyTorch's AdamW), step t >= 1
 * (m and v zero before the first):
 *   p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
 *   p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),
 * in double per element. ATTN_ERR_RANGE: t = 0, lr or wd negative or not
 * finite, b1 or b2 outside [0, 1), eps <= 0 or not finite;
 * ATTN_ERR_NONFINITE (nothing changed) for a non-finite gradient, parameter
 * or moment. */
attn_status attn_adamw_step(size_t count,
                            float *param,       // [count] updated
                            const float *grad,  // [count]
                            float *m,           // [count] updated
                            float *v,           // [count] updated
                            size_t step, double lr, double beta1, double beta2, double eps,
                            double weight_decay);

/* Global-norm gradient clipping over several tensors: N = sqrt(sum of every
 * g^2) (in double); when N > max_norm every gradient is multiplied by
 * max_norm / (N + 1e-6) (PyTorch's clip_grad_norm_). norm (may be NULL)
 * gets N. max_norm must be > 0 and finite (ATTN_ERR_RANGE); a non-finite
 * gradient gives ATTN_ERR_NONFINITE and changes nothing. */
attn_status attn_clip_grad_norm(size_t tensors,
                                float *const *grads,   // [tensors], grads[t]: [counts[t]]
                                const size_t *counts,  // [tensors]
                                double max_norm,
                                double *norm);         // [1] output, or NULL

/* Learning rate of step `step` (0-based, the step about to be taken):
 *   step < warmup:            lr_max (step + 1) / warmup     (linear warm-up)
 *   warmup <= step < total:   lr_min + (lr_max - lr_min) (1 + cos(pi p)) / 2,
 *                             p = (step - warmup) / (total - warmup)
 *   step >= total:            lr_min.
 * ATTN_ERR_RANGE: total = 0, warmup > total, lr_min < 0, lr_min > lr_max or
 * either not finite. */
attn_status attn_lr_schedule(size_t step, size_t warmup, size_t total, double lr_max, double lr_min,
                             double *lr);  // [1] output

/* Seeded initialisation: out[i] = std * attn_rng_normal(rng), rounded to
 * float; std >= 0, finite and <= 1e30 (else ATTN_ERR_RANGE). */
attn_status attn_init_normal(attn_rng *rng, size_t count, double std,
                             float *out);  // [count] output

#ifdef __cplusplus
}
#endif

#endif /* ATTN_H */
