/*
 * linear.c - kernel (linear) attention: the n x m weights that a feature map
 * implies, and outputs computed without them (Katharopoulos et al. 2020).
 *
 *   w_ij = phi(q_i).phi(k_j) / (sum_{j' allowed} phi(q_i).phi(k_j') + eps)
 *   y_i  = phi(q_i)^T S / (phi(q_i).z + eps),  S = sum_j phi(k_j) v_j^T,
 *                                              z = sum_j phi(k_j)
 *
 * Non-causal, S and z sum over all keys (two products, O((n + m) dim dv)).
 * Causal, they are running sums over j <= i (the RNN form), advanced a block
 * of BLOCK rows at a time: inside a block, y = (phi(Q_b) phi(K_b)^T masked to
 * j <= i) V_b plus phi(Q_b) S from the blocks before, then S += phi(K_b)^T V_b
 * (the chunked form of the recurrence: the same sums, computed by gemm; no
 * n x m matrix either way).
 *
 * A denominator of 0 (eps = 0 and no feature mass, e.g. ReLU features of a
 * negative row with kernel_eps = 0) gives a row of 0, like a row with no
 * allowed key; a result beyond float32 gives ATTN_ERR_OVERFLOW; the
 * Efficient map with causal is refused (ATTN_ERR_RANGE): its key map is a
 * softmax over all positions, so every query would see the future.
 */
#include "internal.h"

#include <math.h>

enum {
    CHUNK = 256,  /* keys per transposed chunk of phi(K) */
    BLOCK = 64,   /* rows per step of the causal recurrence (<= CHUNK) */
};

/* Workspace layout shared by both functions: phi(Q), phi(K), the feature
 * map's own workspace, one transposed chunk of phi(K), S, z, and the causal
 * block's [BLOCK, BLOCK] scores. */
typedef struct layout {
    size_t dim, fq, fk, fwork, fwork_floats, chunk, s, z, a, total;
} layout;

static attn_status plan(const attn_feature_spec *spec, size_t n, size_t m, size_t d, size_t dv,
                        layout *L) {
    attn_status st = attn_feature_dim(spec, d, &L->dim);
    if (st != ATTN_OK) return st;
    if ((st = attn_feature_map_workspace(spec, d, &L->fwork_floats)) != ATTN_OK) return st;
    attn__layout W = ATTN__LAYOUT_INIT;
    L->fq = attn__layout_add(&W, n, L->dim);              // [n, dim] phi(Q)
    L->fk = attn__layout_add(&W, m, L->dim);              // [m, dim] phi(K)
    L->fwork = attn__layout_add(&W, 1, L->fwork_floats);  // the feature map's workspace
    L->chunk = attn__layout_add(&W, L->dim, CHUNK);       // [dim, CHUNK] a transposed chunk of phi(K)
    L->s = attn__layout_add(&W, L->dim, dv);              // [dim, dv] S
    L->z = attn__layout_add(&W, 1, L->dim);               // [dim] z
    L->a = attn__layout_add(&W, BLOCK, BLOCK);            // [BLOCK, BLOCK] causal block scores
    return attn__layout_end(&W, &L->total);
}

attn_status attn_linear_workspace(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                  size_t dv, size_t *floats) {
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    if (!spec || !floats) return ATTN_ERR_NULL;
    layout L;
    attn_status st = plan(spec, n, m, d, dv, &L);
    if (st == ATTN_OK) *floats = L.total;
    return st;
}

/* Shared checks, then phi(Q) and phi(K) into the workspace. */
static attn_status features(const attn_feature_spec *spec, size_t n, size_t m, size_t d, size_t dv,
                            const float *q,  // [n, d]
                            const float *k,  // [m, d]
                            int causal, float eps, const void *out, float *work, size_t work_floats,
                            layout *L) {
    if (!spec || !q || !k || !out) return ATTN_ERR_NULL;
    if (n == 0 || m == 0 || d == 0 || dv == 0) return ATTN_ERR_SHAPE;
    if (!(eps >= 0 && eps < INFINITY)) return ATTN_ERR_RANGE;
    attn_status st = plan(spec, n, m, d, dv, L);
    if (st != ATTN_OK) return st;
    /* Efficient attention's key map is a softmax over all positions: a causal
     * query would read every later key through it. */
    if (causal && spec->feature == ATTN_FEATURE_EFFICIENT) return ATTN_ERR_RANGE;
    if (!work || work_floats < L->total) return ATTN_ERR_WORKSPACE;
    /* both inputs before either map (which can overflow) */
    if (!attn__all_finite(q, n * d) || !attn__all_finite(k, m * d)) return ATTN_ERR_NONFINITE;
    st = attn_feature_map(spec, ATTN_ROLE_QUERY, n, d, q, work + L->fq, work + L->fwork, L->fwork_floats);
    if (st == ATTN_OK)
        st = attn_feature_map(spec, ATTN_ROLE_KEY, m, d, k, work + L->fk, work + L->fwork, L->fwork_floats);
    return st;
}

/* chunk = phi(K)[j0 : j0 + len]^T, a [dim, len] panel with row stride CHUNK. */
static void transpose_chunk(const float *fk, size_t dim, size_t j0, size_t len,
                            float *chunk) {  // [dim, CHUNK]
    for (size_t j = 0; j < len; j++)
        for (size_t f = 0; f < dim; f++) chunk[f * CHUNK + j] = fk[(j0 + j) * dim + f];
}

/* z += the sum of the rows of x (contiguous rows: the inner loop vectorises). */
static void add_rows(const float *x, size_t rows, size_t dim,  // [rows, dim]
                     float *z) {                                // [dim]
    for (size_t j = 0; j < rows; j++)
        for (size_t f = 0; f < dim; f++) z[f] += x[j * dim + f];
}

/* phi(q) . sum_{j < keys} phi(k_j) in double, from phi(K) itself: the
 * denominator when the float32 running sum z overflowed part-way (keys of
 * +-3e38 whose sum is finite) and q . z is therefore +-inf or NaN, which would
 * turn a finite row into zeros. O(keys dim) per row, on that path only. */
static double den_direct(const float *fq,  // [dim] phi(q_i)
                         const float *fk,  // [keys, dim] phi(K)
                         size_t keys, size_t dim) {
    double den = 0;
    for (size_t j = 0; j < keys; j++)
        for (size_t f = 0; f < dim; f++) den += (double)fq[f] * fk[j * dim + f];
    return den;
}

attn_status attn_kernel_weights(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                const float *q,  // [n, d]
                                const float *k,  // [m, d]
                                int causal, float eps,
                                float *w,        // [n, m] output
                                float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    attn_status st = w ? attn__matrix_fits(n, m) : ATTN_ERR_NULL;
    layout L;
    if (st == ATTN_OK) st = features(spec, n, m, d, 1, q, k, causal, eps, w, work, work_floats, &L);
    if (st != ATTN_OK) return st;
    const attn__kernels *kern = attn__kernels_get();
    for (size_t j0 = 0; j0 < m; j0 += CHUNK) {
        size_t len = attn__min(CHUNK, m - j0);
        transpose_chunk(work + L.fk, L.dim, j0, len, work + L.chunk);
        kern->gemm(n, len, L.dim, 1.0f, work + L.fq, L.dim, work + L.chunk, CHUNK, w + j0, m, 0);
    }
    for (size_t i = 0; i < n; i++) {
        float *row = w + i * m;
        size_t allowed = causal ? attn__min(i + 1, m) : m;
        memset(row + allowed, 0, (m - allowed) * sizeof *row);
        double sum = 0;
        for (size_t j = 0; j < allowed; j++) sum += row[j];
        if (!isfinite(sum)) {  /* a float32 dot (or a partial sum of one) overflowed: the row in double */
            const float *fq = work + L.fq + i * L.dim, *fk = work + L.fk;
            sum = 0;
            for (int pass = 0; pass < 2; pass++)
                for (size_t j = 0; j < allowed; j++) {
                    double a = 0;
                    for (size_t f = 0; f < L.dim; f++) a += (double)fq[f] * fk[j * L.dim + f];
                    if (pass == 0) sum += a;
                    else row[j] = sum + eps == 0 ? 0.0f : (float)(a / (sum + eps));
                }
            continue;
        }
        attn__divide_row(row, allowed, sum + eps);  /* a normaliser of 0: the row is 0 */
    }
    return attn__all_finite(w, n * m) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}

attn_status attn_linear_attention(const attn_feature_spec *spec, size_t n, size_t m, size_t d,
                                  size_t dv,
                                  const float *q,  // [n, d]
                                  const float *k,  // [m, d]
                                  const float *v,  // [m, dv]
                                  int causal, float eps,
                                  float *out,      // [n, dv] output
                                  float *work, size_t work_floats) {  // [work_floats]
    ATTN__RESOLVE_FEATURE(spec, ATTN_USE_LINEAR);
    attn_status st = !v ? ATTN_ERR_NULL : attn__matrix_fits(m, dv);
    if (st == ATTN_OK) st = attn__matrix_fits(n, dv);
    if (st == ATTN_OK && !attn__all_finite(v, m * dv)) st = ATTN_ERR_NONFINITE;
    layout L;
    if (st == ATTN_OK) st = features(spec, n, m, d, dv, q, k, causal, eps, out, work, work_floats, &L);
    if (st != ATTN_OK) return st;

    const attn__kernels *kern = attn__kernels_get();
    const size_t dim = L.dim;
    const float *fq = work + L.fq, *fk = work + L.fk;
    float *S = work + L.s, *z = work + L.z;  // [dim, dv], [dim]
    memset(S, 0, dim * dv * sizeof *S);
    memset(z, 0, dim * sizeof *z);

    float *chunk = work + L.chunk;  // [dim, CHUNK]
    if (!causal) {
        for (size_t j0 = 0; j0 < m; j0 += CHUNK) {
            size_t len = attn__min(CHUNK, m - j0);
            transpose_chunk(fk, dim, j0, len, chunk);
            kern->gemm(dim, dv, len, 1.0f, chunk, CHUNK, v + j0 * dv, dv, S, dv, 1);
        }
        add_rows(fk, m, dim, z);
        kern->gemm(n, dv, dim, 1.0f, fq, dim, S, dv, out, dv, 0);
        for (size_t i = 0; i < n; i++) {
            double den = 0;
            for (size_t f = 0; f < dim; f++) den += (double)fq[i * dim + f] * z[f];
            if (!isfinite(den)) den = den_direct(fq + i * dim, fk, m, dim);
            attn__divide_row(out + i * dv, dv, den + eps);
        }
        return attn__all_finite(out, n * dv) ? ATTN_OK : ATTN_ERR_OVERFLOW;
    }

    float *a = work + L.a;  // [BLOCK, BLOCK] phi(Q_b) phi(K_b)^T, masked
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t rows = attn__min(BLOCK, n - i0);
        size_t keys = i0 < m ? attn__min(rows, m - i0) : 0;  /* keys i0 .. i0+keys-1 */
        float *y = out + i0 * dv;
        /* Contributions of the keys before the block: phi(Q_b) S, phi(Q_b) z. */
        kern->gemm(rows, dv, dim, 1.0f, fq + i0 * dim, dim, S, dv, y, dv, 0);
        double den[BLOCK];
        for (size_t r = 0; r < rows; r++) {
            den[r] = 0;
            for (size_t f = 0; f < dim; f++) den[r] += (double)fq[(i0 + r) * dim + f] * z[f];
        }
        if (keys > 0) {
            /* Inside the block: scores masked to j <= i, times V_b. */
            transpose_chunk(fk, dim, i0, keys, chunk);
            kern->gemm(rows, keys, dim, 1.0f, fq + i0 * dim, dim, chunk, CHUNK, a, BLOCK, 0);
            for (size_t r = 0; r < rows; r++) {
                float *ar = a + r * BLOCK;
                for (size_t j = r + 1; j < keys; j++) ar[j] = 0.0f;
                for (size_t j = 0; j < keys && j <= r; j++) den[r] += ar[j];
            }
            kern->gemm(rows, dv, keys, 1.0f, a, BLOCK, v + i0 * dv, dv, y, dv, 1);
            /* Advance the state past the block's keys. */
            kern->gemm(dim, dv, keys, 1.0f, chunk, CHUNK, v + i0 * dv, dv, S, dv, 1);
            add_rows(fk + i0 * dim, keys, dim, z);
        }
        for (size_t r = 0; r < rows; r++) {
            if (!isfinite(den[r])) den[r] = den_direct(fq + (i0 + r) * dim, fk, attn__min(i0 + r + 1, m), dim);
            attn__divide_row(y + r * dv, dv, den[r] + eps);
        }
    }
    return attn__all_finite(out, n * dv) ? ATTN_OK : ATTN_ERR_OVERFLOW;
}
