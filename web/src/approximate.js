// The Matrices view's computation, run as a job (jobs.js) in the Web Worker,
// or on the page thread where workers cannot start: the matrix each mechanism
// applies to V, the softmax matrix it stands for, their difference and its
// summary figures. No DOM.
import { DataError } from './data.js';
import { heatmapPixels } from './heatmap.js';
import { PUOR, VIRIDIS } from './colors.js';

const scaled = (m, s) => (s === 1 ? m : { ...m, data: m.data.map((x) => x * s) });

/** The largest value of a Float32Array. */
function maxOf(data) {
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
  return max;
}

/**
 * Rough cost of one Matrices computation in ms on a laptop core, from its sizes
 * (calibrated with node on the settings that cost most: Sinkhorn with blocks
 * of 1 is ~(n/b)² work per iteration). Used to refuse settings on the page
 * thread, where one long call would freeze the page.
 */
export function estimateMs(state, { n, m, d }) {
  const dense = 3 * n * m * d * 1.5e-7 + n * m * 5e-5;
  switch (state.mechanism) {
    case 'sinkhorn':
    case 'sortcut': {
      const blocks = n / Math.max(1, Math.min(state.sBlock, n));
      return dense + blocks * blocks * (state.iterations + 25) * 3e-5;
    }
    case 'kernel': return dense + n * m * state.features * 3e-7 + n * m * 4 * d * 3e-7;
    default: return dense;
  }
}

/**
 * The matrix a mechanism applies to V (approx), the softmax matrix it stands
 * for (exact), and both outputs. Yields (`pause`) between the core's calls.
 */
async function approximate(A, q, k, v, state, pause) {
  const causal = state.causal;
  const exact = () => A.softmaxWeights(q, k, { causal });
  const exactOutput = () => A.softmaxAttention(q, k, v, { causal });
  const both = async (mechanism, softmax) => {
    const r = mechanism();
    await pause();
    const P = softmax.weights();
    await pause();
    return { r, exact: P, exactOutput: softmax.output() };
  };
  switch (state.mechanism) {
    case 'linformer': {
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.linformer(q, k, v, { rank: Math.min(state.rank, k.rows), seed: state.seed }),
        { weights: () => A.softmaxWeights(q, k), output: () => A.softmaxAttention(q, k, v) });
      return { label: `Linformer, k = ${r.E.rows}`, approx: r.effective, exact: P, output: r.output, exactOutput: Y };
    }
    case 'compressed': {
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.compressedAttention(q, k, v, { factor: Math.min(state.factor, k.rows), causal }),
        { weights: exact, output: exactOutput });
      return { label: `compressed, c = ${state.factor}`, approx: r.effective, exact: P, output: r.output, exactOutput: Y };
    }
    case 'synthesizer': {
      if (q.rows !== k.rows) throw new DataError('Synthesizer needs as many queries as keys');
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.synthesizer(q, v, { mode: state.synthMode, mix: state.mix, q, k, causal, seed: state.seed }),
        { weights: exact, output: exactOutput });
      return { label: `Synthesizer (${state.synthMode})`, approx: r.weights, exact: P, output: r.output, exactOutput: Y };
    }
    case 'sinkhorn':
    case 'sortcut': {
      const n = q.rows;
      let block = Math.min(state.sBlock, n);
      while (n % block) block--;  // the largest block size not above the setting that divides n
      const sortcut = state.mechanism === 'sortcut' ? Math.min(state.sortcut, n / block) : 0;
      const full = sortcut ? { weights: () => A.softmaxWeights(q, k), output: () => A.softmaxAttention(q, k, v) }
        : { weights: exact, output: exactOutput };
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.sinkhornAttention(q, k, v, { block, iterations: state.iterations, tau: state.tau, seed: state.seed,
          causal: sortcut ? false : causal, sortcut }),
        full);
      return { label: sortcut ? `SortCut, ${sortcut} blocks of ${block}` : `Sinkhorn, blocks of ${block}`, approx: r.effective,
        exact: P, output: r.output, exactOutput: Y };
    }
    case 'funnel': {
      const r = A.funnelAttention(q, k, v);
      await pause();
      // Reference: the average of the softmax rows that each pooled query stands for.
      const P = A.softmaxWeights(q, k), m = P.cols;
      const pooled = { rows: r.weights.rows, cols: m, data: new Float32Array(r.weights.rows * m) };
      await pause();
      const Y = A.softmaxAttention(q, k, v), dv = Y.cols;
      const pooledY = { rows: r.weights.rows, cols: dv, data: new Float32Array(r.weights.rows * dv) };
      for (let s = 0; s < pooled.rows; s++) {
        const members = Math.min(2, q.rows - 2 * s);
        for (let t = 0; t < members; t++) {
          for (let j = 0; j < m; j++) pooled.data[s * m + j] += P.data[(2 * s + t) * m + j] / members;
          for (let c = 0; c < dv; c++) pooledY.data[s * dv + c] += Y.data[(2 * s + t) * dv + c] / members;
        }
      }
      return { label: 'Funnel: queries pooled by 2', approx: r.weights, exact: pooled, output: r.output, exactOutput: pooledY };
    }
    default: {
      const opts = { feature: state.feature, features: state.features, orthogonal: state.orthogonal, nu: state.nu,
        seed: state.seed, causal };
      const W = A.kernelWeights(q, k, opts);
      await pause();
      const output = A.linearAttention(q, k, v, opts);
      await pause();
      const P = exact();
      await pause();
      return { label: `${state.feature} weights`, approx: W, exact: P, output, exactOutput: exactOutput() };
    }
  }
}

/**
 * The inputs of a Matrices picture: the reader's Q, K, V where given, else the
 * core's structured inputs of kind state.inputs (A.inputs: local, clustered,
 * global sinks, previous token, a mixture) or seeded N(0, scale²) ('random').
 */
export function matricesInputs(A, state, user = {}) {
  const made = !user.q && state.inputs !== 'random'
    ? A.inputs(state.inputs, state.n, state.d, { seed: state.seed, scale: state.scale }) : null;
  const q = user.q ?? made?.q ?? scaled(A.randn(state.n, state.d, { seed: state.seed }), state.scale);
  const k = user.k ?? (user.q ? q : made?.k ?? scaled(A.randn(state.n, state.d, { seed: state.seed + 1 }), state.scale));
  if (k.cols !== q.cols) throw new DataError(`K has ${k.cols} columns but Q has ${q.cols}: they must share d`);
  const v = user.v ?? k;
  if (v.rows !== k.rows) throw new DataError(`V has ${v.rows} rows but K has ${k.rows}`);
  return { q, k, v };
}

/**
 * The Matrices job: { state, user: { q?, k?, v? } } -> { label, P, W, E, top,
 * span, images, maxAbs, meanAbs, relFrobenius, meanKL, yErr, ms, inputs },
 * P/W/E as { rows, cols, data } (softmax, approximation, approximation −
 * softmax), images their heatmaps' RGBA pixels (heatmap.js), top the
 * weights' colour scale, ±span the error's.
 */
export async function computeMatrices(A, { state, user = {} }, pause) {
  const t0 = performance.now();
  const { q, k, v } = matricesInputs(A, state, user);
  await pause();
  const { label, approx, exact, output, exactOutput } = await approximate(A, q, k, v, state, pause);
  await pause();
  const err = A.compareWeights(approx, exact);
  let yErr = null;
  if (user.v) {
    let num = 0, den = 0;
    exactOutput.data.forEach((y, i) => { num += (output.data[i] - y) ** 2; den += y * y; });
    yErr = Math.sqrt(num / den);
  }
  const plain = (M) => ({ rows: M.rows, cols: M.cols, data: M.data });
  const top = Math.max(maxOf(exact.data), maxOf(approx.data));
  const span = Math.max(err.maxAbs, 1e-12);
  // The heatmaps' pixels, coloured here (in the worker): the page only puts them on canvases.
  // An approximation with negative entries (Linformer, trigonometric features) is drawn
  // on the diverging scale centred at 0, so its negative weights show as such.
  let low = 0;
  for (let i = 0; i < approx.data.length; i++) if (approx.data[i] < low) low = approx.data[i];
  const wSpan = Math.max(top, -low);
  const scales = [{ lut: 'viridis', min: 0, max: top }, low < 0 ? { lut: 'puor', min: -wSpan, max: wSpan } : { lut: 'viridis', min: 0, max: top },
    { lut: 'puor', min: -span, max: span }];
  const images = [exact, approx, err.error].map((M, i) => heatmapPixels(M, { ...scales[i], lut: scales[i].lut === 'puor' ? PUOR : VIRIDIS }));
  return {
    label, P: plain(exact), W: plain(approx), E: plain(err.error), top, span, scales, images,
    maxAbs: err.maxAbs, meanAbs: err.meanAbs, relFrobenius: err.relFrobenius, meanKL: err.meanKL, yErr,
    ms: performance.now() - t0,
    inputs: { user: Boolean(user.q), n: q.rows, m: k.rows, d: q.cols },
  };
}
