// Seeded random numbers (src/rng.c): N(0, 1) matrices and Performer projections,
// the same for the same seed in Node and every browser.
import { DEFAULTS, checkBytes, run, seedWords } from './core.js';
import { checkDim, optBool, optInt, options } from './args.js';

const RANDN_KEYS = ['seed'];
const FEATURES_KEYS = ['seed', 'orthogonal'];

/** rows x cols samples of N(0, 1). */
export function randn(c, rows, cols, opts, where = 'randn') {
  checkDim(where, 'rows', rows);
  checkDim(where, 'cols', cols);
  checkBytes(where, 'the result', rows * cols, 4);
  const seed = optInt(where, 'seed', options(where, opts, RANDN_KEYS).seed, DEFAULTS.seed, 0);
  return run(c, where, (heap, mod) => {
    const rng = heap.alloc(mod._attn_rng_size());
    heap.call('rng_seed', `seed ${seed}`, rng, ...seedWords(seed));
    const out = heap.alloc(rows * cols * 4, 'the result');
    heap.call('randn', `${rows}x${cols} samples`, rng, rows * cols, out);
    return { rows, cols, data: heap.readF32(out, rows * cols) };
  });
}

/** A seeded Gaussian Matrix scaled by `scale` (projections, synthesizer weights). */
export function gaussian(c, where, rows, cols, seed, scale) {
  const m = randn(c, rows, cols, { seed }, where);
  for (let i = 0; i < m.data.length; i++) m.data[i] *= scale;
  return m;
}

/** Performer projection: m x d, orthogonal blocks with chi_d row norms, or i.i.d. N(0, 1). */
export function randomFeatures(c, m, d, opts, where = 'randomFeatures') {
  checkDim(where, 'm', m);
  checkDim(where, 'd', d);
  checkBytes(where, 'the result', m * d, 4);
  const o = options(where, opts, FEATURES_KEYS);
  const seed = optInt(where, 'seed', o.seed, DEFAULTS.seed, 0);
  const orthogonal = optBool(where, 'orthogonal', o.orthogonal, DEFAULTS['feature.orthogonal'] === 1);
  return run(c, where, (heap, mod) => {
    const rng = heap.alloc(mod._attn_rng_size());
    heap.call('rng_seed', `seed ${seed}`, rng, ...seedWords(seed));
    const out = heap.alloc(m * d * 4, 'the result');
    heap.call('random_features', `m ${m}, d ${d}, orthogonal ${orthogonal}`, rng, m, d, orthogonal ? 1 : 0, out);
    return { rows: m, cols: d, data: heap.readF32(out, m * d) };
  });
}
