// Timing: how each mechanism's cost grows with n, measured live in a worker.
import { lineChart } from '../charts.js';
import { h } from '../ui.js';
import { runJobView } from './job.js';

const fixed = (x, digits) => (x === null || x === undefined ? '–' : x.toFixed(digits));

/**
 * The crossover n of each mechanism and the kernel figures, as two small
 * tables. The crossovers come from the chart's own points (medians of
 * interleaved rounds), and each row shows the two medians it compares, so
 * the table and the chart cannot disagree.
 */
function benchTables({ series, crossovers, kernels }) {
  const row = (cells, tag = 'td') => h('tr', {}, cells.map((c) => h(tag, {}, c)));
  const at = (id, n) => series.find((s) => s.id === id)?.points.find((p) => p.x === n);
  const ms = (p) => (p ? (p.y < 10 ? p.y.toFixed(2) : p.y.toFixed(1)) : '–');
  const cross = h('table', { class: 'bench', 'data-table': 'crossovers' },
    h('caption', {}, 'Where each mechanism starts beating streaming softmax (measured n, medians from the chart)'),
    row(['mechanism', 'faster from n', 'ms there', 'streaming ms'], 'th'),
    crossovers.map((c) => {
      const n = c.crossover ?? c.measuredTo;
      return row([c.label, c.crossover === null ? `not up to ${c.measuredTo ?? '–'}` : String(c.crossover), ms(at(c.id, n)), ms(at('streaming', n))]);
    }));
  const k = kernels;
  const kern = h('table', { class: 'bench', 'data-table': 'kernels' },
    h('caption', {}, `The core alone at n = ${k.n}, d = 64 (median of interleaved rounds; no copies in or out, so below the chart's calls)`),
    row(['', 'ms', 'GFLOP/s'], 'th'),
    row(['softmax attention, SIMD', fixed(k.simd?.ms, 2), fixed(k.simd?.gflops, 1)]),
    row(['softmax attention, scalar', fixed(k.scalar?.ms, 2), fixed(k.scalar?.gflops, 1)]),
    row(['matmul (faster of Q·Kᵀ, P·V shapes)', '', fixed(k.matmul, 1)]),
    row(['matmul kernel alone, data in cache', '', fixed(k.kernel, 1)]),
    row(['SIMD / scalar', `${fixed(k.simdOverScalar, 1)}×`, '']),
    row(['softmax attention / matmul kernel', `${fixed(k.fractionOfKernel && 100 * k.fractionOfKernel, 0)}%`, '']));
  return h('div', { class: 'bench-tables' }, cross, kern);
}

export default {
  id: 'timing',
  title: 'Timing',
  async: true,  // the figure comes from a job: done() when it ends
  text: 'Time per call against sequence length n (d = 64), measured now on this machine in a Web Worker. On ' +
    'log-log axes a cost growing like n² is a line of slope 2, like n a line of slope 1 (dashed references, through ' +
    'the first measurement). Each point is the median of interleaved rounds after a warm-up; the bar through it ' +
    'spans the fastest and slowest round. Softmax is quadratic whether it stores the n×n weights or streams them; linear, FAVOR+ ' +
    'and sparse attention are linear, so past some n they win: the first table says where. The second times the ' +
    'core alone on this machine, as npm run bench does: streaming softmax with the SIMD and the scalar kernels, ' +
    'against the core\'s own matrix product and its register-block kernel alone.',

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
      details: benchTables,
    });
  },
};
