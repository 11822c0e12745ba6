/*
 * masks.c - attention masks, generated one row at a time from their rules
 * (attn.h has the table), so that dense masks, compressed sparse rows and
 * counts all come from the same code; the clusterings behind the
 * data-driven masks (Reformer LSH, Routing Transformer k-means); and the
 * number of stacked layers a pattern needs to connect its tokens.
 *
 *   mask(i, j)  = OR of the components' rules (LOCAL |i - j| <= w, STRIDED
 *                 (i - j) mod s = 0, GLOBAL i or j in tokens, ...), one bit each
 *   LSH         h(x) = argmax [x R, -x R],  R ~ N(0, 1)^[d, buckets/2]
 *   k-means     c(x) = argmax_c  x^ . mu_c,  mu_c = normalised mean of its rows
 *   layers      R_1 = A + I,  R_{L+1}(i) = OR_{j in R_1(i)} R_L(j)   (bitsets),
 *               reached[L-1] = |R_L|
 *
 * Sizes: fields are checked as doubles before conversion (attn_mask_spec_set),
 * counts of cells run in 64 bits, and CSR stops at INT32_MAX entries.
 */
#include "internal.h"

#include <math.h>

/* ------------------------------------------------------------------ spec */

size_t attn_mask_spec_size(void) { return sizeof(attn_mask_spec); }

attn_status attn_mask_spec_init(attn_mask_spec *spec, int kind, size_t n) {
    if (!spec) return ATTN_ERR_NULL;
    memset(spec, 0, sizeof *spec);
    spec->kind = kind;
    spec->n = n;
    spec->tokens = NULL;
    spec->assignments = NULL;
    return ATTN_OK;
}

enum { RANGE_FLAG, RANGE_AT_MOST_N, RANGE_ODD_N, RANGE_ANY, RANGE_COUNT };

/* The value a field of the given range stores (attn.h: ATTN_MASK_FIELDS),
 * checked and clamped in double, so that the conversion to the member's
 * type is exact. */
static attn_status field_value(size_t n, int range, double value, double *out) {
    /* Before any conversion: on wasm32 size_t has 32 bits, and converting a
     * larger double is undefined behaviour. */
    if (!(value >= 0 && value <= 9007199254740992.0) || value != floor(value)) return ATTN_ERR_RANGE;
    double cap = n == 0 ? 1.0 : n > INT32_MAX ? (double)INT32_MAX : (double)n;
    switch (range) {
    case RANGE_FLAG: if (value > 1) return ATTN_ERR_RANGE; break;
    case RANGE_AT_MOST_N: if (value > cap) value = cap; break;
    case RANGE_ODD_N:
        if (value > 2 * cap + 1) value = fmod(value, 2) == 1 ? 2 * cap + 1 : 2 * cap;
        break;
    case RANGE_COUNT: if (value > INT32_MAX) return ATTN_ERR_RANGE; break;
    default: break;  /* RANGE_ANY */
    }
    *out = value;
    return ATTN_OK;
}

attn_status attn_mask_spec_set(attn_mask_spec *spec, int field, double value) {
    if (!spec) return ATTN_ERR_NULL;
    double v;
    attn_status st;
    switch (field) {
#define ATTN__SET(id, name, member, range)                                    \
    case id:                                                                  \
        if ((st = field_value(spec->n, RANGE_##range, value, &v)) != ATTN_OK) \
            return st;                                                        \
        spec->member = v;                                                     \
        spec->set |= 1u << (id);                                              \
        return ATTN_OK;
        ATTN_MASK_FIELDS(ATTN__SET)
#undef ATTN__SET
    default: return ATTN_ERR_KIND;
    }
}

attn_status attn_mask_spec_set_arrays(attn_mask_spec *spec, const int32_t *tokens,
                                      const int32_t *assignments) {
    if (!spec) return ATTN_ERR_NULL;
    spec->tokens = tokens;
    spec->assignments = assignments;
    return ATTN_OK;
}

const char *attn_mask_field_name(int field) {
    switch (field) {
#define ATTN__NAME(id, name, member, range) case id: return name;
        ATTN_MASK_FIELDS(ATTN__NAME)
#undef ATTN__NAME
    default: return NULL;
    }
}

/* The one global token of GLOBAL and LONGFORMER when none are given. */
#define ATTN__TOKEN(name, text, value, doc) (name == ATTN_DEFAULT_MASK_TOKEN ? (int32_t)(value) : 0) +
static const int32_t default_token[1] = {ATTN_DEFAULT_LIST(ATTN__TOKEN) 0};
#undef ATTN__TOKEN

attn_status attn_mask_spec_resolve(attn_mask_spec *s) {
    if (!s) return ATTN_ERR_NULL;
    if (s->kind < 0 || s->kind >= ATTN_MASK_KIND_COUNT || s->n == 0) return ATTN_OK;
    size_t n = s->n;
    int k = s->kind;
    /* field id, member: the default when not given and 0 */
#define ATTN__UNSET(id, member) (!(s->set & (1u << (id))) && s->member == 0)
#define ATTN__NAMED(id) ((size_t)attn_default_value(id))
    if (ATTN__UNSET(1, window) &&
        (k == ATTN_MASK_KIND_LOCAL || k == ATTN_MASK_KIND_DILATED || k == ATTN_MASK_KIND_LONGFORMER))
        s->window = attn_default_window(n);
    if (ATTN__UNSET(3, stride) && (k == ATTN_MASK_KIND_STRIDED || k == ATTN_MASK_KIND_SPARSE_TRANSFORMER))
        s->stride = attn_default_root(n);
    if (ATTN__UNSET(2, dilation) && k == ATTN_MASK_KIND_DILATED)
        s->dilation = ATTN__NAMED(ATTN_DEFAULT_MASK_DILATION);
    if (ATTN__UNSET(2, dilation) && k == ATTN_MASK_KIND_LONGFORMER)
        s->dilation = ATTN__NAMED(ATTN_DEFAULT_MASK_LONGFORMER_DILATION);
    if (ATTN__UNSET(4, block) && k == ATTN_MASK_KIND_FIXED) s->block = attn_default_root(n);
    if (ATTN__UNSET(4, block) && k == ATTN_MASK_KIND_BIGBIRD) s->block = attn_default_bigbird_block(n);
    if (ATTN__UNSET(5, summary) && k == ATTN_MASK_KIND_FIXED) s->summary = ATTN__NAMED(ATTN_DEFAULT_MASK_SUMMARY);
    if (ATTN__UNSET(7, per_row) && k == ATTN_MASK_KIND_RANDOM) s->per_row = attn_default_per_row(n);
    if (k == ATTN_MASK_KIND_BIGBIRD) {
        if (ATTN__UNSET(8, window_blocks)) s->window_blocks = ATTN__NAMED(ATTN_DEFAULT_MASK_WINDOW_BLOCKS);
        if (ATTN__UNSET(9, global_blocks)) s->global_blocks = ATTN__NAMED(ATTN_DEFAULT_MASK_GLOBAL_BLOCKS);
        if (ATTN__UNSET(10, random_blocks)) s->random_blocks = ATTN__NAMED(ATTN_DEFAULT_MASK_RANDOM_BLOCKS);
    }
    if (ATTN__UNSET(6, n_tokens) && !s->tokens && (k == ATTN_MASK_KIND_GLOBAL || k == ATTN_MASK_KIND_LONGFORMER)) {
        s->tokens = default_token;
        s->n_tokens = 1;
    }
#undef ATTN__UNSET
#undef ATTN__NAMED
    s->set = ~0u;
    return ATTN_OK;
}

attn_status attn_mask_spec_get(const attn_mask_spec *spec, int field, double *value) {
    if (!spec || !value) return ATTN_ERR_NULL;
    attn_mask_spec s = *spec;
    attn_mask_spec_resolve(&s);
    switch (field) {
#define ATTN__GET(id, name, member, range) case id: *value = (double)s.member; return ATTN_OK;
        ATTN_MASK_FIELDS(ATTN__GET)
#undef ATTN__GET
    default: return ATTN_ERR_KIND;
    }
}

/* The checks of attn_mask_check on a resolved spec; *argument names the
 * field at fault. */
#define ATTN__FAIL(status, name)                                              \
    do {                                                                      \
        *argument = name;                                                     \
        return status;                                                        \
    } while (0)
static attn_status check_resolved(const attn_mask_spec *s, const char **argument) {
    *argument = NULL;
    if (s->kind < 0 || s->kind >= ATTN_MASK_KIND_COUNT) ATTN__FAIL(ATTN_ERR_KIND, "kind");
    if (s->n == 0) ATTN__FAIL(ATTN_ERR_SHAPE, "n");
    if (s->n > INT32_MAX) ATTN__FAIL(ATTN_ERR_MEMORY, "n");  /* CSR indices are int32 */
    switch (s->kind) {
    case ATTN_MASK_KIND_STRIDED:
    case ATTN_MASK_KIND_SPARSE_TRANSFORMER:
        if (s->stride == 0) ATTN__FAIL(ATTN_ERR_RANGE, "stride");
        break;
    case ATTN_MASK_KIND_FIXED:
        if (s->block == 0) ATTN__FAIL(ATTN_ERR_RANGE, "block");
        if (s->summary > s->block) ATTN__FAIL(ATTN_ERR_RANGE, "summary");
        break;
    case ATTN_MASK_KIND_DILATED:
    case ATTN_MASK_KIND_LONGFORMER:
        if (s->dilation == 0) ATTN__FAIL(ATTN_ERR_RANGE, "dilation");
        break;
    case ATTN_MASK_KIND_BIGBIRD:
        if (s->block == 0 || s->n % s->block != 0) ATTN__FAIL(ATTN_ERR_RANGE, "block");
        if (s->window_blocks % 2 == 0) ATTN__FAIL(ATTN_ERR_RANGE, "windowBlocks");
        break;
    case ATTN_MASK_KIND_CLUSTER: {
        size_t cells;
        if (s->rounds == 0) ATTN__FAIL(ATTN_ERR_RANGE, "rounds");
        if (!s->assignments) ATTN__FAIL(ATTN_ERR_NULL, "assignments");
        if (!attn__mul(s->rounds, s->n, &cells) || !attn__mul(cells, sizeof(int32_t), &cells))
            ATTN__FAIL(ATTN_ERR_MEMORY, "rounds");
        break;
    }
    default: break;
    }
    if (s->kind == ATTN_MASK_KIND_GLOBAL || s->kind == ATTN_MASK_KIND_LONGFORMER) {
        if (s->n_tokens > 0 && !s->tokens) ATTN__FAIL(ATTN_ERR_NULL, "tokens");
        for (size_t t = 0; t < s->n_tokens; t++)
            if (s->tokens[t] < 0 || (size_t)s->tokens[t] >= s->n) ATTN__FAIL(ATTN_ERR_RANGE, "tokens");
    }
    return ATTN_OK;
}
#undef ATTN__FAIL

attn_status attn_mask_spec_check(const attn_mask_spec *spec, const char **argument) {
    const char *ignored;
    if (!argument) argument = &ignored;
    *argument = NULL;
    if (!spec) {
        *argument = "spec";
        return ATTN_ERR_NULL;
    }
    attn_mask_spec s = *spec;
    attn_mask_spec_resolve(&s);
    return check_resolved(&s, argument);
}

attn_status attn_mask_check(const attn_mask_spec *spec) { return attn_mask_spec_check(spec, NULL); }

/* *s = the resolved copy of spec, checked. */
static attn_status resolved(const attn_mask_spec *spec, attn_mask_spec *s) {
    const char *argument;
    if (!spec) return ATTN_ERR_NULL;
    *s = *spec;
    attn_mask_spec_resolve(s);
    return check_resolved(s, &argument);
}

/* ------------------------------------------------------------ row rules */

/* A generator seeded by (seed, index): rows and block-rows draw independently
 * of the order in which they are generated. */
static void seed_at(attn_rng *rng, uint64_t seed, size_t index) {
    attn_rng_seed(rng, seed ^ (0x9e3779b97f4a7c15ull * ((uint64_t)index + 1)));
}

/* Uniform integer in [0, bound). */
static size_t below(attn_rng *rng, size_t bound) {
    size_t t = (size_t)(attn_rng_uniform(rng) * (double)bound);
    return t < bound ? t : bound - 1;
}

/* Keys j with i - j = step * t for t in [-before, after] (j in range). */
static void set_steps(uint8_t *row, size_t n, size_t i, size_t step, size_t before, size_t after,
                      uint8_t bit) {
    for (size_t t = 0; t <= before && t * step <= i; t++) row[i - t * step] |= bit;
    for (size_t t = 1; t <= after && t * step < n - i; t++) row[i + t * step] |= bit;
}

static void set_global(const attn_mask_spec *s, size_t i, uint8_t *row) {
    for (size_t t = 0; t < s->n_tokens; t++) {
        if ((size_t)s->tokens[t] == i) {  /* a global query sees every key */
            for (size_t j = 0; j < s->n; j++) row[j] |= ATTN_MASK_GLOBAL;
            return;
        }
    }
    for (size_t t = 0; t < s->n_tokens; t++) row[s->tokens[t]] |= ATTN_MASK_GLOBAL;
}

/* BigBird: marks the random blocks of block-row bi on the (zeroed) row,
 * which doubles as the set of blocks already drawn (Floyd's sampling). */
static void set_bigbird_random(const attn_mask_spec *s, size_t bi, uint8_t *row) {
    size_t b = s->block, nb = s->n / b, g = s->global_blocks, half = s->window_blocks / 2;
    if (bi < g || bi + g >= nb) return;  /* global block-rows see everything already */
    /* Candidates: middle blocks [g, nb - g) outside [bi - half, bi + half]. */
    size_t left_end = bi > half ? bi - half : 0;  /* candidates g .. left_end - 1 */
    size_t left = left_end > g ? left_end - g : 0;
    size_t right_start = bi + half + 1;           /* candidates right_start .. nb - g - 1 */
    size_t right = nb - g > right_start ? nb - g - right_start : 0;
    size_t avail = left + right;
    size_t r = attn__min(s->random_blocks, avail);
    attn_rng rng;
    seed_at(&rng, s->seed, bi);
    for (size_t t = avail - r; t < avail; t++) {
        size_t pick = below(&rng, t + 1);
        size_t blk = pick < left ? g + pick : right_start + (pick - left);
        if (row[blk * b] & ATTN_MASK_RANDOM) {  /* taken: take t instead */
            blk = t < left ? g + t : right_start + (t - left);
        }
        memset(row + blk * b, ATTN_MASK_RANDOM, b);
    }
}

/* Writes row i of the mask (s valid, row of n bytes). */
static void mask_row(const attn_mask_spec *s, size_t i, uint8_t *row) {
    const size_t n = s->n;
    memset(row, 0, n);
    switch (s->kind) {
    case ATTN_MASK_KIND_FULL: memset(row, ATTN_MASK_LOCAL, n); break;
    case ATTN_MASK_KIND_CAUSAL: memset(row, ATTN_MASK_LOCAL, i + 1); break;
    case ATTN_MASK_KIND_LOCAL:
        set_steps(row, n, i, 1, s->window, s->causal ? 0 : s->window, ATTN_MASK_LOCAL);
        break;
    case ATTN_MASK_KIND_STRIDED:
        set_steps(row, n, i, s->stride, n, s->causal ? 0 : n, ATTN_MASK_STRIDED);
        break;
    case ATTN_MASK_KIND_DILATED:
    case ATTN_MASK_KIND_LONGFORMER:
        set_steps(row, n, i, s->dilation, s->window, s->causal ? 0 : s->window, ATTN_MASK_LOCAL);
        if (s->kind == ATTN_MASK_KIND_LONGFORMER) set_global(s, i, row);
        break;
    case ATTN_MASK_KIND_FIXED: {
        size_t l = s->block;
        for (size_t j = i - i % l; j <= i; j++) row[j] |= ATTN_MASK_LOCAL;
        for (size_t j = 0; j <= i; j++)
            if (j % l >= l - s->summary) row[j] |= ATTN_MASK_STRIDED;
        break;
    }
    case ATTN_MASK_KIND_SPARSE_TRANSFORMER:
        set_steps(row, n, i, 1, s->stride - 1, 0, ATTN_MASK_LOCAL);
        set_steps(row, n, i, s->stride, n, 0, ATTN_MASK_STRIDED);
        break;
    case ATTN_MASK_KIND_GLOBAL: set_global(s, i, row); break;
    case ATTN_MASK_KIND_RANDOM: {
        size_t lim = s->causal ? i + 1 : n;
        if (s->per_row >= lim) {
            memset(row, ATTN_MASK_RANDOM, lim);
            break;
        }
        attn_rng rng;
        seed_at(&rng, s->seed, i);
        for (size_t t = lim - s->per_row; t < lim; t++) {  /* Floyd's sampling */
            size_t j = below(&rng, t + 1);
            row[row[j] ? t : j] = ATTN_MASK_RANDOM;
        }
        break;
    }
    case ATTN_MASK_KIND_BIGBIRD: {
        size_t b = s->block, nb = n / b, bi = i / b, g = s->global_blocks, half = s->window_blocks / 2;
        int global_row = bi < g || bi + g >= nb;
        set_bigbird_random(s, bi, row);  /* none in a global row */
        for (size_t c = 0; c < nb; c++) {  /* a window block in a global row or column has both bits */
            uint8_t bit = (uint8_t)((global_row || c < g || c + g >= nb ? ATTN_MASK_GLOBAL : 0) |
                                    ((c > bi ? c - bi : bi - c) <= half ? ATTN_MASK_LOCAL : 0));
            if (bit)
                for (size_t j = c * b; j < (c + 1) * b; j++) row[j] |= bit;
        }
        break;
    }
    case ATTN_MASK_KIND_CLUSTER:
        for (size_t r = 0; r < s->rounds; r++) {
            const int32_t *a = s->assignments + r * n;
            for (size_t j = 0; j < n; j++)
                if (a[j] == a[i]) row[j] = ATTN_MASK_CLUSTER;
        }
        break;
    default: break;
    }
}

/* ---------------------------------------------------------------- drivers */

attn_status attn_mask_dense(const attn_mask_spec *spec, uint8_t *out) {  // [n, n]
    attn_mask_spec resolved_spec;
    attn_status st = resolved(spec, &resolved_spec);
    if (st != ATTN_OK) return st;
    spec = &resolved_spec;
    if (!out) return ATTN_ERR_NULL;
    size_t cells;
    if (!attn__mul(spec->n, spec->n, &cells)) return ATTN_ERR_MEMORY;
    for (size_t i = 0; i < spec->n; i++) mask_row(spec, i, out + i * spec->n);
    return ATTN_OK;
}

attn_status attn__csr_fits(uint64_t nnz, uint64_t size_max) {
    if (nnz > INT32_MAX || nnz > size_max / sizeof(int32_t)) return ATTN_ERR_MEMORY;
    return ATTN_OK;
}

/* The number of non-zero bytes of row, eight at a time. */
static uint64_t count_nonzero(const uint8_t *row, size_t n) {  // [n]
    uint64_t count = 0;
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        uint64_t w;
        memcpy(&w, row + j, sizeof w);
        /* each byte to 1 if non-zero: fold its bits into the lowest one */
        w |= w >> 4;
        w |= w >> 2;
        w |= w >> 1;
        w &= 0x0101010101010101ull;
        count += (w * 0x0101010101010101ull) >> 56;  /* the sum of the eight bytes */
    }
    for (; j < n; j++) count += row[j] != 0;
    return count;
}

attn_status attn_mask_nnz(const attn_mask_spec *spec, size_t *nnz, uint8_t *work) {  // [n]
    attn_mask_spec resolved_spec;
    attn_status st = resolved(spec, &resolved_spec);
    if (st != ATTN_OK) return st;
    spec = &resolved_spec;
    if (!nnz || !work) return ATTN_ERR_NULL;
    uint64_t count = 0;  /* n^2 can exceed a 32-bit size_t */
    for (size_t i = 0; i < spec->n; i++) {
        mask_row(spec, i, work);
        count += count_nonzero(work, spec->n);
        if ((st = attn__csr_fits(count, SIZE_MAX)) != ATTN_OK) return st;  /* stop as soon as it cannot fit */
    }
    *nnz = (size_t)count;
    return ATTN_OK;
}

attn_status attn_mask_csr(const attn_mask_spec *spec, size_t capacity,
                          int32_t *indptr,   // [n + 1]
                          int32_t *indices,  // [capacity]
                          uint8_t *bits,     // [capacity] or NULL
                          uint8_t *work) {   // [n]
    attn_mask_spec resolved_spec;
    attn_status st = resolved(spec, &resolved_spec);
    if (st != ATTN_OK) return st;
    spec = &resolved_spec;
    if (!indptr || !work || (capacity && !indices)) return ATTN_ERR_NULL;
    size_t at = 0;
    indptr[0] = 0;
    for (size_t i = 0; i < spec->n; i++) {
        mask_row(spec, i, work);
        for (size_t j = 0; j < spec->n; j++) {
            if (!work[j]) continue;
            if (at >= INT32_MAX) return ATTN_ERR_MEMORY;
            if (at >= capacity) return ATTN_ERR_WORKSPACE;
            indices[at] = (int32_t)j;
            if (bits) bits[at] = work[j];
            at++;
        }
        indptr[i + 1] = (int32_t)at;
    }
    return ATTN_OK;
}

attn_status attn_dense_to_csr(size_t n, size_t m,
                              const uint8_t *mask,  // [n, m]
                              size_t capacity,
                              int32_t *indptr,      // [n + 1]
                              int32_t *indices) {   // [capacity]
    if (!mask || !indptr || (capacity && !indices)) return ATTN_ERR_NULL;
    if (n == 0 || m == 0) return ATTN_ERR_SHAPE;
    if (m > INT32_MAX) return ATTN_ERR_MEMORY;
    size_t at = 0;
    indptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++) {
            if (!mask[i * m + j]) continue;
            if (at >= INT32_MAX) return ATTN_ERR_MEMORY;
            if (at >= capacity) return ATTN_ERR_WORKSPACE;
            indices[at++] = (int32_t)j;
        }
        indptr[i + 1] = (int32_t)at;
    }
    return ATTN_OK;
}

/* ------------------------------------------------------------- clustering */

/* Shared input checks of the two clusterings. */
static attn_status check_points(size_t n, size_t d, const float *x, const int32_t *assignments) {
    if (!x || !assignments) return ATTN_ERR_NULL;
    if (n == 0 || d == 0) return ATTN_ERR_SHAPE;
    if (n > INT32_MAX) return ATTN_ERR_MEMORY;
    attn_status st = attn__matrix_fits(n, d);
    if (st != ATTN_OK) return st;
    return attn__all_finite(x, n * d) ? ATTN_OK : ATTN_ERR_NONFINITE;
}

/* 1 / |x|, or 0 for x = 0. */
static double inverse_norm(const float *x, size_t d) {  // [d]
    double s = 0;
    for (size_t l = 0; l < d; l++) s += (double)x[l] * x[l];
    return s > 0 ? 1.0 / sqrt(s) : 0.0;
}

enum { POINT_BLOCK = 64 };  /* rows per gemm when scoring points */

typedef struct lsh_plan {
    size_t r, p, total;
} lsh_plan;

static attn_status plan_lsh(size_t d, size_t half, lsh_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->r = attn__layout_add(&L, d, half);            // [d, half] the rotation R
    P->p = attn__layout_add(&L, POINT_BLOCK, half);  // [POINT_BLOCK, half] projections x R
    return attn__layout_end(&L, &P->total);
}

attn_status attn_lsh_workspace(size_t d, size_t buckets, size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    lsh_plan P;
    attn_status st = plan_lsh(d, buckets / 2, &P);
    if (st == ATTN_OK) *floats = P.total;
    return st;
}

attn_status attn_lsh_buckets(size_t n, size_t d,
                             const float *x,        // [n, d]
                             size_t buckets, size_t hashes, uint64_t seed,
                             int32_t *assignments,  // [hashes, n]
                             float *work, size_t work_floats) {  // [attn_lsh_workspace]
    attn_status st = check_points(n, d, x, assignments);
    if (st != ATTN_OK) return st;
    if (buckets < 2 || buckets % 2 != 0 || buckets > INT32_MAX || hashes == 0) return ATTN_ERR_RANGE;
    size_t half = buckets / 2;
    lsh_plan plan;
    if ((st = plan_lsh(d, half, &plan)) != ATTN_OK) return st;
    if (!work || work_floats < plan.total) return ATTN_ERR_WORKSPACE;
    const attn__kernels *kern = attn__kernels_get();
    float *R = work + plan.r;  // [d, half]
    float *P = work + plan.p;  // [POINT_BLOCK, half] projections x R
    attn_rng rng;
    attn_rng_seed(&rng, seed);
    for (size_t r = 0; r < hashes; r++) {
        for (size_t t = 0; t < d * half; t++) R[t] = (float)attn_rng_normal(&rng);
        /* argmax([x R, -x R]) does not change when x is scaled by 1/|x| > 0,
         * so x^ = x/|x| need not be formed (x = 0 gives bucket 0). */
        for (size_t i0 = 0; i0 < n; i0 += POINT_BLOCK) {
            size_t rows = attn__min(POINT_BLOCK, n - i0);
            kern->gemm(rows, half, d, 1.0f, x + i0 * d, d, R, half, P, half, 0);
            for (size_t i = 0; i < rows; i++) {
                const float *p = P + i * half;
                float best = -INFINITY;
                size_t arg = 0;
                for (size_t c = 0; c < half; c++)
                    if (p[c] > best) best = p[c], arg = c;             /* [x R, ...] */
                for (size_t c = 0; c < half; c++)
                    if (-p[c] > best) best = -p[c], arg = half + c;    /* [..., -x R] */
                assignments[r * n + i0 + i] = (int32_t)arg;
            }
        }
    }
    return ATTN_OK;
}

typedef struct kmeans_plan {
    size_t u, centroids, sums, counts, dist, ct, scores, total;
} kmeans_plan;

static attn_status plan_kmeans(size_t n, size_t d, size_t k, kmeans_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->u = attn__layout_add(&L, n, d);                // [n, d] unit rows
    P->centroids = attn__layout_add(&L, k, d);        // [k, d]
    P->sums = attn__layout_add(&L, k, d);             // [k, d]
    P->counts = attn__layout_add(&L, 1, k);           // [k]
    P->dist = attn__layout_add(&L, 1, n);             // [n] squared distance to the nearest centroid
    P->ct = attn__layout_add(&L, d, k);               // [d, k] centroids transposed
    P->scores = attn__layout_add(&L, POINT_BLOCK, k); // [POINT_BLOCK, k] cosines of a block of rows
    return attn__layout_end(&L, &P->total);
}

attn_status attn_kmeans_workspace(size_t n, size_t d, size_t clusters, size_t *floats) {
    if (!floats) return ATTN_ERR_NULL;
    kmeans_plan P;
    attn_status st = plan_kmeans(n, d, clusters, &P);
    if (st == ATTN_OK) *floats = P.total;
    return st;
}

attn_status attn_kmeans(size_t n, size_t d,
                        const float *x,        // [n, d]
                        size_t clusters, size_t iterations, uint64_t seed,
                        int32_t *assignments,  // [n]
                        float *work, size_t work_floats) {  // [attn_kmeans_workspace]
    attn_status st = check_points(n, d, x, assignments);
    if (st != ATTN_OK) return st;
    if (clusters == 0 || clusters > n) return ATTN_ERR_RANGE;
    kmeans_plan P;
    if ((st = plan_kmeans(n, d, clusters, &P)) != ATTN_OK) return st;
    if (!work || work_floats < P.total) return ATTN_ERR_WORKSPACE;
    const size_t k = clusters;
    const attn__kernels *kern = attn__kernels_get();
    float *u = work + P.u, *centroids = work + P.centroids, *sums = work + P.sums, *counts = work + P.counts;
    float *dist = work + P.dist, *ct = work + P.ct, *scores = work + P.scores;
    for (size_t i = 0; i < n; i++) {
        double inv = inverse_norm(x + i * d, d);
        for (size_t l = 0; l < d; l++) u[i * d + l] = (float)(x[i * d + l] * inv);
    }
    /* k-means++ seeding (Arthur & Vassilvitskii 2007) on the sphere: the first
     * centroid a uniform row, each next one a row drawn with probability
     * proportional to its squared chordal distance 2 - 2 cos to the nearest
     * centroid so far (uniform if every row sits on a centroid). */
    attn_rng rng;
    attn_rng_seed(&rng, seed);
    memcpy(centroids, u + below(&rng, n) * d, d * sizeof *u);
    for (size_t i = 0; i < n; i++) dist[i] = INFINITY;
    for (size_t c = 1; c < k; c++) {
        const float *last = centroids + (c - 1) * d;
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            double d2 = 2.0 - 2.0 * kern->dot(u + i * d, last, d);
            if (d2 < 0) d2 = 0;
            if (d2 < dist[i]) dist[i] = (float)d2;
            total += dist[i];
        }
        size_t pick = below(&rng, n);
        if (total > 0) {
            double target = attn_rng_uniform(&rng) * total, run = 0;
            for (pick = 0; pick + 1 < n; pick++) {
                run += dist[pick];
                if (run > target) break;
            }
        }
        memcpy(centroids + c * d, u + pick * d, d * sizeof *u);
    }
    for (size_t it = 0;; it++) {
        /* Assign: the centroid of largest cosine (ties: the lower index). */
        for (size_t c = 0; c < k; c++)
            for (size_t l = 0; l < d; l++) ct[l * k + c] = centroids[c * d + l];
        for (size_t i0 = 0; i0 < n; i0 += POINT_BLOCK) {
            size_t rows = attn__min(POINT_BLOCK, n - i0);
            kern->gemm(rows, k, d, 1.0f, u + i0 * d, d, ct, k, scores, k, 0);
            for (size_t i = 0; i < rows; i++) {
                const float *s = scores + i * k;
                size_t arg = 0;
                for (size_t c = 1; c < k; c++)
                    if (s[c] > s[arg]) arg = c;
                assignments[i0 + i] = (int32_t)arg;
            }
        }
        if (it == iterations) break;
        memset(sums, 0, (k * d + k) * sizeof *sums);
        for (size_t i = 0; i < n; i++) {
            float *sum = sums + (size_t)assignments[i] * d;
            for (size_t l = 0; l < d; l++) sum[l] += u[i * d + l];
            counts[assignments[i]] += 1;
        }
        for (size_t cl = 0; cl < k; cl++) {
            double inv = inverse_norm(sums + cl * d, d);
            if (counts[cl] == 0 || inv == 0) continue;  /* empty: keep the centroid */
            for (size_t l = 0; l < d; l++) centroids[cl * d + l] = (float)(sums[cl * d + l] * inv);
        }
    }
    return ATTN_OK;
}

/* ------------------------------------------------------------------ layers */

/* Bit builtins where the compiler has them (ATTN_NO_BUILTINS: the portable
 * loops, which the native tests also build once). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(ATTN_NO_BUILTINS)
#define ATTN__BIT_BUILTINS 1
#else
#define ATTN__BIT_BUILTINS 0
#endif

/* The index of the lowest set bit of x (x != 0). */
static unsigned lowest_bit(uint64_t x) {
#if ATTN__BIT_BUILTINS
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned b = 0;
    while (!(x & 1)) x >>= 1, b++;
    return b;
#endif
}

static size_t popcount64(uint64_t x) {
#if ATTN__BIT_BUILTINS
    return (size_t)__builtin_popcountll(x);
#else
    size_t c = 0;
    for (; x; x &= x - 1) c++;
    return c;
#endif
}

/* One layer costs about (n + nnz) ceil(n / 64) word operations: every row
 * ORs the reach sets of its keys and of itself. */
int attn__layers_fit(size_t n, uint64_t nnz, double layers, double done) {
    double words = (double)(n / 64 + (n % 64 != 0));
    return done + layers * ((double)n + (double)nnz) * words <= ATTN__LAYERS_MAX_WORK;
}

/* Three bitsets of n rows of `words` 64-bit words (the units of this layout). */
typedef struct layers_plan {
    size_t words, adj, reach, next, total;
} layers_plan;

static attn_status plan_layers(size_t n, layers_plan *P) {
    attn__layout L = ATTN__LAYOUT_INIT;
    P->words = n / 64 + (n % 64 != 0);
    P->adj = attn__layout_add(&L, n, P->words);    // [n, words]: keys of query i, and i itself
    P->reach = attn__layout_add(&L, n, P->words);  // [n, words]: what query i reaches in L layers
    P->next = attn__layout_add(&L, n, P->words);   // [n, words]: the same in L + 1 layers
    return attn__layout_end(&L, &P->total);
}

attn_status attn_mask_layers_workspace(size_t n, size_t *words) {
    if (!words) return ATTN_ERR_NULL;
    layers_plan P;
    attn_status st = plan_layers(n, &P);
    if (st == ATTN_OK) *words = P.total;
    return st;
}

attn_status attn_mask_layers(size_t n,
                             const uint8_t *mask,  // [n, n]
                             size_t max_layers,
                             double *reached,      // [max_layers]
                             size_t *layers,
                             uint64_t *work, size_t work_words) {  // [work_words]
    if (!mask || !reached || !layers) return ATTN_ERR_NULL;
    if (n == 0 || max_layers == 0) return ATTN_ERR_SHAPE;
    size_t cells;
    layers_plan P;
    attn_status st = plan_layers(n, &P);
    if (st != ATTN_OK) return st;
    const size_t words = P.words;
    if (!attn__mul(n, n, &cells)) return ATTN_ERR_MEMORY;
    if (!work || work_words < P.total) return ATTN_ERR_WORKSPACE;
    /* Refuse at once what one layer alone would take too long for. */
    uint64_t nnz = 0;
    for (size_t i = 0; i < n; i++) nnz += count_nonzero(mask + i * n, n);
    if (!attn__layers_fit(n, nnz, 1, 0)) return ATTN_ERR_RANGE;

    uint64_t *adj = work + P.adj, *reach = work + P.reach, *next = work + P.next;
    memset(adj, 0, n * words * sizeof *adj);
    for (size_t i = 0; i < n; i++) {
        adj[i * words + i / 64] |= 1ull << (i % 64);
        for (size_t j = 0; j < n; j++)
            if (mask[i * n + j]) adj[i * words + j / 64] |= 1ull << (j % 64);
    }
    memcpy(reach, adj, n * words * sizeof *adj);  /* one layer */
    double count = 0, done = 0;
    for (size_t t = 0; t < n * words; t++) count += (double)popcount64(reach[t]);
    reached[0] = count;
    size_t last_growth = count > (double)n ? 1 : 0;  /* the last layer that reached a new pair */
    size_t L = 1;
    for (; L < max_layers; L++) {
        /* Layer L + 1: i reaches what its keys (and itself) reach in L layers. */
        if (!attn__layers_fit(n, nnz, 1, done)) return ATTN_ERR_RANGE;
        done += ((double)n + (double)nnz) * (double)words;
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t *out = next + i * words;
            const uint64_t *keys = adj + i * words;
            memset(out, 0, words * sizeof *out);
            for (size_t w = 0; w < words; w++)
                for (uint64_t bitsw = keys[w]; bitsw; bitsw &= bitsw - 1) {
                    const uint64_t *row = reach + (w * 64 + lowest_bit(bitsw)) * words;
                    for (size_t t = 0; t < words; t++) out[t] |= row[t];
                }
            for (size_t t = 0; t < words; t++) total += (double)popcount64(out[t]);
        }
        reached[L] = total;
        if (total == count) break;  /* nothing new: no later layer changes either */
        last_growth = L + 1;
        count = total;
        uint64_t *swap = reach;
        reach = next;
        next = swap;
    }
    for (size_t r = L + 1; r < max_layers; r++) reached[r] = count;
    /* If it still grew at the last layer computed, the answer is unknown. */
    *layers = last_growth < max_layers ? (last_growth > 0 ? last_growth : 1) : 0;
    return ATTN_OK;
}
