// Matrices: softmax weights beside the matrix a kernel feature map applies
// implicitly, and where they differ. Computed in the worker (jobs.matrices,
// approximate.js); the page only draws.
import { h, figure, stats } from '../ui.js';
import { drawPixels } from '../heatmap.js';
import { PUOR, VIRIDIS } from '../colors.js';
import { DataError, LIMITS, checkBytes } from '../data.js';
import { estimateMs } from '../approximate.js';
import { errorText, isReaderError } from '../errors.js';

/** The most work (estimated ms) the page thread takes on for one picture, where no worker can run it. */
export const PAGE_THREAD_MS = 500;

export default {
  id: 'matrices',
  title: 'Matrices',
  text: 'Softmax attention weights P = softmax(QKᵀ/√d) (left) need all n² entries. Efficient attention replaces ' +
    'them: kernel maps φ(q)·φ(k) compute outputs in O(n) without forming weights; Linformer projects the n keys to k; ' +
    'compressed attention pools keys in slots; Synthesizer uses logits that do not come from token pairs; Sinkhorn ' +
    'attention sorts blocks of keys; Funnel pools the queries. The middle picture is the n×n matrix each one applies ' +
    'to the values, the right one its error against softmax (purple: too small, orange: too large). Raise the input ' +
    'scale to see where each approximation breaks.',
  async: true,

  /**
   * Until the new figures arrive, and when computing them fails, the previous
   * figures stay on screen (dimmed while computing); the data panel stays
   * usable throughout.
   */
  render(el, { state, name, user, setUser, runner, previous, done, announce }) {
    const status = h('p', { class: 'status', id: 'matrices-status' }, 'computing…');
    const result = previous ?? h('div', { class: 'result' });
    result.classList.toggle('stale', Boolean(previous));
    el.append(status, result, dataPanel(user, setUser, { n: state.n, d: state.d }, runner));
    const fail = (message) => {
      status.className = 'message error';
      status.setAttribute('role', 'alert');
      status.textContent = previous ? `${message} (the figures below are the previous ones)` : message;
      result.classList.remove('stale');
      done();
    };
    const k = user.k ?? user.q;
    const sizes = { n: user.q?.rows ?? state.n, m: k?.rows ?? state.n, d: user.q?.cols ?? state.d };
    const cost = estimateMs(state, sizes);
    if (cost > PAGE_THREAD_MS && !runner.usesWorkers()) {
      fail(`These settings take about ${(cost / 1000).toPrecision(2)} s to compute, too long for the page thread ` +
        `(this page cannot start a Web Worker, as when opened from disk): ${user.q ? 'use smaller matrices' : 'lower n'}, ` +
        'lower the iterations or raise the block, or open the lab through npm start.');
      return;
    }
    runner.run('view', 'matrices', { state, user }).then(async (r) => {
      if (!r) return;  // replaced by a newer picture
      const { nodes, paints, large } = figures(r, state, name);
      result.replaceChildren(...nodes);
      result.classList.remove('stale');
      status.textContent = '';
      status.hidden = true;
      announce(`${r.label}: relative error ${r.relFrobenius.toPrecision(2)}`);
      // Large heatmaps are put on screen one per frame: each costs the page a raster.
      for (const paint of paints) {
        if (large) await nextFrame();
        if (!el.isConnected) return;  // a newer picture replaced this one
        await paint();
      }
      done();
    }, (err) => {
      if (!el.isConnected) return;  // a newer picture replaced this one
      fail(errorText(err));
      if (!isReaderError(err)) console.error(err);
    });
  },
};

/**
 * The three heatmaps (each with its colour bar) and the summary figures of a result of
 * jobs.matrices: { nodes, paints (one function per heatmap), large }.
 */
function figures(r, state, name) {
  const { P, W, E, inputs } = r;
  const [n, m] = [P.rows, P.cols];
  const hover = (M) => (i, j) => `(${i}, ${j}) = ${M.data[i * m + j].toPrecision(4)}`;
  const figs = [
    figure({ id: 'softmax', title: state.mechanism === 'funnel' ? 'softmax, rows averaged per pooled query' : 'softmax weights',
      name, data: () => P, hover: hover(P), rows: () => n, cols: () => m }),
    figure({ id: 'approx', title: r.label, name, data: () => W, hover: hover(W), rows: () => n, cols: () => m }),
    figure({ id: 'error', title: 'approximation − softmax', name, data: () => E, hover: hover(E), rows: () => n, cols: () => m }),
  ];
  for (const [i, f] of figs.entries()) {  // sized now, so the layout does not move as they are drawn
    [f.canvas.width, f.canvas.height] = [m, n];
    f.canvas.style.aspectRatio = `${m} / ${n}`;
    f.setAxes(n, m);
    const s = r.scales[i];
    f.setScale({ lut: s.lut === 'puor' ? PUOR : VIRIDIS, min: s.min, max: s.max,
      label: i === 2 ? 'error' : s.min < 0 ? 'weight (±)' : 'weight' });
  }
  const paints = figs.map((f, i) => () => drawPixels(f.canvas, n, m, r.images[i]));
  const nodes = [
    h('div', { class: 'figures' }, figs.map((f) => f.root)),
    stats([
      ['inputs', inputs.user ? `your data, n = ${inputs.n}, m = ${inputs.m}, d = ${inputs.d}`
        : `${state.inputs === 'random' ? `random N(0, ${state.scale}²)` : `structured: ${state.inputs}, scale ${state.scale}`}, n = ${state.n}, d = ${state.d}`],
      ['max |error|', r.maxAbs.toPrecision(3)], ['mean |error|', r.meanAbs.toPrecision(3)],
      ['relative Frobenius', r.relFrobenius.toPrecision(3)], ['mean KL(softmax ‖ approximation)', r.meanKL.toPrecision(3)],
      ...(r.yErr === null ? [] : [['output error ‖Y − Y_softmax‖ / ‖Y_softmax‖', r.yErr.toPrecision(3)]]),
      ['computed in', `${r.ms.toFixed(1)} ms`],
    ]),
  ];
  return { nodes, paints, large: n * m > 256 * 256 };
}

/** Resolves after the next frame has been drawn. */
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));


/** The inputs that would be used with `next` matrices: a message if their shapes disagree. */
function shapeProblem({ q, k, v }, { n, d }) {
  const cols = q ? q.cols : d, rows = k ? k.rows : q ? q.rows : n;
  if (k && k.cols !== cols) return `K has ${k.cols} columns but Q has ${cols}: they must share d`;
  if (v && v.rows !== rows) return `V has ${v.rows} rows but K has ${rows}: one value per key`;
  return null;
}

/**
 * Paste or upload Q, K or V (JSON, CSV, .npy), read in the worker (jobs.parse)
 * so a large file never blocks the page; errors are shown, not thrown.
 */
function dataPanel(user, setUser, random, runner) {
  const target = h('select', { id: 'data-target', 'aria-label': 'matrix to replace' },
    ['q', 'k', 'v'].map((t) => h('option', { value: t }, t.toUpperCase())));
  const text = h('textarea', { id: 'data-text', rows: 4, placeholder: '[[0.1, 0.2], [0.3, 0.4]]  or CSV rows', 'aria-label': 'matrix as JSON or CSV' });
  const message = h('p', { class: 'message', role: 'alert', id: 'data-message' });
  const say = (textContent, error = false) => {
    message.textContent = textContent;
    message.className = error ? 'message error' : 'message';
  };
  const use = (matrix, which) => {
    const next = { ...user, [which]: matrix };
    const problem = shapeProblem(next, random);
    if (problem) throw new DataError(`${which.toUpperCase()} ${matrix.rows}×${matrix.cols} not used: ${problem}`);
    setUser(next);
  };
  /** Reads input (text or an ArrayBuffer) off the page thread, then uses it. */
  const read = async (getInput, name) => {
    const which = target.value;
    try {
      say(`reading ${name || 'the pasted text'}…`);
      const matrix = await runner.run('parse', 'parse', { input: await getInput(), name });
      if (matrix) use(matrix, which);
    } catch (err) {
      if (!isReaderError(err)) console.error(err);
      say(errorText(err), true);
    }
  };
  const file = h('input', { type: 'file', id: 'data-file', accept: '.json,.csv,.txt,.npy', 'aria-label': 'upload a matrix',
    onchange: () => {
      const f = file.files[0];
      if (!f) return;
      read(() => {
        checkBytes(f.name, f.size);  // before reading a byte of it
        return f;  // read by the worker
      }, f.name);
    } });
  const current = ['q', 'k', 'v'].filter((t) => user[t]).map((t) => `${t.toUpperCase()} ${user[t].rows}×${user[t].cols}`);
  if (current.length) say(`Using your ${current.join(', ')}.`);
  const mib = LIMITS.bytes / 2 ** 20;
  return h('details', { class: 'data', open: Boolean(current.length) },
    h('summary', {}, 'Bring your own Q, K, V'),
    h('p', {}, 'JSON (an array of rows, or { rows, cols, data }), CSV (a header line allowed; commas, or tabs or semicolons, ' +
      'with points for decimals), or a NumPy .npy file (float32/float64/int32/int64, 1-D or 2-D). ' +
      `Up to ${mib} MiB and ${LIMITS.rows} rows × ${LIMITS.cols} columns. ` +
      'Q sets n and d; K must have the same columns (it defaults to Q); V (m rows) adds the output error.'),
    h('div', { class: 'data-row' }, h('label', { for: 'data-target' }, 'replace '), target,
      h('button', { type: 'button', onclick: () => read(() => {
        checkBytes('pasted data', text.value.length, 'characters');
        return text.value;
      }, '') }, 'use pasted'),
      file,
      h('button', { type: 'button', onclick: () => setUser({}) }, 'back to random')),
    text, message);
}
