// Matrices: softmax weights beside the matrix a kernel feature map applies
// implicitly, and where they differ.
import { h, figure, stats } from '../ui.js';
import { drawHeatmap, extent } from '../heatmap.js';
import { PUOR, VIRIDIS, lutCSS } from '../colors.js';
import { parseMatrix, DataError } from '../data.js';

export default {
  id: 'matrices',
  title: 'Matrices',
  text: 'Softmax attention weights P = softmax(QKᵀ/√d) (left) need all n² entries. Efficient attention replaces ' +
    'them: kernel maps φ(q)·φ(k) compute outputs in O(n) without forming weights; Linformer projects the n keys to k; ' +
    'compressed attention pools keys in slots; Synthesizer uses logits that do not come from token pairs; Sinkhorn ' +
    'attention sorts blocks of keys; Funnel pools the queries. The middle picture is the n×n matrix each one applies ' +
    'to the values, the right one its error against softmax (purple: too small, orange: too large). Raise the input ' +
    'scale to see where each approximation breaks.',

  render(el, { A, state, name, user, setUser }) {
    const q = user.q ?? scaled(A.randn(state.n, state.d, { seed: state.seed }), state.scale);
    const k = user.k ?? (user.q ? q : scaled(A.randn(state.n, state.d, { seed: state.seed + 1 }), state.scale));
    if (k.cols !== q.cols) throw new DataError(`K has ${k.cols} columns but Q has ${q.cols}: they must share d`);
    const v = user.v ?? k;
    if (v.rows !== k.rows) throw new DataError(`V has ${v.rows} rows but K has ${k.rows}`);
    const t0 = performance.now();
    const { label, approx, exact, output, exactOutput } = approximate(A, q, k, v, state);
    const err = A.compareWeights(approx, exact);
    const ms = performance.now() - t0;
    const [P, W, E] = [exact, approx, err.error];
    const top = Math.max(extent(P.data).max, extent(W.data).max);
    const [n, m] = [P.rows, P.cols];
    const hover = (M) => (i, j) => `(${i}, ${j}) = ${M.data[i * m + j].toPrecision(4)}`;
    const figs = [
      figure({ id: 'softmax', title: state.mechanism === 'funnel' ? 'softmax, rows averaged per pooled query' : 'softmax weights',
        name, data: () => P, hover: hover(P), rows: () => n, cols: () => m }),
      figure({ id: 'approx', title: label, name, data: () => W, hover: hover(W), rows: () => n, cols: () => m }),
      figure({ id: 'error', title: 'approximation − softmax', name, data: () => E, hover: hover(E), rows: () => n, cols: () => m }),
    ];
    drawHeatmap(figs[0].canvas, P, { max: top });
    drawHeatmap(figs[1].canvas, W, { max: top });
    const span = Math.max(err.maxAbs, 1e-12);
    drawHeatmap(figs[2].canvas, E, { lut: PUOR, min: -span, max: span });
    let yErr = null;
    if (user.v) {
      let num = 0, den = 0;
      exactOutput.data.forEach((y, i) => { num += (output.data[i] - y) ** 2; den += y * y; });
      yErr = Math.sqrt(num / den);
    }
    el.append(
      h('div', { class: 'figures' }, figs.map((f) => f.root)),
      h('div', { class: 'legends' },
        legend(VIRIDIS, '0', top.toPrecision(3), 'weights'), legend(PUOR, (-span).toPrecision(2), span.toPrecision(2), 'error')),
      stats([
        ['inputs', user.q ? `your data, n = ${q.rows}, m = ${k.rows}, d = ${q.cols}` : `random N(0, ${state.scale}²), n = ${state.n}, d = ${state.d}`],
        ['max |error|', err.maxAbs.toPrecision(3)], ['mean |error|', err.meanAbs.toPrecision(3)],
        ['relative Frobenius', err.relFrobenius.toPrecision(3)], ['mean KL(softmax ‖ approximation)', err.meanKL.toPrecision(3)],
        ...(yErr === null ? [] : [['output error ‖Y − Y_softmax‖ / ‖Y_softmax‖', yErr.toPrecision(3)]]),
        ['computed in', `${ms.toFixed(1)} ms`],
      ]),
      dataPanel(user, setUser, { n: state.n, d: state.d }),
    );
  },
};

/**
 * The matrix a mechanism applies to V (approx), the softmax matrix it stands
 * for (exact), and both outputs.
 */
function approximate(A, q, k, v, state) {
  const causal = state.causal;
  const exact = () => A.softmaxWeights(q, k, { causal });
  const exactOutput = () => A.softmaxAttention(q, k, v, { causal });
  switch (state.mechanism) {
    case 'linformer': {
      const r = A.linformer(q, k, v, { rank: Math.min(state.rank, k.rows), seed: state.seed });
      return { label: `Linformer, k = ${r.E.rows}`, approx: r.effective, exact: A.softmaxWeights(q, k), output: r.output,
        exactOutput: A.softmaxAttention(q, k, v) };
    }
    case 'compressed': {
      const r = A.compressedAttention(q, k, v, { factor: Math.min(state.factor, k.rows), causal });
      return { label: `compressed, c = ${state.factor}`, approx: r.effective, exact: exact(), output: r.output, exactOutput: exactOutput() };
    }
    case 'synthesizer': {
      if (q.rows !== k.rows) throw new DataError('Synthesizer needs as many queries as keys');
      const r = A.synthesizer(q, v, { mode: state.synthMode, mix: state.mix, q, k, causal, seed: state.seed });
      return { label: `Synthesizer (${state.synthMode})`, approx: r.weights, exact: exact(), output: r.output, exactOutput: exactOutput() };
    }
    case 'sinkhorn':
    case 'sortcut': {
      const n = q.rows;
      let block = Math.min(state.sBlock, n);
      while (n % block) block--;  // the largest block size not above the setting that divides n
      const sortcut = state.mechanism === 'sortcut' ? Math.min(state.sortcut, n / block) : 0;
      const r = A.sinkhornAttention(q, k, v, { block, iterations: state.iterations, tau: state.tau, seed: state.seed,
        causal: sortcut ? false : causal, sortcut });
      return { label: sortcut ? `SortCut, ${sortcut} blocks of ${block}` : `Sinkhorn, blocks of ${block}`, approx: r.effective,
        exact: sortcut ? A.softmaxWeights(q, k) : exact(), output: r.output, exactOutput: sortcut ? A.softmaxAttention(q, k, v) : exactOutput() };
    }
    case 'funnel': {
      const r = A.funnelAttention(q, k, v);
      // Reference: the average of the softmax rows that each pooled query stands for.
      const P = A.softmaxWeights(q, k), m = P.cols;
      const pooled = { rows: r.weights.rows, cols: m, data: new Float32Array(r.weights.rows * m) };
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
      return { label: `${state.feature} weights`, approx: A.kernelWeights(q, k, opts), exact: exact(),
        output: A.linearAttention(q, k, v, opts), exactOutput: exactOutput() };
    }
  }
}

const scaled = (m, s) => (s === 1 ? m : { ...m, data: m.data.map((x) => x * s) });

function legend(lut, lo, hi, label) {
  return h('span', { class: 'legend' }, h('span', {}, label, ' ', lo), h('span', { class: 'ramp', style: `background: ${lutCSS(lut)}` }), h('span', {}, hi));
}

/** The inputs that would be used with `next` matrices: a message if their shapes disagree. */
function shapeProblem({ q, k, v }, { n, d }) {
  const cols = q ? q.cols : d, rows = k ? k.rows : q ? q.rows : n;
  if (k && k.cols !== cols) return `K has ${k.cols} columns but Q has ${cols}: they must share d`;
  if (v && v.rows !== rows) return `V has ${v.rows} rows but K has ${rows}: one value per key`;
  return null;
}

/** Paste or upload Q, K or V (JSON, CSV, .npy); errors are shown, not thrown. */
function dataPanel(user, setUser, random) {
  const target = h('select', { id: 'data-target', 'aria-label': 'matrix to replace' },
    ['q', 'k', 'v'].map((t) => h('option', { value: t }, t.toUpperCase())));
  const text = h('textarea', { id: 'data-text', rows: 4, placeholder: '[[0.1, 0.2], [0.3, 0.4]]  or CSV rows', 'aria-label': 'matrix as JSON or CSV' });
  const message = h('p', { class: 'message', role: 'alert', id: 'data-message' });
  const use = (matrix) => {
    const next = { ...user, [target.value]: matrix };
    const problem = shapeProblem(next, random);
    if (problem) throw new DataError(`${target.value.toUpperCase()} ${matrix.rows}×${matrix.cols} not used: ${problem}`);
    setUser(next);
  };
  const report = (err) => {
    if (!(err instanceof DataError)) throw err;
    message.textContent = err.message;
    message.className = 'message error';
  };
  const file = h('input', { type: 'file', id: 'data-file', accept: '.json,.csv,.txt,.npy', 'aria-label': 'upload a matrix',
    onchange: async () => {
      const f = file.files[0];
      if (!f) return;
      try {
        use(parseMatrix(await f.arrayBuffer(), f.name));
      } catch (err) {
        report(err);
      }
    } });
  const current = ['q', 'k', 'v'].filter((t) => user[t]).map((t) => `${t.toUpperCase()} ${user[t].rows}×${user[t].cols}`);
  if (current.length) message.textContent = `Using your ${current.join(', ')}.`;
  return h('details', { class: 'data', open: Boolean(current.length) },
    h('summary', {}, 'Bring your own Q, K, V'),
    h('p', {}, 'JSON (an array of rows, or { rows, cols, data }), CSV, or a NumPy .npy file (float32/float64, 1-D or 2-D). ' +
      'Q sets n and d; K must have the same columns (it defaults to Q); V (m rows) adds the output error.'),
    h('div', { class: 'data-row' }, h('label', { for: 'data-target' }, 'replace '), target,
      h('button', { type: 'button', onclick: () => { try { use(parseMatrix(text.value)); } catch (err) { report(err); } } }, 'use pasted'),
      file,
      h('button', { type: 'button', onclick: () => setUser({}) }, 'back to random')),
    text, message);
}
