// The lab's long computations, written once for the Web Worker and for the
// main-thread fallback (a page opened from file:// cannot start workers).
// Each job takes an attnlab instance, its arguments and a progress callback
// that receives the partial result; `pause` yields between units of work.
// No DOM.

import { createAttn } from '../../wasm/attn.js';
import { MECHANISM_LABELS, mechanismRunner, crossovers, coreContenders, interleave, coreSummary, timeMs } from '../lib/benchsuite.js';
import { computeMatrices } from './approximate.js';
import { parseMatrix, checkBytes } from './data.js';

/** Yields to the event loop (keeps a page responsive when run on its thread). */
export const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The Matrices view's figures: see approximate.js. */
export const matrices = (A, args) => computeMatrices(A, args, pause);

/**
 * Reads an uploaded or pasted matrix (data.js): { input: text, an ArrayBuffer
 * or a File (read here, so a worker reads it off the page's thread), name }.
 */
export async function parse(A, { input, name }) {
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    checkBytes(name, input.size);  // before reading a byte of it
    input = await input.arrayBuffer();
  }
  return parseMatrix(input, name);
}

/** The Capacity view's feature maps: `dim(d)` is the feature dimension dφ for keys of dimension d. */
export const MAPS = {
  identity: { feature: 'identity', nu: 1, label: 'identity (dφ = d)', short: 'identity', dim: (d) => d },
  'dpfp-1': { feature: 'dpfp', nu: 1, label: 'DPFP-1 (dφ = 2d)', short: 'DPFP-1', dim: (d) => 2 * d },
  'dpfp-2': { feature: 'dpfp', nu: 2, label: 'DPFP-2 (dφ = 4d)', short: 'DPFP-2', dim: (d) => 4 * d },
  'dpfp-3': { feature: 'dpfp', nu: 3, label: 'DPFP-3 (dφ = 6d)', short: 'DPFP-3', dim: (d) => 6 * d },
  'favor+': { feature: 'favor+', nu: 1, label: 'FAVOR+ (m = 2d)', short: 'FAVOR+', dim: (d) => 2 * d },
};

/**
 * Capacity curves: error vs stored pairs S = 20, 40, ..., maxS, one series
 * per map and rule ({ label, map, rule, dim: dφ, points: [{ x: S, y }] }).
 */
export async function capacity(A, { dKey, maxS, trials, seed, maps, rules }, progress) {
  const sizes = [];
  for (let s = 20; s <= maxS; s += 20) sizes.push(s);
  const series = [];
  for (const map of maps) {
    for (const rule of rules) {
      const { feature, nu, label } = MAPS[map];
      const points = [];
      series.push({ label: `${label}, ${rule} rule`, map, rule, dim: MAPS[map].dim(dKey), points,
        group: Object.keys(MAPS).indexOf(map), style: rule === 'sum' ? 0 : 1 });
      for (const size of sizes) {
        const [{ error }] = A.capacity({ dKey, sizes: [size], feature, nu, rule, trials, seed, features: 2 * dKey });
        points.push({ x: size, y: error });
        progress({ series });
        await pause();
      }
    }
  }
  return { series };
}

/** The median of numbers (the mean of the middle two for an even count). */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

/**
 * Performer approximation: the MSE of the weights against softmax vs m =
 * 4, 8, ..., maxM for positive / trigonometric features with orthogonal /
 * i.i.d. projections. Each point is over `trials` projections (seeds seed,
 * seed + 1, ..., as kernelErrorSweep draws them): { x: m, y: median, lo: min,
 * hi: max, mean, trials }. The first series is the baseline: uniform weights
 * 1/n against softmax on the same inputs ({ baseline: mse }, a horizontal line).
 */
export async function approximation(A, { n, d, scale, maxM, trials, seed }, progress) {
  const scaled = (m) => ({ ...m, data: m.data.map((x) => x * scale) });
  const q = scaled(A.randn(n, d, { seed })), k = scaled(A.randn(n, d, { seed: seed + 1 }));
  const ms = [];
  for (let m = 4; m <= maxM; m *= 2) ms.push(m);
  const softmax = A.softmaxWeights(q, k);
  const uniform = { rows: n, cols: n, data: new Float32Array(n * n).fill(1 / n) };
  const { mse: baseline } = A.compareWeights(uniform, softmax);
  const ends = [ms[0] ?? 4, Math.max(ms.at(-1) ?? 4, 8)];
  const variants = [['favor+', true], ['favor+', false], ['favor-trig', true], ['favor-trig', false]];
  const series = [
    { label: 'uniform weights 1/n', baseline, note: `uniform 1/n weights: ${baseline.toPrecision(2)}`, noteAt: 'start', dashed: true, colour: '#CC79A7',
      points: ends.map((x) => ({ x, y: baseline })) },
    ...variants.map(([feature, orthogonal]) => ({
      label: `${feature === 'favor+' ? 'positive' : 'trigonometric'}, ${orthogonal ? 'orthogonal' : 'i.i.d.'}`,
      feature, orthogonal, points: [], group: feature === 'favor+' ? 0 : 1, style: orthogonal ? 0 : 1, spread: 'band',
    })),
  ];
  for (const m of ms) {
    for (const s of series.slice(1)) {
      const mse = [];
      for (let t = 0; t < trials; t++) mse.push(A.kernelError(q, k, { feature: s.feature, orthogonal: s.orthogonal, features: m, seed: seed + t }).mse);
      s.points.push({ x: m, y: median(mse), lo: Math.min(...mse), hi: Math.max(...mse), mean: mse.reduce((a, b) => a + b, 0) / trials, trials });
      progress({ series });
      await pause();
    }
  }
  return { series };
}

/**
 * Time vs n (doubling from 256) for each mechanism. At each n, after one
 * untimed warm-up call each, the mechanisms run in interleaved rounds (one
 * call each per round, so a machine slowing down or speeding up affects them
 * alike): `rounds` rounds, or one for a mechanism whose warm-up took over
 * `slowMs`. Each point is the median of its rounds with the fastest and
 * slowest ({ x: n, y: median, lo, hi, rounds }); the crossover table is
 * computed from these same points. A mechanism that took over a second stops
 * growing. Then the kernel figures of `npm run bench` at n = kernelN:
 * streaming softmax in the core with SIMD and scalar kernels, and the core's
 * matmul, interleaved round by round.
 */
export async function timing(A, { maxN, mechanisms, d = 64, kernelN = 1024, kernelRounds = 5, rounds = 5, slowMs = 250 }, progress) {
  const series = mechanisms.map((id) => ({ id, label: MECHANISM_LABELS[id], points: [], stopped: false }));
  // Warm-up: the engine first runs wasm from a quick baseline compiler and
  // swaps in optimised code once a function has run a while.
  const [wq, wk, wv] = [1, 2, 3].map((seed) => A.randn(256, d, { seed }));
  for (const s of series) {
    const run = mechanismRunner(A, s.id, 256, wq, wk, wv);
    for (let r = 0; r < 3; r++) run();
    await pause();
  }
  for (let n = 256; n <= maxN; n *= 2) {
    const [q, k, v] = [1, 2, 3].map((seed) => A.randn(n, d, { seed }));
    const masks = {};
    const active = series.filter((s) => !s.stopped && !(s.id === 'softmax' && n > 8192));  // dense weights: n^2 floats
    const runs = new Map();
    for (const s of active) {
      const run = mechanismRunner(A, s.id, n, q, k, v, masks);
      runs.set(s, { run, ms: [], rounds: timeMs(run, 1) > slowMs ? 1 : rounds });
      await pause();
    }
    for (let round = 0; round < rounds; round++) {
      for (const [, r] of runs) {
        if (round >= r.rounds) continue;
        r.ms.push(timeMs(r.run, 1));
        await pause();
      }
    }
    for (const [s, r] of runs) {
      const sorted = [...r.ms].sort((x, y) => x - y);
      const y = sorted[Math.floor(sorted.length / 2)];
      s.points.push({ x: n, y, lo: sorted[0], hi: sorted.at(-1), rounds: sorted.length });
      if (y > 1000) s.stopped = true;
    }
    progress({ series, crossovers: crossovers(series) });
    await pause();
  }
  const scalar = await createAttn({ kernels: 'scalar' });
  const contenders = coreContenders(A, scalar, kernelN, d);
  const results = await interleave(contenders, kernelRounds, { pause });
  const kernels = coreSummary(kernelN, results);
  return { series, crossovers: crossovers(series), kernels };
}

/** The jobs by name, for the worker and the runner. */
export const JOBS = { capacity, approximation, timing, matrices, parse };
