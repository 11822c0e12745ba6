// Approximation: Performer error against the number of random features.
import { h, figure } from '../ui.js';
import { lineChart } from '../charts.js';

export default {
  id: 'approximation',
  title: 'Approximation',
  text: 'FAVOR+ estimates exp(q·k/√d) with m random features; its weights approach softmax as m grows. Positive ' +
    'features keep the estimate non-negative and accurate where the kernel is small (most of a softmax row), where ' +
    'trigonometric features are noisy; orthogonal projections reduce the variance further (Choromanski et al.). ' +
    'Mean squared error of the weights against softmax, averaged over projections.',

  render(el, { state, name, runner, done }) {
    let last = null;  // the latest series, for export
    const f = figure({ id: 'approximation', title: 'weights MSE vs random features m', kind: 'chart', name, data: () => last });
    const status = h('p', { class: 'status', role: 'status' }, 'computing…');
    el.append(h('div', { class: 'figures' }, f.root), status);
    const draw = ({ series }) => {
      last = series;
      lineChart(f.canvas, series, { xLabel: 'random features m', yLabel: 'MSE against softmax', xLog: true, yLog: true });
    };
    const args = { n: state.n, d: state.d, scale: state.scale, maxM: state.maxM, trials: state.trials, seed: state.seed };
    runner.run('view', 'approximation', args, draw).then((result) => {
      if (!result) return;
      draw(result);
      status.textContent = 'done';
      done();
    });
  },
};
