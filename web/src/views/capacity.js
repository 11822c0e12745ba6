// Capacity: retrieval error against the number of stored pairs, with the
// lines that teach: S = dφ for each map (where the sum rule runs out of
// dimensions) and the 0.5 of total failure, on a y range that shows the
// crossing (larger errors are clipped and marked).
import { lineChart, PALETTE } from '../charts.js';
import { runJobView } from './job.js';
import { MAPS } from '../jobs.js';

/** The y range drawn: 0 .. Y_MAX, so the region around 0.5 takes most of the height. */
export const Y_MAX = 1.5;

/** The reference lines for the maps drawn: a vertical line at S = dφ per map, labelled in its colour, and y = 0.5. */
export function capacityReferences(series, maxS) {
  const maps = [...new Map(series.map((s) => [s.map, s])).values()];
  const refs = maps.filter((s) => s.dim <= maxS).map((s, row) => ({
    label: `dφ = ${s.dim} (${MAPS[s.map].short})`, note: `S = dφ = ${s.dim} (${MAPS[s.map].short})`, noteRow: row,
    dashed: true, colour: PALETTE[s.group % PALETTE.length], points: [{ x: s.dim, y: 0 }, { x: s.dim, y: Y_MAX }],
  }));
  return [...refs, { label: 'total failure (0.5)', note: 'total failure: 0.5', noteAt: 'start', dashed: true, colour: '#777',
    points: [{ x: 0, y: 0.5 }, { x: maxS, y: 0.5 }] }];
}

export default {
  id: 'capacity',
  title: 'Capacity',
  async: true,  // the figure comes from a job: done() when it ends
  text: 'Store S random keys with one-hot values in a fast weight memory, then read every key back. An error of 0.5 ' +
    'means the memory returns nothing useful (above 0.5, cross-talk between keys adds noise). Each dashed vertical ' +
    'line is S = dφ, the feature dimension of a map. With the identity map the sum rule (solid) crosses 0.5 right at ' +
    'its line: once S exceeds dφ, the keys cannot be kept apart. DPFP\'s larger dφ does not save the sum rule here ' +
    '(its non-negative features overlap, so cross-talk grows as fast), but the delta rule (dashed curves), which ' +
    'corrects what a key already retrieves, degrades gracefully and holds past each map\'s line, longer the larger ' +
    'dφ. Errors above 1.5 are clipped (▲). Computed live in a worker (features L2-normalised: nothing is trained here).',

  render(el, ctx) {
    const { state } = ctx;
    runJobView(el, ctx, {
      id: 'capacity',
      title: 'error vs stored pairs S',
      job: 'capacity',
      args: { dKey: state.dKey, maxS: state.maxS, trials: state.trials, seed: state.seed, maps: state.maps, rules: state.rules },
      problem: !state.maps.length || !state.rules.length ? 'Pick at least one map and one rule.' : null,
      draw: (canvas, series) => lineChart(canvas, [...series, ...capacityReferences(series, state.maxS)],
        { xLabel: 'stored pairs S', yLabel: 'mean ½‖v − ŷ‖²', xMin: 0, xMax: state.maxS, yMin: 0, yMax: Y_MAX, yStep: 0.25 }),
      finished: (result) => `done: ${result.series.length} curves`,
    });
  },
};
