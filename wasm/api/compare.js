// Comparisons of attention matrices: any approximation against a reference,
// a kernel map's weights against softmax, and the Performer curve against
// the number of random features.
import { DEFAULTS, fail, newF32 } from './core.js';
import { PROGRESS_KEYS, optBool, optInt, optIntList, optProgress, options, toMatrix } from './args.js';
import { FEATURES, kernelWeightsOf, linearArgs } from './linear.js';
import { softmaxWeights } from './softmax.js';

/** Summary figures of approx - exact, both Matrices n x m. */
function compare(where, W, P) {
  if (W.rows !== P.rows || W.cols !== P.cols) fail('ERR_SHAPE', where, `approx is ${W.rows}x${W.cols}, exact ${P.rows}x${P.cols}`);
  const { rows: n, cols: m } = P;
  const error = newF32(where, 'the error', n * m);
  const klPerRow = new Float64Array(n);
  let maxAbs = 0, sumAbs = 0, sumSq = 0, refSq = 0;
  for (let i = 0; i < n; i++) {
    let kl = 0;
    for (let j = 0; j < m; j++) {
      const p = P.data[i * m + j], w = W.data[i * m + j];
      const e = w - p;
      error[i * m + j] = e;
      maxAbs = Math.max(maxAbs, Math.abs(e));
      sumAbs += Math.abs(e);
      sumSq += e * e;
      refSq += p * p;
      if (p > 0) kl += p * Math.log(p / Math.max(w, 1e-30));
    }
    klPerRow[i] = kl;
  }
  return {
    error: { rows: n, cols: m, data: error },
    maxAbs,
    meanAbs: sumAbs / (n * m),
    mse: sumSq / (n * m),
    relFrobenius: Math.sqrt(sumSq / refSq),
    klPerRow,
    meanKL: klPerRow.reduce((a, b) => a + b, 0) / n,
  };
}

/**
 * How far an attention matrix is from a reference (both n x m): the error
 * matrix approx - exact, max and mean |error|, MSE, relative Frobenius error
 * and KL(exact row || approx row) per row (approx floored at 1e-30).
 */
export function compareWeights(c, approx, exact, where = 'compareWeights') {
  return compare(where, toMatrix(where, 'approx', approx), toMatrix(where, 'exact', exact));
}

/**
 * How far kernelWeights is from softmaxWeights for the same q, k (softmax
 * scale 1/sqrt(d), the same causal flag): the per-entry error matrix
 * (kernel - softmax) and summary figures. KL is KL(softmax row || kernel
 * row), with kernel weights below 1e-30 (trigonometric features can give
 * negatives) taken as 1e-30.
 */
export function kernelError(c, q, k, opts, where = 'kernelError') {
  const a = linearArgs(c, where, q, k, undefined, opts);
  const kernel = kernelWeightsOf(c, where, a);
  const softmax = softmaxWeights(c, a.Q, a.K, { causal: a.causal }, where);
  return { ...compare(where, kernel, softmax), kernel, softmax };
}

const SWEEP_KEYS = ['features', 'variants', 'trials', 'seed', 'causal', ...PROGRESS_KEYS];
const DEFAULT_VARIANTS = [
  { feature: 'favor+', orthogonal: true }, { feature: 'favor+', orthogonal: false },
  { feature: 'favor-trig', orthogonal: true }, { feature: 'favor-trig', orthogonal: false },
];

/** The variants of a sweep: a non-empty array of { feature, orthogonal }. */
function readVariants(where, value) {
  if (value === undefined) return DEFAULT_VARIANTS;
  if (!Array.isArray(value) || value.length === 0) {
    fail('ERR_TYPE', where, 'variants must be a non-empty array of { feature, orthogonal }');
  }
  return value.map((v, i) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      fail('ERR_TYPE', where, `variants[${i}] must be an object { feature, orthogonal }, got ${v === null ? 'null' : typeof v}`);
    }
    const o = options(where, v, ['feature', 'orthogonal']);
    if (typeof o.feature !== 'string') fail('ERR_KIND', where, `variants[${i}].feature must be one of ${FEATURES.join(', ')}, got ${o.feature}`);
    if (!FEATURES.includes(o.feature)) fail('ERR_KIND', where, `variants[${i}].feature must be one of ${FEATURES.join(', ')}, got '${o.feature}'`);
    return { feature: o.feature, orthogonal: optBool(where, `variants[${i}].orthogonal`, o.orthogonal, DEFAULTS['feature.orthogonal'] === 1) };
  });
}

/**
 * The Performer approximation curve: kernelError summaries against the
 * number of random features m, averaged over `trials` projections (seeds
 * seed, seed+1, ...), for each variant ({ feature, orthogonal }).
 * Returns [{ feature, orthogonal, features, meanAbs, maxAbs, mse, relFrobenius, meanKL }].
 */
export function kernelErrorSweep(c, q, k, opts, where = 'kernelErrorSweep') {
  const o = options(where, opts, SWEEP_KEYS);
  const sizes = optIntList(where, 'features', o.features, Array.from({ length: DEFAULTS['kernelErrorSweep.featuresCount'] },
    (_, i) => DEFAULTS['kernelErrorSweep.featuresMin'] * 2 ** i), 1, 1 << 20);
  const variants = readVariants(where, o.variants);
  const trials = optInt(where, 'trials', o.trials, DEFAULTS['kernelErrorSweep.trials'], 1, 10000);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  const causal = optBool(where, 'causal', o.causal, false);
  const Q = toMatrix(where, 'q', q), K = toMatrix(where, 'k', k);
  const progress = optProgress(where, o, variants.length * sizes.length);
  const rows = [];
  for (const { feature, orthogonal } of variants) {
    for (const features of sizes) {
      const sum = { meanAbs: 0, maxAbs: 0, mse: 0, relFrobenius: 0, meanKL: 0 };
      progress.check();
      for (let t = 0; t < trials; t++) {
        const e = kernelError(c, Q, K, { feature, orthogonal, features, seed: seed + t, causal }, where);
        for (const key of Object.keys(sum)) sum[key] += e[key] / trials;
      }
      rows.push({ feature, orthogonal, features, ...sum });
      progress.step(rows.at(-1));
    }
  }
  return rows;
}

