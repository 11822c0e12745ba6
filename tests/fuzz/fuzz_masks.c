/*
 * fuzz_masks.c - libFuzzer target: mask specs, CSR, stacked layers, LSH and
 * k-means.
 *
 * A. A spec built through attn_mask_spec_set with arbitrary doubles (NaN,
 *    negative, fractions, 2^31, 2^32 + k, 2^53 + k, 2^64, 1e300) for every
 *    field, tokens and assignments in and out of range. Oracle: a value that
 *    is not an integer in [0, 2^53] is refused with ERR_RANGE, an unknown
 *    field with ERR_KIND (a size above n or a flag above 1 may be refused
 *    too, by spec_set or mask_check); attn_mask_check agrees with the rules
 *    of attn.h;
 *    then attn_mask_dense, attn_mask_nnz, attn_mask_csr (with capacity nnz,
 *    and nnz - 1 giving ERR_WORKSPACE) and attn_dense_to_csr agree cell by
 *    cell and bit by bit, and the mask is the one attn.h's table defines,
 *    evaluated here on the doubles that were set (so a value that wraps on
 *    its way into size_t is caught): exactly for every deterministic kind,
 *    and by count per row (RANDOM) or per block-row (BIGBIRD) for the drawn
 *    parts.
 * B. A dense [n, m] mask from the bytes: attn_dense_to_csr against a direct
 *    count; for n = m attn_mask_layers against a breadth-first search here.
 * C. attn_lsh_buckets and attn_kmeans on fuzzed points: status rules,
 *    assignments in range, a zero row in LSH bucket 0, the same assignments
 *    for the points times 2 (exact in float arithmetic when nothing
 *    overflows or underflows), and their assignments as a CLUSTER spec
 *    through part A's checks.
 */
#include "fuzz.h"

enum { MAX_N = 64, FIELDS = 13, MAX_ROUNDS = 4 };

/* What the harness set, as doubles: the meaning without any conversion. */
typedef struct shadow {
    double f[FIELDS];
    int32_t *tokens;
    size_t n_tokens;
    int32_t *assign;
    size_t rounds;
    int huge;  /* some accepted value exceeds n (a flag 1): the core may refuse it */
} shadow;

enum { F_CAUSAL, F_WINDOW, F_DILATION, F_STRIDE, F_BLOCK, F_SUMMARY, F_NTOKENS, F_PERROW, F_WB, F_GB, F_RB,
       F_SEED, F_ROUNDS };

/* A double for a field: ordinary sizes mostly, then every edge. */
static double fz_option(fz_in *in, size_t n) {
    uint8_t b = fz_u8(in);
    switch (b % 16) {
    case 0: case 1: case 2: case 3: case 4: case 5: return (double)(fz_u8(in) % (n + 4));
    case 6: return fz_u8(in) % 8 + 0.5;
    case 7: return b & 0x80 ? -0.0 : -1.0 - fz_u8(in) % 3;
    case 8: return 4294967296.0 + (double)(fz_u8(in) % 5) - 2;  /* 2^32 - 2 .. 2^32 + 2 */
    case 9: return 2147483648.0 + (double)(fz_u8(in) % 3) - 1;  /* 2^31 - 1 .. 2^31 + 1 */
    case 10: return 9007199254740992.0 + (double)(fz_u8(in) % 5) * 2 - 4;  /* 2^53 - 4 .. 2^53 + 4 */
    case 11: return b & 0x80 ? 18446744073709551616.0 : 1e300;
    case 12: return b & 0x80 ? NAN : b & 0x40 ? INFINITY : -INFINITY;
    case 13: return 4294967296.0 * (double)(fz_u8(in) % 4 + 1) + (double)(fz_u8(in) % (n + 1));  /* k 2^32 + small */
    case 14: {
        uint64_t bits = fz_u64(in);
        double x;
        memcpy(&x, &bits, sizeof x);
        return x;
    }
    default: return (double)n + (double)(fz_u8(in) % 3) - 1;
    }
}

static int valid_value(double x) { return x >= 0 && x <= 9007199254740992.0 && x == floor(x); }

/* The status attn.h promises for the spec. */
static attn_status expected_check(int kind, size_t n, const shadow *s) {
    const double *f = s->f;
    if (kind < 0 || kind >= ATTN_MASK_KIND_COUNT) return ATTN_ERR_KIND;
    if (n == 0) return ATTN_ERR_SHAPE;
    switch (kind) {
    case ATTN_MASK_KIND_STRIDED:
    case ATTN_MASK_KIND_SPARSE_TRANSFORMER:
        if (f[F_STRIDE] == 0) return ATTN_ERR_RANGE;
        break;
    case ATTN_MASK_KIND_FIXED:
        if (f[F_BLOCK] == 0 || f[F_SUMMARY] > f[F_BLOCK]) return ATTN_ERR_RANGE;
        break;
    case ATTN_MASK_KIND_DILATED:
    case ATTN_MASK_KIND_LONGFORMER:
        if (f[F_DILATION] == 0) return ATTN_ERR_RANGE;
        break;
    case ATTN_MASK_KIND_BIGBIRD:
        if (f[F_BLOCK] == 0 || fmod((double)n, f[F_BLOCK]) != 0) return ATTN_ERR_RANGE;
        if (fmod(f[F_WB], 2) == 0) return ATTN_ERR_RANGE;
        break;
    case ATTN_MASK_KIND_CLUSTER:
        if (f[F_ROUNDS] == 0) return ATTN_ERR_RANGE;
        if (!s->assign) return ATTN_ERR_NULL;
        break;
    default: break;
    }
    if (kind == ATTN_MASK_KIND_GLOBAL || kind == ATTN_MASK_KIND_LONGFORMER) {
        if (s->n_tokens > 0 && !s->tokens) return ATTN_ERR_NULL;
        for (size_t t = 0; t < s->n_tokens; t++)
            if (s->tokens[t] < 0 || (size_t)s->tokens[t] >= n) return ATTN_ERR_RANGE;
    }
    return ATTN_OK;
}

static int is_token(const shadow *s, size_t i) {
    for (size_t t = 0; t < s->n_tokens; t++)
        if ((size_t)s->tokens[t] == i) return 1;
    return 0;
}

/* The bits of cell (i, j) by attn.h's table, for the deterministic kinds
 * (RANDOM: 0; BIGBIRD: without its random blocks). */
static unsigned ref_cell(int kind, size_t n, const shadow *s, size_t i, size_t j) {
    const double *f = s->f;
    double di = (double)i, dj = (double)j, diff = di - dj, ad = fabs(diff);
    int causal = f[F_CAUSAL] != 0;
    unsigned bits = 0;
    switch (kind) {
    case ATTN_MASK_KIND_FULL: return ATTN_MASK_LOCAL;
    case ATTN_MASK_KIND_CAUSAL: return j <= i ? ATTN_MASK_LOCAL : 0;
    case ATTN_MASK_KIND_LOCAL:
        return ad <= f[F_WINDOW] && (!causal || diff >= 0) ? ATTN_MASK_LOCAL : 0;
    case ATTN_MASK_KIND_STRIDED:
        return fmod(ad, f[F_STRIDE]) == 0 && (!causal || diff >= 0) ? ATTN_MASK_STRIDED : 0;
    case ATTN_MASK_KIND_DILATED:
    case ATTN_MASK_KIND_LONGFORMER:
        if (fmod(ad, f[F_DILATION]) == 0 && ad / f[F_DILATION] <= f[F_WINDOW] && (!causal || diff >= 0))
            bits |= ATTN_MASK_LOCAL;
        if (kind == ATTN_MASK_KIND_LONGFORMER && (is_token(s, i) || is_token(s, j))) bits |= ATTN_MASK_GLOBAL;
        return bits;
    case ATTN_MASK_KIND_FIXED:
        if (j <= i && floor(dj / f[F_BLOCK]) == floor(di / f[F_BLOCK])) bits |= ATTN_MASK_LOCAL;
        if (j <= i && fmod(dj, f[F_BLOCK]) >= f[F_BLOCK] - f[F_SUMMARY]) bits |= ATTN_MASK_STRIDED;
        return bits;
    case ATTN_MASK_KIND_SPARSE_TRANSFORMER:
        if (diff >= 0 && diff <= f[F_STRIDE] - 1) bits |= ATTN_MASK_LOCAL;
        if (diff >= 0 && fmod(diff, f[F_STRIDE]) == 0) bits |= ATTN_MASK_STRIDED;
        return bits;
    case ATTN_MASK_KIND_GLOBAL: return is_token(s, i) || is_token(s, j) ? ATTN_MASK_GLOBAL : 0;
    case ATTN_MASK_KIND_BIGBIRD: {
        double b = f[F_BLOCK], nb = (double)n / b, bi = floor(di / b), bj = floor(dj / b), g = f[F_GB];
        double half = floor((f[F_WB] - 1) / 2);
        /* attn.h: a window cell in a global row or column carries both bits */
        if (bi < g || bi >= nb - g || bj < g || bj >= nb - g) bits |= ATTN_MASK_GLOBAL;
        if (fabs(bi - bj) <= half) bits |= ATTN_MASK_LOCAL;
        return bits;
    }
    case ATTN_MASK_KIND_CLUSTER:
        for (size_t r = 0; r < s->rounds; r++)
            if (s->assign[r * n + i] == s->assign[r * n + j]) return ATTN_MASK_CLUSTER;
        return 0;
    default: return 0;
    }
}

/* Part A's checks of one spec (already set up). */
static void check_spec(const attn_mask_spec *spec, int kind, size_t n, const shadow *sh) {
    attn_status want = expected_check(kind, n, sh), st = attn_mask_check(spec);
    FZ_STATUS(st);
    if (want != ATTN_OK) {
        FZ_ORACLE(st == want, "mask_check: %s, attn.h says %s", attn_status_code(st), attn_status_code(want));
        return;
    }
    if (st != ATTN_OK) {
        FZ_ORACLE(st == ATTN_ERR_RANGE && sh->huge, "mask_check: %s for a valid spec", attn_status_code(st));
        return;
    }
    uint8_t *dense = fz_alloc(n * n), *work = fz_alloc(n);
    st = attn_mask_dense(spec, dense);
    FZ_ALWAYS(st == ATTN_OK, "mask_dense: %s after mask_check OK", attn_status_code(st));
    size_t nnz = 0, count = 0;
    st = attn_mask_nnz(spec, &nnz, work);
    FZ_ALWAYS(st == ATTN_OK, "mask_nnz: %s after mask_check OK", attn_status_code(st));
    for (size_t t = 0; t < n * n; t++) count += dense[t] != 0;
    FZ_ORACLE(nnz == count, "mask_nnz %zu, dense count %zu", nnz, count);
    int32_t *indptr = fz_alloc((n + 1) * sizeof *indptr), *indices = fz_alloc(count * sizeof *indices);
    uint8_t *bits = fz_alloc(count);
    if (count > 0) {
        st = attn_mask_csr(spec, count - 1, indptr, indices, bits, work);
        FZ_ORACLE(st == ATTN_ERR_WORKSPACE, "mask_csr with capacity nnz - 1: %s", attn_status_code(st));
    }
    st = attn_mask_csr(spec, count, indptr, indices, bits, work);
    FZ_ORACLE(st == ATTN_OK, "mask_csr with capacity nnz: %s", attn_status_code(st));
    if (st == ATTN_OK) {
        FZ_ORACLE(indptr[0] == 0 && (size_t)indptr[n] == count, "mask_csr: indptr[n] = %d, dense count %zu", indptr[n],
                  count);
        for (size_t i = 0; i < n && (size_t)indptr[n] == count; i++)
            for (int32_t t = indptr[i]; t < indptr[i + 1]; t++) {
                FZ_ORACLE(indices[t] >= 0 && (size_t)indices[t] < n && (t == indptr[i] || indices[t] > indices[t - 1]),
                          "mask_csr: row %zu indices not increasing in range", i);
                FZ_ORACLE(bits[t] == dense[i * n + (size_t)indices[t]], "mask_csr: bits of (%zu, %d) = %u, dense %u",
                          i, indices[t], bits[t], dense[i * n + (size_t)indices[t]]);
            }
        int32_t *ip2 = fz_alloc((n + 1) * sizeof *ip2), *ix2 = fz_alloc(count * sizeof *ix2);
        st = attn_dense_to_csr(n, n, dense, count, ip2, ix2);
        FZ_ORACLE(st == ATTN_OK && !memcmp(ip2, indptr, (n + 1) * sizeof *ip2) && !memcmp(ix2, indices, count * sizeof *ix2),
                  "dense_to_csr of the dense mask differs from mask_csr");
        free(ip2);
        free(ix2);
    }
    /* The rules. */
    const double *f = sh->f;
    for (size_t i = 0; i < n; i++) {
        size_t row = 0;
        for (size_t j = 0; j < n; j++) {
            unsigned got = dense[i * n + j];
            row += got != 0;
            if (kind == ATTN_MASK_KIND_RANDOM) {
                int causal = f[F_CAUSAL] != 0;
                FZ_ORACLE(got == 0 || (got == ATTN_MASK_RANDOM && (!causal || j <= i)),
                          "random mask: cell (%zu, %zu) = %u", i, j, got);
                continue;
            }
            unsigned want_bits = ref_cell(kind, n, sh, i, j);
            if (kind == ATTN_MASK_KIND_BIGBIRD) got &= ~(unsigned)ATTN_MASK_RANDOM;
            FZ_ORACLE(got == want_bits, "mask kind %d: cell (%zu, %zu) = %u, attn.h's rule gives %u", kind, i, j,
                      got, want_bits);
        }
        if (kind == ATTN_MASK_KIND_RANDOM) {
            double lim = f[F_CAUSAL] != 0 ? (double)i + 1 : (double)n;
            FZ_ORACLE((double)row == fmin(f[F_PERROW], lim), "random mask: row %zu has %zu keys, perRow %.17g", i, row,
                      f[F_PERROW]);
        }
    }
    if (kind == ATTN_MASK_KIND_BIGBIRD) {
        size_t b = (size_t)f[F_BLOCK], nb = n / b;
        double g = f[F_GB], half = floor((f[F_WB] - 1) / 2);
        for (size_t bi = 0; bi < nb; bi++) {
            size_t avail = 0, drawn = 0;
            int global_row = (double)bi < g || (double)bi >= (double)nb - g;
            for (size_t c = 0; c < nb; c++) {
                int middle = !((double)c < g || (double)c >= (double)nb - g);
                if (middle && fabs((double)bi - (double)c) > half) avail++;
                int r = (dense[bi * b * n + c * b] & ATTN_MASK_RANDOM) != 0;
                drawn += r;
                for (size_t i = bi * b; i < (bi + 1) * b; i++)
                    for (size_t j = c * b; j < (c + 1) * b; j++)
                        FZ_ORACLE(((dense[i * n + j] & ATTN_MASK_RANDOM) != 0) == r,
                                  "bigbird: random block (%zu, %zu) not whole", bi, c);
                FZ_ORACLE(!r || (middle && fabs((double)bi - (double)c) > half && !global_row),
                          "bigbird: random block (%zu, %zu) is global or in the window", bi, c);
            }
            double want = global_row ? 0 : fmin(f[F_RB], (double)avail);
            FZ_ORACLE((double)drawn == want, "bigbird: block-row %zu has %zu random blocks, want %g", bi, drawn, want);
        }
    }
    free(dense);
    free(work);
    free(indptr);
    free(indices);
    free(bits);
}

/* Part B: an arbitrary dense mask. */
static void part_b(fz_in *in) {
    size_t n = fz_range(in, 1, 48), m = fz_u8(in) & 1 ? n : fz_range(in, 1, 48);
    uint8_t *mask = fz_alloc(n * m);
    double density = fz_u8(in) / 255.0;
    in->lcg ^= fz_u32(in);
    size_t count = 0;
    for (size_t t = 0; t < n * m; t++) {
        mask[t] = (fz_lcg(in) + 1) / 2 < density ? (uint8_t)(1 + fz_u8(in) % 255) : 0;
        count += mask[t] != 0;
    }
    FZ_CTX("part B: n=%zu m=%zu count=%zu", n, m, count);
    int32_t *indptr = fz_alloc((n + 1) * sizeof *indptr), *indices = fz_alloc(count * sizeof *indices);
    if (count) FZ_ORACLE(attn_dense_to_csr(n, m, mask, count - 1, indptr, indices) == ATTN_ERR_WORKSPACE,
                         "dense_to_csr: capacity count - 1 accepted");
    attn_status st = attn_dense_to_csr(n, m, mask, count, indptr, indices);
    FZ_ORACLE(st == ATTN_OK && (size_t)indptr[n] == count, "dense_to_csr: %s", attn_status_code(st));
    for (size_t i = 0; st == ATTN_OK && i < n; i++) {
        size_t t = (size_t)indptr[i];
        for (size_t j = 0; j < m; j++)
            if (mask[i * m + j]) {
                FZ_ORACLE(t < (size_t)indptr[i + 1] && (size_t)indices[t] == j, "dense_to_csr: row %zu wrong", i);
                t++;
            }
        FZ_ORACLE(t == (size_t)indptr[i + 1], "dense_to_csr: row %zu has extra keys", i);
    }
    if (n == m) {
        size_t max_layers = fz_range(in, 0, 70), need = 0, layers = 99;
        FZ_ALWAYS(attn_mask_layers_workspace(n, &need) == ATTN_OK && need > 0, "mask_layers_workspace for n = %zu", n);
        double *reached = fz_alloc((max_layers ? max_layers : 1) * sizeof *reached);
        uint64_t *work = fz_alloc(need * sizeof *work);
        st = attn_mask_layers(n, mask, max_layers, reached, &layers, work, need);
        FZ_STATUS(st);
        if (max_layers == 0) {
            FZ_ORACLE(st == ATTN_ERR_SHAPE, "mask_layers with max_layers 0: %s", attn_status_code(st));
        } else {
            FZ_ORACLE(st == ATTN_OK, "mask_layers: %s", attn_status_code(st));
            FZ_ORACLE(attn_mask_layers(n, mask, max_layers, reached, &layers, work, need - 1) == ATTN_ERR_WORKSPACE,
                      "mask_layers: a short workspace accepted");
            attn_mask_layers(n, mask, max_layers, reached, &layers, work, need);
            /* breadth-first search: reach_L = reach_{L-1} and its neighbours (and itself) */
            uint8_t *reach = fz_alloc(n * n), *next = fz_alloc(n * n);
            memset(reach, 0, n * n);
            for (size_t i = 0; i < n; i++) reach[i * n + i] = 1;
            double prev = (double)n;
            size_t growing = 0;
            for (size_t L = 1; L <= max_layers; L++) {
                memcpy(next, reach, n * n);
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < n; j++)
                        if (reach[i * n + j])
                            for (size_t k2 = 0; k2 < n; k2++)
                                if (mask[j * n + k2]) next[i * n + k2] = 1;
                memcpy(reach, next, n * n);
                double c = 0;
                for (size_t t = 0; t < n * n; t++) c += reach[t];
                FZ_ORACLE(reached[L - 1] == c, "mask_layers: reached[%zu] = %g, search gives %g", L - 1, reached[L - 1], c);
                if (c > prev) growing = L;
                prev = c;
            }
            size_t want = growing < max_layers ? (growing > 0 ? growing : 1) : 0;
            FZ_ORACLE(layers == want, "mask_layers: layers %zu, search gives %zu", layers, want);
            free(reach);
            free(next);
        }
        free(reached);
        free(work);
    }
    free(mask);
    free(indptr);
    free(indices);
}

/* Part C: the clusterings, then their assignments as a CLUSTER mask. */
static void part_c(fz_in *in) {
    size_t n = fz_range(in, 1, 48), d = fz_range(in, 1, 16);
    int bad;
    float *x = fz_matrix(in, n, d, fz_u8(in) & 1, &bad);
    uint8_t which = fz_u8(in);
    size_t hashes = fz_range(in, 0, MAX_ROUNDS), iterations = fz_range(in, 0, 6);
    size_t k = which & 1 ? (size_t)fz_u8(in) % (n + 2) : (size_t)fz_u8(in) % 18;  /* clusters or buckets */
    if (which & 0x10) k = (size_t)1 << (fz_u8(in) % 40);
    if (which & 1) hashes = 1;
    uint64_t seed = fz_u64(in);
    double xmax = 0, xmin = INFINITY;
    for (size_t t = 0; t < n * d; t++)
        if (x[t] != 0) {
            xmax = fmax(xmax, fabs(x[t]));
            xmin = fmin(xmin, fabs(x[t]));
        }
    FZ_CTX("part C: %s n=%zu d=%zu k=%zu hashes=%zu iterations=%zu max|x|=%g", which & 1 ? "kmeans" : "lsh", n, d,
           k, hashes, iterations, xmax);
    int32_t *assign = fz_alloc((hashes ? hashes : 1) * n * sizeof *assign);
    int32_t *assign2 = fz_alloc((hashes ? hashes : 1) * n * sizeof *assign2);
    size_t need = 0;
    attn_status st, want;
    float *x2 = fz_alloc(n * d * sizeof *x2);
    for (size_t t = 0; t < n * d; t++) x2[t] = 2 * x[t];
    if (which & 1) {
        want = bad ? ATTN_ERR_NONFINITE : (k == 0 || k > n) ? ATTN_ERR_RANGE : ATTN_OK;
        if (want == ATTN_OK) FZ_ALWAYS(attn_kmeans_workspace(n, d, k, &need) == ATTN_OK, "kmeans workspace");
        float *work = fz_alloc(need * sizeof *work);
        st = attn_kmeans(n, d, x, k, iterations, seed, assign, work, need);
        FZ_STATUS(st);
        FZ_ORACLE(st == want, "kmeans: %s, expected %s", attn_status_code(st), attn_status_code(want));
        if (st == ATTN_OK && xmax <= 1e38) {
            attn_kmeans(n, d, x2, k, iterations, seed, assign2, work, need);
            FZ_ORACLE(!memcmp(assign, assign2, n * sizeof *assign), "kmeans: points times 2 change the assignments");
        }
        free(work);
    } else {
        want = bad ? ATTN_ERR_NONFINITE : (k < 2 || k % 2 || k > INT32_MAX || hashes == 0) ? ATTN_ERR_RANGE : ATTN_OK;
        if (want == ATTN_OK) FZ_ALWAYS(attn_lsh_workspace(d, k, &need) == ATTN_OK, "lsh workspace");
        if (need > (1u << 22)) {  /* a huge bucket count: only the status, without the workspace */
            want = k > INT32_MAX ? ATTN_ERR_RANGE : ATTN_ERR_WORKSPACE;
            need = 0;
        }
        float *work = fz_alloc(need * sizeof *work);
        st = attn_lsh_buckets(n, d, x, k, hashes, seed, assign, work, need);
        FZ_STATUS(st);
        FZ_ORACLE(st == want, "lsh_buckets: %s, expected %s", attn_status_code(st), attn_status_code(want));
        if (st == ATTN_OK) {
            for (size_t i = 0; i < n; i++) {
                int zero = 1;
                for (size_t l = 0; l < d; l++) zero &= x[i * d + l] == 0;
                if (zero)
                    for (size_t r = 0; r < hashes; r++)
                        FZ_ORACLE(assign[r * n + i] == 0, "lsh: zero row %zu in bucket %d", i, assign[r * n + i]);
            }
            if (xmax <= 1e30 && xmin >= 1e-20) {
                attn_lsh_buckets(n, d, x2, k, hashes, seed, assign2, work, need);
                FZ_ORACLE(!memcmp(assign, assign2, hashes * n * sizeof *assign), "lsh: points times 2 change the buckets");
            }
        }
        free(work);
    }
    if (st == ATTN_OK) {
        size_t rounds = which & 1 ? 1 : hashes;
        for (size_t t = 0; t < rounds * n; t++)
            FZ_ORACLE(assign[t] >= 0 && (size_t)assign[t] < k, "assignment %d out of [0, %zu)", assign[t], k);
        shadow sh = {{0}, NULL, 0, assign, rounds, 0};
        sh.f[F_ROUNDS] = (double)rounds;
        attn_mask_spec spec;
        attn_mask_spec_init(&spec, ATTN_MASK_KIND_CLUSTER, n);
        attn_mask_spec_set(&spec, F_ROUNDS, (double)rounds);
        attn_mask_spec_set_arrays(&spec, NULL, assign);
        check_spec(&spec, ATTN_MASK_KIND_CLUSTER, n, &sh);
    }
    free(x);
    free(x2);
    free(assign);
    free(assign2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = fz_start(data, size);
    fz_kernels(&in);
    uint8_t part = fz_u8(&in);
    if (part % 4 == 1) {
        part_b(&in);
        return 0;
    }
    if (part % 4 == 2) {
        part_c(&in);
        return 0;
    }
    /* Part A */
    int kind = (int)(fz_u8(&in) % (ATTN_MASK_KIND_COUNT + 2)) - 1;
    size_t n = fz_u8(&in) % (MAX_N + 1);
    attn_mask_spec spec;
    FZ_ALWAYS(attn_mask_spec_init(&spec, kind, n) == ATTN_OK, "spec_init");
    /* Every field given (0 unless the bytes set it): this target checks the rules on explicit values; the
     * defaults that fields left out resolve to are checked by test_core.c and tests/defaults.test.mjs. */
    for (int fld = 0; fld < FIELDS; fld++) attn_mask_spec_set(&spec, fld, 0);
    shadow sh = {{0}, NULL, 0, NULL, 0, 0};
    uint32_t which = fz_u32(&in);
    for (int fld = -1; fld <= FIELDS; fld++) {
        if (fld >= 0 && fld < FIELDS && !(which >> fld & 1)) continue;
        if ((fld < 0 || fld == FIELDS) && !(which >> 31 & 1)) continue;
        double value = fz_option(&in, n);
        if (fld == F_NTOKENS || fld == F_ROUNDS) value = (double)(fz_u8(&in) % (fld == F_ROUNDS ? MAX_ROUNDS + 1 : 9));
        if (fz_tame && fld == F_CAUSAL && value > 1) value = 1;
        attn_status st = attn_mask_spec_set(&spec, fld, value);
        FZ_STATUS(st);
        if (fld < 0 || fld == FIELDS) {
            FZ_ORACLE(st == ATTN_ERR_KIND || (st == ATTN_ERR_RANGE && !valid_value(value)),
                      "spec_set: field %d gives %s", fld, attn_status_code(st));
            continue;
        }
        if (!valid_value(value)) {
            FZ_ORACLE(st == ATTN_ERR_RANGE, "spec_set(%s, %.17g): %s, expected ERR_RANGE", attn_mask_field_name(fld),
                      value, attn_status_code(st));
        } else if (st == ATTN_OK) {
            sh.f[fld] = value;
            if (value > (double)n || (fld == F_CAUSAL && value > 1)) sh.huge = 1;
        } else {  /* a core may refuse what it cannot clamp: a flag above 1, a size above n */
            FZ_ORACLE(st == ATTN_ERR_RANGE && (value > (double)n || (fld == F_CAUSAL && value > 1)),
                      "spec_set(%s, %.17g): %s", attn_mask_field_name(fld), value, attn_status_code(st));
        }
    }
    sh.n_tokens = (size_t)sh.f[F_NTOKENS];
    sh.rounds = (size_t)sh.f[F_ROUNDS];
    uint8_t arrays = fz_u8(&in);
    if (!(arrays & 1) || sh.n_tokens) {
        sh.tokens = fz_alloc(sh.n_tokens * sizeof *sh.tokens);
        for (size_t t = 0; t < sh.n_tokens; t++) {
            uint8_t b = fz_u8(&in);
            sh.tokens[t] = arrays & 4 && b >= 250 ? (b == 250 ? -1 : b == 251 ? (int32_t)n : INT32_MAX)
                                                  : (int32_t)(n ? b % n : 0);
        }
    }
    if (!(arrays & 2) && n > 0) {
        size_t rounds = sh.rounds ? sh.rounds : 1, range = fz_range(&in, 1, 8);
        sh.assign = fz_alloc(rounds * n * sizeof *sh.assign);
        for (size_t t = 0; t < rounds * n; t++) sh.assign[t] = (int32_t)(fz_u8(&in) % range) - (arrays & 8 ? 3 : 0);
    }
    attn_mask_spec_set_arrays(&spec, sh.tokens, sh.assign);
    FZ_CTX("part A: kind=%d n=%zu causal=%.17g window=%.17g dilation=%.17g stride=%.17g block=%.17g summary=%.17g "
           "nTokens=%zu perRow=%.17g windowBlocks=%.17g globalBlocks=%.17g randomBlocks=%.17g rounds=%zu",
           kind, n, sh.f[F_CAUSAL], sh.f[F_WINDOW], sh.f[F_DILATION], sh.f[F_STRIDE], sh.f[F_BLOCK], sh.f[F_SUMMARY],
           sh.n_tokens, sh.f[F_PERROW], sh.f[F_WB], sh.f[F_GB], sh.f[F_RB], sh.rounds);
    check_spec(&spec, kind, n, &sh);
    free(sh.tokens);
    free(sh.assign);
    return 0;
}
