// Masks: every sparse pattern of the seeds, coloured by component.
import { h, figure, stats } from '../ui.js';
import { drawMask } from '../heatmap.js';
import { MASK_COLOURS, BLOCKED } from '../colors.js';
import { lineChart } from '../charts.js';

/**
 * What a mask's pattern can reach at most: every pair (n²), or for a causal
 * pattern (no key after its query: j ≤ i everywhere) the n(n + 1)/2 pairs
 * with j ≤ i. { causal, pairs }.
 */
export function reachable(mask) {
  const n = mask.rows;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) if (mask.data[i * n + j]) return { causal: false, pairs: n * n };
  }
  return { causal: true, pairs: (n * (n + 1)) / 2 };
}

/** The share of reachable pairs reached after the layers, said against what the pattern can reach. */
export function coverageText(reached, { causal, pairs }) {
  const share = `${(100 * reached / pairs).toFixed(1)}%`;
  if (reached === pairs) return causal ? 'then 100% of what a causal pattern can reach: every token reaches every earlier one'
    : 'then every token reaches every other';
  return causal ? `then ${share} of the ${pairs} pairs with j ≤ i a causal pattern can reach` : `then ${share} of pairs`;
}

export default {
  id: 'masks',
  title: 'Masks',
  text: 'A sparse mask lets query i (row) attend only to some keys j (columns), so the cost falls from n² to the ' +
    'number of coloured cells. Colours show which part of the pattern allows a cell: window, stride, global tokens, ' +
    'random keys or shared clusters. Stacked layers compose the pattern, so tokens that cannot see each other ' +
    'directly still exchange information after a few layers; data-driven masks (LSH, k-means) group similar tokens, ' +
    'which sorting by bucket shows as blocks on the diagonal.',

  render(el, { A, state, name }) {
    const { n, kind } = state;
    const tokens = Array.from({ length: Math.min(state.tokens, n) }, (_, i) => Math.floor((i * n) / Math.max(1, state.tokens)));
    const x = ['lsh', 'kmeans'].includes(kind) ? A.randn(n, state.d, { seed: state.seed }) : undefined;
    const t0 = performance.now();
    const mask = A.mask(kind, n, {
      window: state.window, stride: state.stride, dilation: state.dilation, block: state.block, summary: state.summary,
      tokens, perRow: state.perRow, windowBlocks: state.windowBlocks, globalBlocks: state.globalBlocks,
      randomBlocks: state.randomBlocks, buckets: state.buckets, hashes: state.hashes, clusters: Math.min(state.clusters, n),
      seed: state.seed, x,
    });
    const ms = performance.now() - t0;
    const info = A.maskInfo(mask, { counts: true });
    const hover = (order) => (i, j) => {
      const [r, c] = order ? [order[i], order[j]] : [i, j];
      const v = mask.data[r * n + c];
      const parts = MASK_COLOURS.filter((p) => v & p.bit).map((p) => p.name);
      return `query ${r}, key ${c}: ${parts.length ? parts.join(' + ') : 'blocked'}`;
    };
    const figs = [];
    const main = figure({ id: 'mask', title: `${kind} mask`, name, data: () => mask, hover: hover(null), rows: () => n, cols: () => n });
    drawMask(main.canvas, mask);
    main.setAxes(n, n);
    figs.push(main);
    let order = null;
    if (mask.assignments) {
      const a = mask.assignments;  // sort by first-round bucket, then position
      order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i] - a[j] || i - j);
      const sortedFig = figure({ id: 'sorted', title: 'sorted by bucket', name, data: () => ({ order, assignments: Array.from(a) }),
        hover: hover(order), rows: () => n, cols: () => n, axes: { x: 'key (by bucket) →', y: 'query (by bucket) ↓' } });
      drawMask(sortedFig.canvas, mask, order);
      sortedFig.setAxes(n, n);
      if (state.sorted) figs.unshift(sortedFig);  // the sorted picture first
      else figs.push(sortedFig);
    }
    const { counts } = info;
    const rowFig = figure({ id: 'per-row', title: 'allowed keys per query', kind: 'chart', name,
      data: () => ({ counts }) });
    const layers = n <= 512 ? A.maskLayers(mask, { maxLayers: 64 }) : null;
    const reach = reachable(mask);
    const present = MASK_COLOURS.filter((p) => mask.data.some((v) => v & p.bit));
    const key = [...present, { name: 'blocked', rgb: BLOCKED }];
    for (const f of figs) f.setKey(key);
    el.append(
      h('div', { class: 'figures' }, figs.map((f) => f.root), rowFig.root),
      stats([
        ['allowed cells', `${info.nnz} of ${n * n} (density ${info.density.toFixed(3)}${reach.causal
          ? `; causal: ${(100 * info.nnz / reach.pairs).toFixed(1)}% of the ${reach.pairs} pairs with j ≤ i` : ''})`],
        ['keys per query', `min ${info.perRow.min}, mean ${info.perRow.mean.toFixed(1)}, max ${info.perRow.max}`],
        ['layers until no token reaches more', layers === null ? 'n > 512: not computed'
          : layers.layers === 0 ? 'more than 64' : `${layers.layers} (${coverageText(layers.reached.at(-1), reach)})`],
        ['built in', `${ms.toFixed(1)} ms`],
      ]),
    );
    lineChart(rowFig.canvas, [{ label: 'allowed keys', points: counts.map((c, i) => ({ x: i, y: c })) }],
      { xLabel: 'query i', yLabel: 'keys', xMin: 0, xMax: n - 1, yMin: 0 });
  },
};
