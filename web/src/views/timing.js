// Timing: how each mechanism's cost grows with n, measured live in a worker.
import { h, figure } from '../ui.js';
import { lineChart } from '../charts.js';

export default {
  id: 'timing',
  title: 'Timing',
  text: 'Time per call against sequence length n (d = 64), measured now on this machine in a Web Worker. On ' +
    'log-log axes a cost growing like n² is a line of slope 2, like n a line of slope 1 (dashed references, through ' +
    'the first measurement). Softmax is quadratic whether it stores the n×n weights or streams them; linear, FAVOR+ ' +
    'and sparse attention are linear, so past some n they win.',

  render(el, { state, name, runner, done }) {
    let last = null;  // the latest series, for export
    const f = figure({ id: 'timing', title: 'time vs n', kind: 'chart', name, data: () => last });
    const status = h('p', { class: 'status', role: 'status' }, 'measuring…');
    el.append(h('div', { class: 'figures' }, f.root), status);
    const draw = ({ series }) => {
      last = series;
      const refs = [];
      const anchor = (id, power, label) => {
        const s = series.find((x) => x.id === id && x.points.length);
        if (!s) return;
        const { x: x0, y: y0 } = s.points[0];
        refs.push({ label, dashed: true, colour: '#777', points: [{ x: x0, y: y0 }, { x: state.maxN, y: y0 * (state.maxN / x0) ** power }] });
      };
      anchor('streaming', 2, 'O(n²) reference');
      anchor('linear', 1, 'O(n) reference');
      lineChart(f.canvas, [...series, ...refs], { xLabel: 'sequence length n', yLabel: 'ms per call', xLog: true, yLog: true });
    };
    if (!state.mechanisms.length) { status.textContent = 'Pick at least one mechanism.'; done(); return; }
    runner.run('view', 'timing', { maxN: state.maxN, mechanisms: state.mechanisms }, draw).then((result) => {
      if (!result) return;
      draw(result);
      status.textContent = `done (${runner.workersWork ? 'in a Web Worker' : 'on the page thread'})`;
      done();
    });
  },
};
