// Capacity: retrieval error against the number of stored pairs.
import { lineChart } from '../charts.js';
import { runJobView } from './job.js';

export default {
  id: 'capacity',
  title: 'Capacity',
  async: true,  // the figure comes from a job: done() when it ends
  text: 'Store S random keys with one-hot values in a fast weight memory, then read every key back. An error of 0.5 ' +
    'means the memory returns nothing useful (above 0.5, cross-talk between keys adds noise). The sum rule fails once ' +
    'S exceeds what dφ dimensions can keep apart; the delta rule degrades gracefully; DPFP of higher order ν raises ' +
    'dφ and holds longer. Computed live in a worker (features L2-normalised: nothing is trained here).',

  render(el, ctx) {
    const { state } = ctx;
    runJobView(el, ctx, {
      id: 'capacity',
      title: 'error vs stored pairs S',
      job: 'capacity',
      args: { dKey: state.dKey, maxS: state.maxS, trials: state.trials, seed: state.seed, maps: state.maps, rules: state.rules },
      problem: !state.maps.length || !state.rules.length ? 'Pick at least one map and one rule.' : null,
      draw: (canvas, series) => lineChart(canvas, [...series, { label: 'total failure (0.5)', dashed: true, colour: '#777',
        points: [{ x: 20, y: 0.5 }, { x: state.maxS, y: 0.5 }] }], { xLabel: 'stored pairs S', yLabel: 'mean ½‖v − ŷ‖²' }),
      finished: (result) => `done: ${result.series.length} curves`,
    });
  },
};
