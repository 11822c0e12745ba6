// Capacity: retrieval error against the number of stored pairs.
import { h, figure } from '../ui.js';
import { lineChart } from '../charts.js';

export default {
  id: 'capacity',
  title: 'Capacity',
  text: 'Store S random keys with one-hot values in a fast weight memory, then read every key back. An error of 0.5 ' +
    'means the memory returns nothing useful (above 0.5, cross-talk between keys adds noise). The sum rule fails once ' +
    'S exceeds what dφ dimensions can keep apart; the delta rule degrades gracefully; DPFP of higher order ν raises ' +
    'dφ and holds longer. Computed live in a worker (features L2-normalised: nothing is trained here).',

  render(el, { state, name, runner, done }) {
    let last = null;  // the latest series, for export
    const f = figure({ id: 'capacity', title: 'error vs stored pairs S', kind: 'chart', name, data: () => last });
    const status = h('p', { class: 'status', role: 'status' }, 'computing…');
    el.append(h('div', { class: 'figures' }, f.root), status);
    const draw = ({ series }) => {
      last = series;
      const failure = { label: 'total failure (0.5)', dashed: true, colour: '#777',
        points: [{ x: 20, y: 0.5 }, { x: state.maxS, y: 0.5 }] };
      lineChart(f.canvas, [...series, failure], { xLabel: 'stored pairs S', yLabel: 'mean ½‖v − ŷ‖²' });
    };
    const args = { dKey: state.dKey, maxS: state.maxS, trials: state.trials, seed: state.seed, maps: state.maps, rules: state.rules };
    if (!args.maps.length || !args.rules.length) { status.textContent = 'Pick at least one map and one rule.'; done(); return; }
    runner.run('view', 'capacity', args, draw).then((result) => {
      if (!result) return;
      draw(result);
      status.textContent = `done: ${result.series.length} curves`;
      done();
    });
  },
};
