// Timing: how each mechanism's cost grows with n, measured live in a worker.
import { lineChart } from '../charts.js';
import { runJobView } from './job.js';

export default {
  id: 'timing',
  title: 'Timing',
  text: 'Time per call against sequence length n (d = 64), measured now on this machine in a Web Worker. On ' +
    'log-log axes a cost growing like n² is a line of slope 2, like n a line of slope 1 (dashed references, through ' +
    'the first measurement). Softmax is quadratic whether it stores the n×n weights or streams them; linear, FAVOR+ ' +
    'and sparse attention are linear, so past some n they win.',

  render(el, ctx) {
    const { state, runner } = ctx;
    /** A dashed reference of slope `power` through the first point of series `id`. */
    const reference = (series, id, power, label) => {
      const s = series.find((x) => x.id === id && x.points.length);
      if (!s) return [];
      const { x: x0, y: y0 } = s.points[0];
      return [{ label, dashed: true, colour: '#777', points: [{ x: x0, y: y0 }, { x: state.maxN, y: y0 * (state.maxN / x0) ** power }] }];
    };
    runJobView(el, ctx, {
      id: 'timing',
      title: 'time vs n',
      job: 'timing',
      args: { maxN: state.maxN, mechanisms: state.mechanisms },
      problem: state.mechanisms.length ? null : 'Pick at least one mechanism.',
      draw: (canvas, series) => lineChart(canvas, [...series, ...reference(series, 'streaming', 2, 'O(n²) reference'),
        ...reference(series, 'linear', 1, 'O(n) reference')], { xLabel: 'sequence length n', yLabel: 'ms per call', xLog: true, yLog: true }),
      finished: () => `done (${runner.workersWork ? 'in a Web Worker' : 'on the page thread'})`,
    });
  },
};
