// Matrices: softmax weights beside the matrix an efficient mechanism applies
// (a kernel feature map, Linformer, ..., or softmax over a sparse mask's
// keys), and where they differ. Computed and coloured in the worker
// (jobs.matrices, approximate.js); the page only puts the pictures on
// canvases. The figures are built once per visit and updated in place;
// hovering a cell marks the same (i, j) in all three and reads out all three
// values.
import { h, figure, stats } from '../ui.js';
import { drawPixels, cellAt } from '../heatmap.js';
import { lineChart } from '../charts.js';
import { PUOR, VIRIDIS } from '../colors.js';
import { DataError, LIMITS, checkBytes } from '../data.js';
import { estimateMs } from '../approximate.js';
import { errorText, isReaderError } from '../errors.js';

/** The most work (estimated ms) the page thread takes on for one picture, where no worker can run it. */
export const PAGE_THREAD_MS = 500;

/** The widest a heatmap is shown (CSS px: .fig's max-width less the axes and colour bar). */
const SHOWN_PX = 340;

export default {
  id: 'matrices',
  title: 'Matrices',
  text: 'Softmax attention weights P = softmax(QKᵀ/√d) (left) need all n² entries. Efficient attention replaces ' +
    'them: kernel maps φ(q)·φ(k) compute outputs in O(n) without forming weights; Linformer projects the n keys to k; ' +
    'compressed attention pools keys in slots; Synthesizer uses logits that do not come from token pairs; Sinkhorn ' +
    'attention sorts blocks of keys; Funnel pools the queries; a sparse mask (local window, strides, Longformer, ' +
    'BigBird, LSH buckets, k-means clusters) keeps some keys per query and renormalises softmax over them. The middle ' +
    'picture is the n×n matrix each one applies to the values, the right one its error against softmax (purple: too ' +
    'small, orange: too large). For a mask, the share of each row\'s softmax mass on the kept keys says how much it ' +
    'loses: a window keeps most of it on local inputs and little on clustered ones. Hover a cell to read all three ' +
    'at the same (i, j). Raise the input scale to see where each approximation breaks.',
  async: true,

  /**
   * Until the new figures arrive, and when computing them fails, the previous
   * figures stay on screen (dimmed while computing); the data panel stays
   * usable throughout.
   */
  render(el, { state, name, user, setUser, runner, previous, done, announce, visit = {} }) {
    const status = h('p', { class: 'status', id: 'matrices-status' }, 'computing…');
    const result = previous ?? h('div', { class: 'result' });
    result.classList.toggle('stale', Boolean(previous));
    // The data panel is kept for the visit while the reader's data stays the same (typed text survives a change).
    if (visit.data?.user !== user) visit.data = { user, shape: null, el: dataPanel(user, setUser, () => visit.data.shape, runner) };
    visit.data.shape = { n: state.n, d: state.d };
    el.append(status, result, visit.data.el);
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
    // Pictures are coloured at the size they are shown (device pixels), at least 256 a side.
    // (Measured once per figures: reading a size makes the browser lay the page out.)
    if (result.figures && !result.pixels) result.pixels = result.querySelector('canvas.pixels')?.clientWidth;
    const pixels = Math.max(256, Math.ceil((result.pixels || SHOWN_PX) * (globalThis.devicePixelRatio || 1)));
    runner.run('view', 'matrices', { state, user, pixels }).then(async (r) => {
      if (!r) return;  // replaced by a newer picture
      const shownFigures = result.figures ?? (result.figures = matricesFigures(result, name, r));
      await shownFigures.show(r, state);
      result.classList.remove('stale');
      status.textContent = '';
      status.hidden = true;
      announce(`${r.label}: relative error ${r.relFrobenius.toPrecision(2)}` +
        (r.sparse ? `, softmax mass kept ${(100 * r.sparse.kept.mean).toFixed(1)} % on average` : ''));
      done();
    }, (err) => {
      if (!el.isConnected) return;  // a newer picture replaced this one
      fail(errorText(err));
      if (!isReaderError(err)) console.error(err);
    });
  },
};

const TITLES = ['softmax weights', '', 'approximation − softmax'];

/** A marker over cell (i, j) of a heatmap: an outline (at least 7 px) and a faint crosshair. */
function marker(holder) {
  holder.style.position = 'relative';
  const line = (horizontal) => {
    const l = h('span', { 'aria-hidden': 'true' });
    Object.assign(l.style, { position: 'absolute', pointerEvents: 'none', background: 'rgba(255, 255, 255, 0.55)',
      mixBlendMode: 'difference', ...(horizontal ? { left: 0, right: 0, height: '1px' } : { top: 0, bottom: 0, width: '1px' }) });
    return l;
  };
  const box = h('span', { class: 'hm-mark', 'aria-hidden': 'true' });
  Object.assign(box.style, { position: 'absolute', pointerEvents: 'none', boxSizing: 'border-box', minWidth: '7px',
    minHeight: '7px', transform: 'translate(-50%, -50%)', border: '1.5px solid #fff', boxShadow: '0 0 0 1.5px #000' });
  const [across, down] = [line(true), line(false)];
  const all = [across, down, box];
  for (const x of all) x.hidden = true;
  holder.append(across, down, box);
  return {
    box,
    /** Shows the marker at cell (i, j) of an n x m matrix, or hides it (null). */
    at(cell, n, m) {
      for (const x of all) x.hidden = !cell;
      if (!cell) return;
      const [top, left] = [((cell.row + 0.5) / n) * 100, ((cell.col + 0.5) / m) * 100];
      Object.assign(box.style, { top: `${top}%`, left: `${left}%`, width: `${100 / m}%`, height: `${100 / n}%` });
      across.style.top = `${top}%`;
      down.style.left = `${left}%`;
      box.dataset.row = String(cell.row);
      box.dataset.col = String(cell.col);
    },
  };
}

/**
 * The three heatmaps (each with its colour bar), the linked-hover readout and
 * the summary figures, built once into `result`; show(r, state) puts a result
 * of jobs.matrices on them.
 */
function matricesFigures(result, name, first) {
  let r = first;  // the result shown
  let current = null;  // the cell hovered
  const data = [() => r?.P, () => r?.W, () => r?.E];
  const figs = ['softmax', 'approx', 'error'].map((id, i) => figure({ id, title: TITLES[i], name, data: data[i] }));
  const readout = h('p', { class: 'hover', id: 'matrices-readout' });
  const marks = figs.map((f) => marker(f.canvas.parentElement));
  const say = (cell) => {
    current = cell;
    for (const mk of marks) mk.at(cell, r.P.rows, r.P.cols);
    if (!cell) {
      readout.replaceChildren();
      return;
    }
    // Pictures sorted by bucket show token order[i] at position i.
    const order = r.sparse?.order;
    const [qi, kj] = order ? [order[cell.row], order[cell.col]] : [cell.row, cell.col];
    const at = qi * r.P.cols + kj;
    const value = (label, M) => h('span', { 'data-value': String(M.data[at]) }, `${label} `, h('b', {}, M.data[at].toPrecision(4)));
    const where = r.sparse ? ` (${r.sparse.mask?.[at] ? 'kept' : 'masked'})` : '';
    readout.dataset.row = String(qi);
    readout.dataset.col = String(kj);
    readout.replaceChildren(`query ${qi}, key ${kj}${where}: `, value('softmax', r.P), ' · ',
      value(r.label, r.W), ' · ', value('error', r.E));
  };
  for (const f of figs) {
    f.canvas.addEventListener('pointermove', (event) => say(cellAt(f.canvas, event, r.P.rows, r.P.cols)));
    f.canvas.addEventListener('pointerleave', () => say(null));
  }
  const note = h('p', { class: 'status', id: 'matrices-pooled', hidden: true });
  const summary = h('div', {});
  // A mask's figure (made for the first mask, on the page only while a mask is shown):
  // the share of each query's softmax mass its kept keys hold.
  let keptFig = null;
  const row = h('div', { class: 'figures' }, figs.map((f) => f.root));
  result.replaceChildren(readout, row, note, summary);
  return {
    figs,
    /** Shows result `next` of jobs.matrices for `state`. */
    async show(next, state) {
      r = next;
      const [n, m] = [r.P.rows, r.P.cols];
      figs[0].setTitle(state.mechanism === 'funnel' ? 'softmax, rows averaged per pooled query' : 'softmax weights');
      figs[1].setTitle(r.label);
      const sorted = Boolean(r.sparse?.order);
      for (const [i, f] of figs.entries()) {
        f.root.querySelector('.hm-xlabel').textContent = sorted ? 'key j (sorted by bucket) →' : 'key j →';
        f.root.querySelector('.hm-ylabel').textContent = sorted ? 'query i (sorted by bucket) ↓' : 'query i ↓';
        f.canvas.style.aspectRatio = `${m} / ${n}`;
        Object.assign(f.canvas.dataset, { rows: String(n), cols: String(m) });  // the matrix's size (the picture may be pooled)
        f.setAxes(n, m);
        const s = r.scales[i];
        f.setScale({ lut: s.lut === 'puor' ? PUOR : VIRIDIS, min: s.min, max: s.max,
          label: i === 2 ? 'error' : s.min < 0 ? 'weight (±)' : 'weight' });
      }
      await Promise.all(figs.map((f, i) => drawPixels(f.canvas, r.image.rows, r.image.cols, r.images[i])));
      r.images = null;  // on the canvases now
      say(current && current.row < n && current.col < m ? current : null);  // the values of the new picture
      note.hidden = r.image.pool === 1;
      note.textContent = `n = ${n}: each pixel shows the entry of largest magnitude in its ${r.image.pool} × ${r.image.pool} block; ` +
        'hovering reads every entry.';
      summary.replaceChildren(stats(statRows(r, state)));
      if (!r.sparse) keptFig?.root.remove();
      else {
        keptFig ??= figure({ id: 'kept', title: 'softmax mass on the kept keys, per query', kind: 'chart', name,
          data: () => (r.sparse ? { kind: r.sparse.kind, keptPerRow: Array.from(r.sparse.keptPerRow) } : null) });
        if (!keptFig.root.isConnected) row.append(keptFig.root);
        const { keptPerRow, kept } = r.sparse;
        const points = Array.from(keptPerRow, (y, x) => ({ x, y }));
        lineChart(keptFig.canvas, [{ label: 'mass kept by query i', points },
          { label: `mean ${(100 * kept.mean).toFixed(1)} %`, dashed: true, points: [{ x: 0, y: kept.mean }, { x: n - 1, y: kept.mean }] }],
        { xLabel: 'query i', yLabel: 'share of softmax mass', xMin: 0, xMax: n - 1, yMin: 0, yMax: 1 });
      }
    },
  };
}

/** The summary figures of a result. */
function statRows(r, state) {
  const { inputs, sparse } = r;
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  return [
    ['inputs', inputs.user ? `your data, n = ${inputs.n}, m = ${inputs.m}, d = ${inputs.d}`
      : `${state.inputs === 'random' ? `random N(0, ${state.scale}²)` : `structured: ${state.inputs}, scale ${state.scale}`}, n = ${state.n}, d = ${state.d}`],
    ...(sparse ? [
      ['mask', `${sparse.kind}: ${sparse.nnz} of ${r.P.rows * r.P.cols} cells (density ${pct(sparse.density)})`],
      ['softmax mass kept', `mean ${pct(sparse.kept.mean)}, min ${pct(sparse.kept.min)} (query ${sparse.kept.argmin})`],
    ] : []),
    ['relative Frobenius', r.relFrobenius.toPrecision(3)],
    ['max |error|', r.maxAbs.toPrecision(3)], ['mean |error|', r.meanAbs.toPrecision(3)],
    ['mean KL(softmax ‖ approximation)', r.meanKL.toPrecision(3)],
    ...(r.yErr === null ? [] : [['output error, relative', r.yErr.toPrecision(3)]]),
    ['computed in', `${r.ms.toFixed(1)} ms`],
  ];
}

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
function dataPanel(user, setUser, shape, runner) {
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
    const problem = shapeProblem(next, shape());
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
