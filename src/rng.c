/*
 * rng.c - PCG32 with explicit state, and normal samples by Box-Muller.
 *
 *   state' = state * 6364136223846793005 + inc            (64-bit LCG)
 *   u32    = rotr32(((state >> 18) ^ state) >> 27, state >> 59)   (XSH-RR)
 *   U      = (u32 >> 5) 2^26 + (u32' >> 6), divided by 2^53   in [0, 1)
 *   Z      = sqrt(-2 ln(1 - U1)) cos(2 pi U2), and sin for the spare sample
 *
 * PCG32: M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation" (2014),
 * XSH-RR output on a 64-bit LCG. The increment (stream) is derived from the
 * seed so that every seed gives its own stream.
 */
#include "internal.h"

#include <math.h>

#define ATTN__PCG_MULT 6364136223846793005ull

size_t attn_rng_size(void) { return sizeof(attn_rng); }

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

attn_status attn_rng_seed(attn_rng *rng, uint64_t seed) {
    if (!rng) return ATTN_ERR_NULL;
    uint64_t sm = seed;
    uint64_t initstate = splitmix64(&sm);
    uint64_t initseq = splitmix64(&sm);
    /* The reference pcg32_srandom_r sequence. */
    rng->state = 0;
    rng->inc = (initseq << 1) | 1u;
    (void)attn_rng_u32(rng);
    rng->state += initstate;
    (void)attn_rng_u32(rng);
    rng->spare = 0.0;
    rng->has_spare = 0;
    return ATTN_OK;
}

uint32_t attn_rng_u32(attn_rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * ATTN__PCG_MULT + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

double attn_rng_uniform(attn_rng *rng) {
    uint64_t hi = attn_rng_u32(rng) >> 5;  /* 27 bits */
    uint64_t lo = attn_rng_u32(rng) >> 6;  /* 26 bits */
    return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);  /* / 2^53 */
}

double attn_rng_normal(attn_rng *rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - attn_rng_uniform(rng);  /* (0, 1]: log(u1) is finite */
    double u2 = attn_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    rng->spare = r * sin(two_pi * u2);
    rng->has_spare = 1;
    return r * cos(two_pi * u2);
}

attn_status attn_randn(attn_rng *rng, size_t count, float *out) {  // [count]
    if (!rng || (count && !out)) return ATTN_ERR_NULL;
    for (size_t i = 0; i < count; i++) out[i] = (float)attn_rng_normal(rng);
    return ATTN_OK;
}
