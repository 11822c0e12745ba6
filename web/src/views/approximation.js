// Approximation: Performer error against the number of random features,
// with what to compare it to: a 1/m slope (what an unbiased estimator's
// variance does), the error of uniform weights 1/n (no attention at all),
// and the spread over trials as a band.
import { lineChart } from '../charts.js';
import { runJobView } from './job.js';

/** The "∝ 1/m" reference: through the first point of the positive, orthogonal curve, to the largest m. */
export function slopeReference(series) {
  const base = series.find((s) => s.feature === 'favor+' && s.orthogonal) ?? series.find((s) => s.points?.length && !s.baseline);
  const first = base?.points[0];
  if (!first) return [];
  const last = Math.max(...series.flatMap((s) => s.points.map((p) => p.x)));
  return [{ label: '∝ 1/m', note: '∝ 1/m', dashed: true, colour: '#777',
    points: [{ x: first.x, y: first.y }, { x: last, y: (first.y * first.x) / last }] }];
}

export default {
  id: 'approximation',
  title: 'Approximation',
  async: true,  // the figure comes from a job: done() when it ends
  text: 'FAVOR+ estimates exp(q·k/√d) with m random features; its weights approach softmax as m grows, at best as ' +
    'fast as the grey 1/m slope (the variance of an average of m samples). Positive features keep the estimate ' +
    'non-negative and accurate where the kernel is small, which is most of a peaked softmax row (a larger input ' +
    'scale); there trigonometric features are noisy and spike. On flat rows (a small scale) both converge, and ' +
    'orthogonal projections lower the variance (Choromanski et al.). The pink line is uniform weights 1/n on the ' +
    'same inputs: a curve above it is worse than no attention at all. Lines: the median MSE of the weights ' +
    'against softmax over the trials (projections); bands: from the best to the worst trial.',

  render(el, ctx) {
    const { state } = ctx;
    runJobView(el, ctx, {
      id: 'approximation',
      title: `weights MSE vs random features m (${state.trials} trials)`,
      job: 'approximation',
      args: { n: state.n, d: state.d, scale: state.scale, maxM: state.maxM, trials: state.trials, seed: state.seed },
      draw: (canvas, series) => lineChart(canvas, [...series, ...slopeReference(series)],
        { xLabel: 'random features m', yLabel: 'MSE against softmax', xLog: true, yLog: true,
          xTicks: Array.from({ length: 20 }, (_, i) => 2 ** (i + 2)) }),
      finished: () => 'done',
    });
  },
};
