// Fast weights: the memory W_t of causal linear attention, written step by
// step under the sum rule and the delta rule, side by side.
import { h, figure, stats } from '../ui.js';
import { drawHeatmap, extent } from '../heatmap.js';
import { PUOR, lutCSS } from '../colors.js';
import { lineChart } from '../charts.js';

// What a view instance keeps between its renders (the runs of its parameters,
// the player's timer and what the timer reads), on the element it renders
// into, so that two figures on one page never share a player or a cache.
const INSTANCE = Symbol('attnlab fastweights view');
const instanceOf = (host) => (host[INSTANCE] ??= { cache: { key: null, runs: null }, timer: null, latest: null });

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
    'and writes only the difference (scaled by β), so it can overwrite. Play the writes and watch how much each ' +
    'earlier memory is damaged by later ones (values have unit length, so 0.5 means nothing is retrieved).',

  render(el, { A, state, name, set }) {
    const host = el.parentElement ?? el;  // the view's container, the same across renders
    const me = instanceOf(host);
    const { T, fwD: d, dv, seed } = state;
    const key = JSON.stringify([T, d, dv, seed, state.fwFeature, state.nu, state.normalize, state.beta]);
    if (me.cache.key !== key) {
      // Unit-length values: a retrieval error of 0.5 then means nothing was retrieved.
      const keys = A.randn(T, d, { seed }), values = unitRows(A.randn(T, dv, { seed: seed + 1 }));
      const common = { keys, values, feature: state.fwFeature, nu: state.nu, normalize: state.normalize, record: 'all', errors: true,
        features: 2 * d, seed };  // FAVOR+: m = 2d
      me.cache = { key, runs: [['sum', A.fastWeights({ ...common, rule: 'sum' })], ['delta', A.fastWeights({ ...common, rule: 'delta', beta: state.beta })]] };
    }
    const { runs } = me.cache;
    const dim = runs[0][1].dim;
    const step = Math.min(state.step, T);
    me.latest = { step, T, set };  // read by the player's timer
    const figs = runs.map(([rule, r]) => {
      const at = (t) => ({ rows: dv, cols: dim, data: r.states.subarray((t - 1) * dv * dim, t * dv * dim) });
      const f = figure({ id: `W-${rule}`, title: `${rule} rule: W after step ${step}`, name, data: () => at(step),
        hover: (i, j) => `W[${i}, ${j}] = ${at(step).data[i * dim + j].toPrecision(3)}`, rows: () => dv, cols: () => dim });
      return { f, at };
    });
    const span = Math.max(...runs.map(([, r]) => { const { min, max } = extent(r.states); return Math.max(-min, max); }), 1e-9);
    const drawStep = (t) => figs.forEach(({ f, at }) => drawHeatmap(f.canvas, at(t), { lut: PUOR, min: -span, max: span }));
    drawStep(step);

    const errFig = figure({ id: 'retrieval', title: `retrieval error of each stored key after step ${step}`, kind: 'chart', name,
      data: () => runs.map(([rule, r]) => ({ rule, errors: Array.from(r.errors.data.subarray((step - 1) * T, (step - 1) * T + step)) })) });
    const slider = h('input', { type: 'range', min: 1, max: T, value: step, id: 'fw-step', 'aria-label': 'shown step t',
      oninput: (e) => set({ step: Number(e.target.value) }) });
    const playing = me.timer !== null;
    const stop = () => { clearInterval(me.timer); me.timer = null; };
    const play = h('button', { type: 'button', id: 'fw-play', 'aria-pressed': String(playing), onclick: () => {
      if (me.timer) { stop(); set({}); return; }
      if (step >= T) set({ step: 1 });
      me.timer = setInterval(() => {
        // another view took the container, or the figure left the page: stop quietly
        if (!host.isConnected || host.dataset.view !== 'fastweights') { stop(); return; }
        if (me.latest.step >= me.latest.T) { stop(); me.latest.set({}); return; }
        me.latest.set({ step: me.latest.step + 1 });
      }, 400);
      set({});
    } }, playing ? 'pause' : 'play');
    el.append(
      h('div', { class: 'player' }, play,
        h('button', { type: 'button', onclick: () => set({ step: Math.max(1, step - 1) }), 'aria-label': 'previous step' }, '◀ step'),
        h('button', { type: 'button', onclick: () => set({ step: Math.min(T, step + 1) }), 'aria-label': 'next step' }, 'step ▶'),
        h('label', { for: 'fw-step' }, `t = ${step} of ${T} `), slider),
      h('div', { class: 'figures' }, figs.map(({ f }) => f.root), errFig.root),
      h('p', { class: 'legend' }, h('span', {}, (-span).toPrecision(2)), h('span', { class: 'ramp', style: `background: ${lutCSS(PUOR)}` }),
        h('span', {}, span.toPrecision(2))),
      stats([
        ['feature dimension dφ', `${dim} (keys stored: ${step}${step > dim ? ', more than dφ' : ''})`],
        ...runs.map(([rule, r]) => {
          const e = r.errors.data.subarray((step - 1) * T, (step - 1) * T + step);
          return [`${rule} rule: mean retrieval error`, (e.reduce((a, b) => a + b, 0) / step).toPrecision(3)];
        }),
      ]),
    );
    lineChart(errFig.canvas, [...runs.map(([rule, r]) => ({
      label: `${rule} rule`, points: Array.from(r.errors.data.subarray((step - 1) * T, (step - 1) * T + step), (y, s) => ({ x: s + 1, y })),
    })), { label: 'nothing retrieved (0.5)', dashed: true, colour: '#777', points: [{ x: 1, y: 0.5 }, { x: Math.max(step, 2), y: 0.5 }] }],
    { xLabel: 'key written at step s', yLabel: '½‖v_s − W_t φ(k_s)‖²' });
  },
};
