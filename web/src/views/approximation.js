// Approximation: Performer error against the number of random features.
import { lineChart } from '../charts.js';
import { runJobView } from './job.js';

export default {
  id: 'approximation',
  title: 'Approximation',
  async: true,  // the figure comes from a job: done() when it ends
  text: 'FAVOR+ estimates exp(q·k/√d) with m random features; its weights approach softmax as m grows. Positive ' +
    'features keep the estimate non-negative and accurate where the kernel is small (most of a softmax row), where ' +
    'trigonometric features are noisy; orthogonal projections reduce the variance further (Choromanski et al.). ' +
    'Mean squared error of the weights against softmax, averaged over projections.',

  render(el, ctx) {
    const { state } = ctx;
    runJobView(el, ctx, {
      id: 'approximation',
      title: 'weights MSE vs random features m',
      job: 'approximation',
      args: { n: state.n, d: state.d, scale: state.scale, maxM: state.maxM, trials: state.trials, seed: state.seed },
      draw: (canvas, series) => lineChart(canvas, series,
        { xLabel: 'random features m', yLabel: 'MSE against softmax', xLog: true, yLog: true }),
      finished: () => 'done',
    });
  },
};
