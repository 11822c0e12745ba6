// The Matrices view's computation, run as a job (jobs.js) in the Web Worker,
// or on the page thread where workers cannot start: the matrix each mechanism
// applies to V, the softmax matrix it stands for, their difference, its
// summary figures, and the three heatmaps' pictures. No DOM.
//
// Speed (npm run bench:page): the last inputs and their softmax references
// are kept between jobs, so a change of the mechanism or its settings
// recomputes only the approximation; the comparison is one pass over the
// n x m entries; the pictures are coloured here at the size they are shown
// (`pixels`: at most that many pixels a side, each pixel the entry of largest
// magnitude in its block) and handed over as ImageBitmaps where the engine
// makes them, so the page only puts them on canvases.
import { DataError } from './data.js';
import { heatmapPixels, poolMaxAbs } from './heatmap.js';
import { PUOR, VIRIDIS } from './colors.js';

const scaled = (m, s) => (s === 1 ? m : { ...m, data: m.data.map((x) => x * s) });

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
    case 'sparse': return dense + (['lsh', 'kmeans'].includes(state.kind) ? n * d * 64 * 1e-5 : 0);
    default: return dense;
  }
}

/**
 * The options of A.mask for the state's mask fields (as the Masks view reads
 * them): global tokens spread evenly, LSH and k-means over the keys' rows x
 * (Reformer shares queries and keys; the structured inputs put a token's
 * query and key on the same centre).
 */
export function maskOptions(state, n, x, causal = false) {
  const tokens = Array.from({ length: Math.min(state.tokens, n) }, (_, i) => Math.floor((i * n) / Math.max(1, state.tokens)));
  return {
    window: state.window, stride: state.stride, dilation: state.dilation, block: state.block, summary: state.summary,
    tokens, perRow: state.perRow, windowBlocks: state.windowBlocks, globalBlocks: state.globalBlocks,
    randomBlocks: state.randomBlocks, buckets: state.buckets, hashes: state.hashes, clusters: Math.min(state.clusters, n),
    seed: state.seed, ...(['lsh', 'kmeans'].includes(state.kind) ? { x } : {}), ...(causal ? { causal } : {}),
  };
}

/**
 * The inputs and softmax references of the last picture, kept for the next
 * job: { key, inputs, refs: Map(causal -> { weights?, output? }) }. Arrays
 * kept here are never handed over (transferring would detach them): the
 * result carries copies.
 */
const memo = { key: null, inputs: null, refs: new Map() };
const kept = new WeakSet();  // data arrays owned by memo

/** The softmax reference of q, k (causal or not): weights() and output(), each computed once per inputs. */
function reference(A, q, k, v, causal) {
  let ref = memo.refs.get(causal);
  if (!ref) memo.refs.set(causal, ref = {});
  return {
    weights: () => {
      if (!ref.weights) { ref.weights = A.softmaxWeights(q, k, { causal }); kept.add(ref.weights.data); }
      return ref.weights;
    },
    output: () => {
      if (!ref.output) { ref.output = A.softmaxAttention(q, k, v, { causal }); kept.add(ref.output.data); }
      return ref.output;
    },
  };
}

/**
 * The matrix a mechanism applies to V (approx), the softmax matrix it stands
 * for (exact), and both outputs when `outputs` (else null). Yields (`pause`)
 * between the core's calls.
 */
async function approximate(A, q, k, v, state, pause, outputs) {
  const causal = state.causal;
  const ref = (c) => reference(A, q, k, v, c);
  const both = async (mechanism, softmax) => {
    const r = mechanism();
    await pause();
    const P = softmax.weights();
    await pause();
    return { r, exact: P, exactOutput: outputs ? softmax.output() : null };
  };
  switch (state.mechanism) {
    case 'linformer': {
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.linformer(q, k, v, { rank: Math.min(state.rank, k.rows), seed: state.seed }), ref(false));
      return { label: `Linformer, k = ${r.E.rows}`, approx: r.effective, exact: P, output: r.output, exactOutput: Y };
    }
    case 'compressed': {
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.compressedAttention(q, k, v, { factor: Math.min(state.factor, k.rows), causal }), ref(causal));
      return { label: `compressed, c = ${state.factor}`, approx: r.effective, exact: P, output: r.output, exactOutput: Y };
    }
    case 'synthesizer': {
      if (q.rows !== k.rows) throw new DataError('Synthesizer needs as many queries as keys');
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.synthesizer(q, v, { mode: state.synthMode, mix: state.mix, q, k, causal, seed: state.seed }), ref(causal));
      return { label: `Synthesizer (${state.synthMode})`, approx: r.weights, exact: P, output: r.output, exactOutput: Y };
    }
    case 'sinkhorn':
    case 'sortcut': {
      const n = q.rows;
      let block = Math.min(state.sBlock, n);
      while (n % block) block--;  // the largest block size not above the setting that divides n
      const sortcut = state.mechanism === 'sortcut' ? Math.min(state.sortcut, n / block) : 0;
      const { r, exact: P, exactOutput: Y } = await both(
        () => A.sinkhornAttention(q, k, v, { block, iterations: state.iterations, tau: state.tau, seed: state.seed,
          causal: sortcut ? false : causal, sortcut }),
        ref(sortcut ? false : causal));
      return { label: sortcut ? `SortCut, ${sortcut} blocks of ${block}` : `Sinkhorn, blocks of ${block}`, approx: r.effective,
        exact: P, output: r.output, exactOutput: Y };
    }
    case 'funnel': {
      const r = A.funnelAttention(q, k, v);
      await pause();
      // Reference: the average of the softmax rows that each pooled query stands for.
      const P = ref(false).weights(), m = P.cols;
      const pooled = { rows: r.weights.rows, cols: m, data: new Float32Array(r.weights.rows * m) };
      await pause();
      const Y = ref(false).output(), dv = Y.cols;
      const pooledY = { rows: r.weights.rows, cols: dv, data: new Float32Array(r.weights.rows * dv) };
      for (let s = 0; s < pooled.rows; s++) {
        const members = Math.min(2, q.rows - 2 * s);
        for (let t = 0; t < members; t++) {
          for (let j = 0; j < m; j++) pooled.data[s * m + j] += P.data[(2 * s + t) * m + j] / members;
          for (let c = 0; c < dv; c++) pooledY.data[s * dv + c] += Y.data[(2 * s + t) * dv + c] / members;
        }
      }
      return { label: 'Funnel: queries pooled by 2', approx: r.weights, exact: pooled, output: r.output,
        exactOutput: outputs ? pooledY : null };
    }
    case 'sparse': {
      // Softmax over the keys a mask keeps (renormalised over them), against full softmax.
      const n = q.rows;
      if (k.rows !== n) throw new DataError(`a ${state.kind} mask is n × n: it needs as many keys as queries (Q has ${n} rows, K ${k.rows})`);
      const mask = A.mask(state.kind, n, maskOptions(state, n, k, causal));
      await pause();
      const W = A.softmaxWeights(q, k, { mask });
      await pause();
      const output = outputs ? A.sparseAttention(q, k, v, mask) : null;
      await pause();
      const P = ref(causal).weights();
      return { label: `masked softmax (${state.kind})`, approx: W, exact: P, output,
        exactOutput: outputs ? ref(causal).output() : null, mask };
    }
    default: {
      const opts = { feature: state.feature, features: state.features, orthogonal: state.orthogonal, nu: state.nu,
        seed: state.seed, causal };
      const W = A.kernelWeights(q, k, opts);
      await pause();
      const output = outputs ? A.linearAttention(q, k, v, opts) : null;
      await pause();
      const P = ref(causal).weights();
      await pause();
      return { label: `${state.feature} weights`, approx: W, exact: P, output, exactOutput: outputs ? ref(causal).output() : null };
    }
  }
}

/**
 * The inputs of a Matrices picture: the reader's Q, K, V where given, else the
 * core's structured inputs of kind state.inputs (A.inputs: local, clustered,
 * global sinks, previous token, a mixture, with their V) or seeded
 * N(0, scale²) ('random', V = K). `generatedV`: V came from A.inputs.
 */
export function matricesInputs(A, state, user = {}) {
  const made = !user.q && state.inputs !== 'random'
    ? A.inputs(state.inputs, state.n, state.d, { seed: state.seed, scale: state.scale }) : null;
  const q = user.q ?? made?.q ?? scaled(A.randn(state.n, state.d, { seed: state.seed }), state.scale);
  const k = user.k ?? (user.q ? q : made?.k ?? scaled(A.randn(state.n, state.d, { seed: state.seed + 1 }), state.scale));
  if (k.cols !== q.cols) throw new DataError(`K has ${k.cols} columns but Q has ${q.cols}: they must share d`);
  const v = user.v ?? (user.k || user.q ? k : made?.v ?? k);
  if (v.rows !== k.rows) throw new DataError(`V has ${v.rows} rows but K has ${k.rows}`);
  return { q, k, v, generatedV: !user.v && Boolean(made) && !user.k };
}

/** The inputs of the state, the same as the last job's when its fields are (no data of the reader's). */
function inputsFor(A, state, user) {
  if (user.q || user.k || user.v) {
    memo.key = null;
    memo.refs.clear();
    return matricesInputs(A, state, user);
  }
  const key = JSON.stringify([state.inputs, state.n, state.d, state.seed, state.scale]);
  if (memo.key !== key) {
    memo.refs.clear();
    memo.inputs = matricesInputs(A, state, user);
    memo.key = key;
  }
  return memo.inputs;
}

/**
 * One pass over approx W and exact P (n x m): the error W − P and the figures
 * of compareWeights (max and mean |error|, relative Frobenius error, mean
 * KL(P row ‖ W row) with W floored at 1e-30), the largest entry of P and W
 * (top), the smallest of W (low, at most 0), and with a mask the softmax
 * mass each row keeps: Σ_j P_ij over the allowed keys j.
 */
export function summarize(W, P, mask = null) {
  const n = P.rows, m = P.cols, p = P.data, w = W.data, allowed = mask?.data;
  const error = new Float32Array(n * m);
  const keptPerRow = mask ? new Float32Array(n) : null;
  let maxAbs = 0, sumAbs = 0, sumSq = 0, refSq = 0, klSum = 0, top = 0, low = 0, nnz = 0;
  for (let i = 0; i < n; i++) {
    let kl = 0, keep = 0;
    for (let j = i * m, end = j + m; j < end; j++) {
      const pj = p[j], wj = w[j], e = wj - pj;
      error[j] = e;
      const a = e < 0 ? -e : e;
      if (a > maxAbs) maxAbs = a;
      sumAbs += a;
      sumSq += e * e;
      refSq += pj * pj;
      if (pj > top) top = pj;
      if (wj > top) top = wj;
      if (wj < low) low = wj;
      if (pj > 0) kl += pj * Math.log(pj / (wj > 1e-30 ? wj : 1e-30));
      if (allowed && allowed[j]) { keep += pj; nnz++; }
    }
    klSum += kl;
    if (keptPerRow) keptPerRow[i] = keep;
  }
  const out = {
    error: { rows: n, cols: m, data: error }, maxAbs, meanAbs: sumAbs / (n * m), relFrobenius: Math.sqrt(sumSq / refSq),
    meanKL: klSum / n, top, low,
  };
  if (mask) {
    let sum = 0, min = Infinity, argmin = 0;
    keptPerRow.forEach((x, i) => { sum += x; if (x < min) { min = x; argmin = i; } });
    out.sparse = { nnz, density: nnz / (n * m), keptPerRow, kept: { mean: sum / n, min, argmin } };
  }
  return out;
}

/** Token indices sorted by bucket (assignments[i], the first round's), then position: Int32Array n. */
export function sortedOrder(assignments, n) {
  return Int32Array.from({ length: n }, (_, i) => i).sort((i, j) => assignments[i] - assignments[j] || i - j);
}

/** M with rows and columns reordered: entry (r, c) is M[order[r], order[c]]. */
function permuted(M, order) {
  const { rows, cols, data } = M;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const from = order[r] * cols;
    for (let c = 0; c < cols; c++) out[r * cols + c] = data[from + order[c]];
  }
  return { rows, cols, data: out };
}

/** A heatmap's picture: an ImageBitmap where the engine makes them (browsers, workers), else RGBA pixels. */
async function picture(pixels, rows, cols) {
  if (typeof createImageBitmap !== 'function' || typeof ImageData !== 'function') return pixels;
  return createImageBitmap(new ImageData(pixels, cols, rows), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
}

/**
 * The Matrices job: { state, user: { q?, k?, v? }, pixels? } -> { label, P, W,
 * E, top, span, scales, images, image: { rows, cols, pool }, maxAbs, meanAbs,
 * relFrobenius, meanKL, yErr, sparse, ms, inputs }. P/W/E as { rows, cols,
 * data } (softmax, approximation, approximation − softmax); images their
 * heatmaps (viridis 0..top for weights, PuOr ±span for the error (span:
 * max |error|, at least top / 1000), ±max|W|
 * for weights with negative entries), each image.rows × image.cols: with
 * `pixels`, matrices larger than that are pooled by `pool` (each pixel the
 * entry of largest magnitude in its pool × pool block). yErr: the relative
 * output error, when V is the reader's or the generator's (null for random
 * inputs). sparse (mechanism 'sparse'): { kind, nnz, density, keptPerRow,
 * kept: { mean, min, argmin }, mask }: the softmax mass each row's kept keys
 * hold, the mask's n x n entries (non-zero: kept) and, for LSH or k-means
 * with state.sorted, the order the pictures show the tokens in (else null).
 */
export async function computeMatrices(A, { state, user = {}, pixels = 0 }, pause) {
  const t0 = performance.now();
  const { q, k, v, generatedV } = inputsFor(A, state, user);
  const outputs = Boolean(user.v) || generatedV;
  await pause();
  const { label, approx, exact, output, exactOutput, mask } = await approximate(A, q, k, v, state, pause, outputs);
  await pause();
  const s = summarize(approx, exact, mask);
  let yErr = null;
  if (outputs) {
    let num = 0, den = 0;
    exactOutput.data.forEach((y, i) => { num += (output.data[i] - y) ** 2; den += y * y; });
    yErr = den > 0 ? Math.sqrt(num / den) : 0;
  }
  const own = (M) => ({ rows: M.rows, cols: M.cols, data: kept.has(M.data) ? M.data.slice() : M.data });
  const { top } = s;
  // Errors below a thousandth of the largest weight (float32 rounding) stay white.
  const span = Math.max(s.maxAbs, 1e-3 * top, 1e-12);
  // An approximation with negative entries (Linformer, trigonometric features) is drawn
  // on the diverging scale centred at 0, so its negative weights show as such.
  const wSpan = Math.max(top, -s.low);
  const scales = [{ lut: 'viridis', min: 0, max: top }, s.low < 0 ? { lut: 'puor', min: -wSpan, max: wSpan } : { lut: 'viridis', min: 0, max: top },
    { lut: 'puor', min: -span, max: span }];
  const [n, m] = [exact.rows, exact.cols];
  // LSH buckets, k-means clusters: tokens sorted by their (first-round) bucket, then position, when asked.
  const order = mask?.assignments && state.sorted ? sortedOrder(mask.assignments, n) : null;
  const shown = (M) => (order ? permuted(M, order) : M);
  const pool = pixels > 0 ? Math.max(1, Math.ceil(Math.max(n, m) / pixels)) : 1;
  const image = { rows: Math.ceil(n / pool), cols: Math.ceil(m / pool), pool };
  const images = await Promise.all([exact, approx, s.error].map((M, i) =>
    picture(heatmapPixels(pool > 1 ? poolMaxAbs(shown(M), pool) : shown(M), { ...scales[i], lut: scales[i].lut === 'puor' ? PUOR : VIRIDIS }),
      image.rows, image.cols)));
  return {
    label, P: own(exact), W: own(approx), E: s.error, top, span, scales, images, image,
    maxAbs: s.maxAbs, meanAbs: s.meanAbs, relFrobenius: s.relFrobenius, meanKL: s.meanKL, yErr,
    sparse: s.sparse ? { kind: state.kind, ...s.sparse, mask: mask.data, order } : null,
    ms: performance.now() - t0,
    inputs: { user: Boolean(user.q), n: q.rows, m: k.rows, d: q.cols },
  };
}
