// Fast weights: the memory W_t of causal linear attention, written step by
// step under the sum rule and the delta rule, side by side.
import { h, figure, stats } from '../ui.js';
import { drawHeatmap, extent } from '../heatmap.js';
import { PUOR } from '../colors.js';
import { lineChart, markRange } from '../charts.js';

// The runs of the last parameters, kept per view container (the element the
// view renders into stays the same across renders), so that two figures on one
// page never share a cache. Timers live on the visit (see render.js).
const CACHE = Symbol('attnlab fastweights runs');

const unitRows = (m) => {
  const data = Float32Array.from(m.data);
  for (let i = 0; i < m.rows; i++) {
    const row = data.subarray(i * m.cols, (i + 1) * m.cols);
    const norm = Math.hypot(...row) || 1;
    row.forEach((x, j) => { row[j] = x / norm; });
  }
  return { ...m, data };
};

export default {
  id: 'fastweights',
  title: 'Fast weights',
  text: 'Causal linear attention keeps a memory matrix W (rows: value components, columns: features φ(k)) and adds ' +
    'one outer product v φ(k)ᵀ per token: the sum rule. Writing never forgets, so once more keys are stored than φ ' +
    'has dimensions (dφ), keys overlap and retrievals blur. The delta rule first reads what the key already retrieves ' +
    'and writes only the difference (scaled by β), so it can overwrite. Beside each W is the write of the step shown, ' +
    'ΔW = W_t − W_(t−1): the sum rule adds the full outer product every time, the delta rule only what the memory ' +
    'does not already return for that key. Play the writes and watch how much each ' +
    'earlier memory is damaged by later ones (values have unit length, so 0.5 means nothing is retrieved).',

  render(el, { A, state, name, set, visit, announce = () => {} }) {
    const { T, fwD: d, dv, seed } = state;
    const key = JSON.stringify([T, d, dv, seed, state.fwFeature, state.nu, state.normalize, state.beta]);
    const host = el.parentElement ?? el;
    const cache = host[CACHE] ?? { key: null, runs: null };
    if (cache.key !== key) {
      // Unit-length values: a retrieval error of 0.5 then means nothing was retrieved.
      const keys = A.randn(T, d, { seed }), values = unitRows(A.randn(T, dv, { seed: seed + 1 }));
      const common = { keys, values, feature: state.fwFeature, nu: state.nu, normalize: state.normalize, record: 'all', errors: true,
        features: 2 * d, seed };  // FAVOR+: m = 2d
      host[CACHE] = { key, runs: [['sum', A.fastWeights({ ...common, rule: 'sum' })], ['delta', A.fastWeights({ ...common, rule: 'delta', beta: state.beta })]] };
    }
    const { runs } = host[CACHE];
    const dim = runs[0][1].dim;
    let step = Math.min(state.step, T);
    const errorsAt = (r, t) => r.errors.data.subarray((t - 1) * T, (t - 1) * T + t);
    // The write of step t: ΔW_t = W_t − W_(t−1) (W_0 = 0), in float64 from the recorded states.
    const updates = runs.map(([, r]) => {
      const size = dv * dim, out = new Float32Array(T * size);
      for (let t = 0; t < T; t++) {
        for (let x = 0; x < size; x++) out[t * size + x] = r.states[t * size + x] - (t ? r.states[(t - 1) * size + x] : 0);
      }
      return out;
    });
    const WRITES = { sum: 'v φ(k)ᵀ', delta: 'β(v − W φ(k)) φ(k)ᵀ' };
    const figs = runs.flatMap(([rule, r], ri) => {
      const at = (t) => ({ rows: dv, cols: dim, data: r.states.subarray((t - 1) * dv * dim, t * dv * dim) });
      const dAt = (t) => ({ rows: dv, cols: dim, data: updates[ri].subarray((t - 1) * dv * dim, t * dv * dim) });
      const axes = { x: 'feature φ(k)ⱼ →', y: 'value component ↓' };
      const f = figure({ id: `W-${rule}`, title: '', name, data: () => at(step),
        hover: (i, j) => `W[${i}, ${j}] = ${at(step).data[i * dim + j].toPrecision(3)}`, rows: () => dv, cols: () => dim, axes });
      const g = figure({ id: `dW-${rule}`, title: '', name, data: () => dAt(step),
        hover: (i, j) => `ΔW[${i}, ${j}] = ${dAt(step).data[i * dim + j].toPrecision(3)}`, rows: () => dv, cols: () => dim, axes });
      f.setAxes(dv, dim);
      g.setAxes(dv, dim);
      return [{ f, at, rule, label: 'W', title: (t) => `${rule} rule: W after step ${t}` },
        { f: g, at: dAt, rule, label: 'ΔW', title: (t) => `${rule} rule: write of step ${t}, ΔW = ${WRITES[rule]}` }];
    });
    // One colour scale per kind of picture (W, ΔW) and one error axis over all steps, so playing shows
    // change, not rescaling; both diverging, centred at 0.
    const spanOf = (xs) => Math.max(...xs.map((x) => { const { min, max } = extent(x); return Math.max(-min, max); }), 1e-9);
    const span = spanOf(runs.map(([, r]) => r.states)), dSpan = spanOf(updates);
    const spanFor = (label) => (label === 'W' ? span : dSpan);
    let yMax = 0.5;
    for (const [, r] of runs) for (let t = 1; t <= T; t++) for (const e of errorsAt(r, t)) yMax = Math.max(yMax, e);
    for (const { f, label } of figs) f.setScale({ lut: PUOR, min: -spanFor(label), max: spanFor(label), label });

    const errFig = figure({ id: 'retrieval', title: '', kind: 'chart', name,
      data: () => runs.map(([rule, r]) => ({ rule, errors: Array.from(errorsAt(r, step)) })) });
    const slider = h('input', { type: 'range', min: 1, max: T, value: step, id: 'fw-step', 'aria-label': 'shown step t',
      oninput: (e) => go(Number(e.target.value)) });
    const label = h('label', { for: 'fw-step' });
    const playing = () => Boolean(visit?.timer);
    const stop = () => { clearInterval(visit.timer); visit.timer = null; play.textContent = 'play'; play.setAttribute('aria-pressed', 'false'); };
    const play = h('button', { type: 'button', id: 'fw-play', 'aria-pressed': String(playing()), onclick: () => {
      if (playing()) { stop(); return; }
      if (step >= T) go(1);
      // The timer belongs to the visit: it calls whichever render is current, and stops when the view is left.
      visit.timer = setInterval(() => visit.advance(), 400);
      if (!visit.stopOnLeave) { visit.stopOnLeave = true; visit.signal.addEventListener('abort', () => clearInterval(visit.timer)); }
      play.textContent = 'pause';
      play.setAttribute('aria-pressed', 'true');
    } }, playing() ? 'pause' : 'play');
    const summary = h('div', {});
    el.append(
      h('div', { class: 'player' }, play,
        h('button', { type: 'button', onclick: () => go(Math.max(1, step - 1)), 'aria-label': 'previous step' }, '◀ step'),
        h('button', { type: 'button', onclick: () => go(Math.min(T, step + 1)), 'aria-label': 'next step' }, 'step ▶'),
        label, slider),
      h('div', { class: 'figures' }, figs.map(({ f }) => f.root), errFig.root),
      summary,
    );
    const chart = lineChart(errFig.canvas, [...runs.map(([rule]) => ({ label: `${rule} rule`, points: [] })),
      { label: 'nothing retrieved (0.5)', dashed: true, colour: '#777', points: [{ x: 1, y: 0.5 }, { x: T, y: 0.5 }] }],
    { xLabel: 'key written at step s', yLabel: '½‖v_s − W_t φ(k_s)‖²', xMin: 1, xMax: Math.max(T, 2), yMin: 0, yMax: Math.ceil(yMax * 2) / 2 });

    /** Shows step t in place: heatmaps, titles, curve, figures; the slider and the panel stay. */
    function show(t) {
      step = t;
      for (const { f, at, label, title } of figs) {
        drawHeatmap(f.canvas, at(t), { lut: PUOR, min: -spanFor(label), max: spanFor(label) });
        f.setTitle(title(t));
      }
      errFig.setTitle(`retrieval error of each stored key after step ${t}`);
      runs.forEach(([, r], i) => { chart.data.datasets[i].data = Array.from(errorsAt(r, t), (y, s) => ({ x: s + 1, y })); });
      chart.update('none');
      markRange(chart);
      label.textContent = `t = ${t} of ${T} `;
      if (Number(slider.value) !== t) slider.value = t;
      summary.replaceChildren(stats([
        ['feature dimension dφ', `${dim} (keys stored: ${t}${t > dim ? ', more than dφ' : ''})`],
        ...runs.map(([rule, r]) => [`${rule} rule: mean retrieval error`, (errorsAt(r, t).reduce((a, b) => a + b, 0) / t).toPrecision(3)]),
      ]));
    }
    /** Goes to step t: drawn here, recorded in the hash and the panel without a redraw. */
    function go(t) {
      if (t === step) return;
      show(t);
      set({ step: t }, { render: false });
      announce(playing() ? '' : `step ${t} of ${T}`);
    }
    if (visit) visit.advance = () => { if (step >= T) stop(); else go(step + 1); };
    show(step);
  },
};
