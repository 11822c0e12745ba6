/*
 * masks.c - attention masks as uint8 matrices, one bit per component.
 */
#include "internal.h"

/* Shared checks of every builder: a non-empty [n, m] mask that fits. */
static attn_status check_mask_out(size_t n, size_t m, const uint8_t *out) {
    if (!out) return ATTN_ERR_NULL;
    if (n == 0 || m == 0) return ATTN_ERR_SHAPE;
    size_t cells;
    if (!attn__mul(n, m, &cells)) return ATTN_ERR_MEMORY;
    return ATTN_OK;
}

attn_status attn_mask_full(size_t n, size_t m, uint8_t *out) {  // [n, m]
    attn_status st = check_mask_out(n, m, out);
    if (st != ATTN_OK) return st;
    memset(out, ATTN_MASK_LOCAL, n * m);
    return ATTN_OK;
}

attn_status attn_mask_causal(size_t n, size_t m, uint8_t *out) {  // [n, m]
    attn_status st = check_mask_out(n, m, out);
    if (st != ATTN_OK) return st;
    for (size_t i = 0; i < n; i++) {
        uint8_t *row = out + i * m;
        size_t allowed = attn__min(i + 1, m);  /* keys 0..i */
        memset(row, ATTN_MASK_LOCAL, allowed);
        memset(row + allowed, 0, m - allowed);
    }
    return ATTN_OK;
}

attn_status attn_mask_local(size_t n, size_t window, int causal, uint8_t *out) {  // [n, n]
    attn_status st = check_mask_out(n, n, out);
    if (st != ATTN_OK) return st;
    for (size_t i = 0; i < n; i++) {
        uint8_t *row = out + i * n;
        size_t lo = i > window ? i - window : 0;
        size_t hi = causal ? i : attn__min(n - 1, i + attn__min(window, n));  /* inclusive */
        memset(row, 0, n);
        memset(row + lo, ATTN_MASK_LOCAL, hi - lo + 1);
    }
    return ATTN_OK;
}
