// The tolerances of the tests, named, each with why it is that large. Every
// comparison in tests/*.test.mjs uses one of these instead of a bare number,
// so a reader sees what a test tolerates and one place says why.
//
// The core computes in float32 and the references (tests/reference.mjs, or a
// float64 evaluation in the test) in float64, so most tolerances follow from
// the float32 unit roundoff U: a sum of t float32 terms, in any order and any
// blocking, is within about t U times the sum of the terms' magnitudes
// (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1). The native
// tests use the same bound exactly (tests/native/test_kernels.c, gamma_n).

/** Unit roundoff of float32: 2^-24 = 5.96e-8 (half the spacing just above 1). */
export const U = 2 ** -24;

// ------------------------------------------------ float32 against float64

/**
 * Relative tolerance of a float32 result against the float64 reference:
 * weights (weightsExcess: |got - ref| <= F32_REL ref + 1e-7), outputs
 * (outputsExcess: relative to sum_j p_ij |v_jc|), feature maps, fast-weight
 * states. The tests' sums have at most ~300 terms (d, m <= 300) and a logit's
 * error enters its weight through exp: 300 U = 1.8e-5, so 2e-5.
 */
export const F32_REL = 2e-5;

/**
 * The same comparison where the sums are short (d <= 4, a few keys a row) or
 * the reference is the page's own path: 1e-5, half of F32_REL, still above
 * the (d + few) U bound with room for exp's error.
 */
export const F32_REL_SHORT = 1e-5;

/**
 * Logits up to +-100 (amplitude 10, d = 16): a float32 logit s carries an
 * error near d U sum_l |q_l k_l| scale, about 16 * 6e-8 * 100 = 1e-4 in s,
 * and exp turns an absolute error in s into a relative one in the weight:
 * 1e-3 relative leaves a margin of 10.
 */
export const LARGE_LOGITS_REL = 1e-3;

/**
 * A value a float32 chain of tens of operations (dot products of d <= 40,
 * a projection, a normalisation) from its float64 definition, magnitude <= ~1:
 * 40 U = 2.4e-6, so 1e-5 absolute (or relative to max(1, |value|)).
 */
export const F32_CHAIN = 1e-5;

/**
 * A value a few float32 roundings from its definition (a mean of <= 4 rows,
 * one difference, a product of two numbers), magnitudes <= ~4: a few U times
 * 4 is under 1e-6.
 */
export const F32_FEW_OPS = 1e-6;

/**
 * A float32 weight that equals a simple fraction (uniform weights 1/9 with
 * scale 0): within one float32 spacing near 1 (1.2e-7 above 1, 6e-8 below),
 * so 1e-7 absolute.
 */
export const NEAR_ONE = 1e-7;

/**
 * matmul: each entry is a sum of k products of magnitude <= 1 (|alpha| <= 1
 * aside), rounded in float32: under (k + 1) U each, with a margin of ~3 for
 * the blocked SIMD order, so MATMUL_PER_TERM k |alpha| + NEAR_ONE.
 */
export const MATMUL_PER_TERM = 4e-7;

/**
 * Two float32 results multiplied again in float64 against a third float32
 * result (the effective n x n matrix times V against the output): each
 * carries F32_REL-sized errors over n ~ 40 terms of magnitude ~1, so 1e-4.
 */
export const PRODUCT_OF_RESULTS = 1e-4;

// ---------------------------------------------------------------- gradients

/**
 * Central differences (L(x + h) - L(x - h)) / 2h of a float64 loss against
 * its float64 gradient, relative to 1 + mag (mag: the sum of the magnitudes
 * of the terms of the gradient entry). With h = 2^-12 the truncation error is
 * h^2 / 6 |L'''|, and L''' of a softmax with logits |s| <= 4 and |v|, |dY| <= 1
 * stays below ~100 (three derivatives of exp(s), each bringing |scale k| <=
 * 1.5, times a few P-weighted terms): 1e-6; rounding, 1e-16 |L| / h, is far
 * smaller. 1e-5 leaves a margin of 10 (tests/native/test_backward_softmax.c
 * measures 3e-4 of it).
 */
export const GRAD_FD = 1e-5;
/** The step of those central differences. */
export const GRAD_FD_H = 2 ** -12;

/**
 * A float32 gradient of softmax (or sparse) attention against float64:
 * |got - exact| <= GRADIENT_ROUNDINGS U (d (1 + 2 amax) + dv + n + m +
 * lseMax + 8) * mag, mag as above (tests/backward-softmax.test.mjs,
 * gradientRel). A logit carries an
 * error up to (d + 1) U A_ij (A_ij = |scale| sum_l |q_il k_jl|, amax their
 * largest), lse also an m-term float32 sum and a rounding of |lse|, exp 5 U:
 * so P_ij has a relative error below (d (1 + 2 amax) + m + |lse| + 5) U;
 * dP_ij and D_i are dv-term dot products; each gradient entry sums n or m
 * products. 4 U (d (1 + 2 amax) + dv + n + m + lseMax + 8), the factor 4 for
 * the few roundings per product and the composition of first-order bounds
 * (the native test measures at most 4 % of it). A missing term or a wrong
 * sign errs by about mag itself.
 */
export const GRADIENT_ROUNDINGS = 4;

// ---------------------------------------------------------------- sums to 1

/**
 * A row of float32 weights sums to 1: softmax, kernel weights, Sinkhorn rows
 * and columns, effective rows, CSV rows. Each of m <= 300 weights is within a
 * few U of its value and the m-term sum adds m U relative: 1e-5.
 */
export const ROW_SUM = 1e-5;

/** A row of only 5 weights (the liveness check after an error): 5 U-sized errors, under 1e-6. */
export const SHORT_ROW_SUM = 1e-6;

/**
 * Sinkhorn against the float64 log-space iteration (<= 10 iterations, n = 8):
 * each iteration's logsumexp in float32 is within ~n U of its value, and
 * their errors add: 10 * 8 * 6e-8 = 5e-6, so 1e-5 absolute on entries <= 1.
 */
export const SINKHORN = 1e-5;

// ------------------------------------------------------------ other paths

/**
 * Two float32 paths on the same inputs (the SIMD and scalar kernel tables at
 * n = 517, d = 64; sparse against streaming softmax): both are within ~d U of
 * float64 on outputs of magnitude <= 1, in different orders, so they differ
 * by at most ~2 d U = 8e-6: 1e-5 absolute.
 */
export const PATHS_AGREE = 1e-5;

/**
 * Figures the API computes in float64 from float32 data, recomputed in
 * float64 in the test in another order: they agree to the float64 rounding of
 * sums of n^2 ~ 2300 terms, far below 1e-12.
 */
export const F64_ABS = 1e-12;

/** A KL divergence of float32 rows is >= 0 up to rounding: no lower than -1e-6. */
export const KL_FLOOR = 1e-6;

/**
 * A retrieval that is exact in exact arithmetic (orthonormal keys, beta = 1,
 * one stored pair): the error 0.5 |v - W k|^2 of float32 components off by
 * ~1e-7 is ~1e-14; a failed retrieval is >= 1e-2. 1e-10 separates them.
 */
export const EXACT_RETRIEVAL = 1e-10;

/**
 * The absolute floor of a relative comparison, so that an exact 0 matches an
 * exact 0 (a scale of 0 would allow nothing): far below any value compared.
 */
export const ZERO_FLOOR = 1e-30;

// ---------------------------------------------------------------- statistics

/**
 * Unbiasedness and distribution tests: an estimate is within this many
 * standard errors of its expected value. The inputs are seeded, so a test
 * either always passes or always fails; 5 standard errors (a two-sided normal
 * tail of 6e-7) keeps a correct implementation from failing on an unlucky
 * seed, while a bias larger than 5 standard errors is caught.
 */
export const STANDARD_ERRORS = 5;

// ------------------------------------------------------------------ budgets

/** dispose() returns a worker's memory: RSS back within 10 MiB of before (issue 13's criterion). */
export const RSS_AFTER_DISPOSE_MIB = 10;

/**
 * n = 65536 streaming attention: inputs, output and the transposed keys are
 * 16 MiB each, in JS and in wasm (~130 MiB); the n x n weights would be 16
 * GiB. 300 MiB is O(n) with room for the allocator and the runtime.
 */
export const STREAMING_GROWTH_MIB = 300;

/**
 * The Timing view prints SIMD / scalar with one decimal (+-0.05) from times
 * printed with two (each +-0.005 ms, under 1 % of a time of >= 0.5 ms): the
 * printed ratio is within 0.06 + 0.01 ratio of the ratio of the printed times.
 */
export const PRINTED_RATIO_ABS = 0.06;
export const PRINTED_RATIO_REL = 0.01;
