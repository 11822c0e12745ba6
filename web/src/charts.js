// Line charts with Chart.js (bundled from npm: works offline, from file://
// and inside shadow DOM). Colours from the Okabe-Ito palette.
import Chart from 'chart.js/auto';

/**
 * Draws the spread of points that have lo and hi: a vertical bar through each
 * (repeated timings), or a translucent band between the lo and hi curves for
 * a series with `spread: 'band'` (the range over trials).
 */
const spreadBars = {
  id: 'spreadBars',
  beforeDatasetsDraw(chart) {
    const { ctx, scales: { x, y }, chartArea } = chart;
    const probes = [];
    chart.data.datasets.forEach((set, i) => {
      if (set.spread !== 'band' || !chart.isDatasetVisible(i)) return;
      const pts = set.data.filter((p) => p.lo !== undefined && p.hi !== undefined && (y.type !== 'logarithmic' || p.lo > 0));
      if (pts.length < 2) return;
      ctx.save();
      ctx.beginPath();
      ctx.rect(chartArea.left, chartArea.top, chartArea.right - chartArea.left, chartArea.bottom - chartArea.top);
      ctx.clip();
      ctx.globalAlpha = 0.18;
      ctx.fillStyle = set.borderColor;
      ctx.beginPath();
      pts.forEach((p, k) => ctx[k ? 'lineTo' : 'moveTo'](x.getPixelForValue(p.x), y.getPixelForValue(p.hi)));
      for (const p of [...pts].reverse()) ctx.lineTo(x.getPixelForValue(p.x), y.getPixelForValue(p.lo));
      ctx.closePath();
      ctx.fill();
      ctx.restore();
      // Where the band is, for tests: a vertical segment inside it halfway between its first two points.
      const [a, b] = pts;
      const mid = (f) => (f(a) + f(b)) / 2;
      const top = mid((p) => y.getPixelForValue(p.hi)) + 2, bottom = mid((p) => y.getPixelForValue(p.lo)) - 2;
      const xm = mid((p) => x.getPixelForValue(p.x));
      if (bottom > top) probes.push({ label: set.label, x0: xm, y0: top, x1: xm, y1: bottom });
    });
    chart.canvas.dataset.bands = String(chart.data.datasets.filter((s, i) => s.spread === 'band' && chart.isDatasetVisible(i)).length);
    chart.canvas.dataset.bandProbes = JSON.stringify(probes);
  },
  afterDatasetsDraw(chart) {
    const { ctx, scales: { x, y } } = chart;
    chart.data.datasets.forEach((set, i) => {
      if (set.spread === 'band' || !chart.isDatasetVisible(i)) return;
      ctx.save();
      ctx.strokeStyle = set.borderColor;
      ctx.lineWidth = 1.5;
      for (const p of set.data) {
        if (p.lo === undefined || p.hi === undefined || p.hi <= p.lo || (p.lo <= 0 && y.type === 'logarithmic')) continue;
        const px = x.getPixelForValue(p.x), top = y.getPixelForValue(p.hi), bottom = y.getPixelForValue(p.lo);
        ctx.beginPath();
        ctx.moveTo(px, top); ctx.lineTo(px, bottom);
        ctx.moveTo(px - 3, top); ctx.lineTo(px + 3, top);
        ctx.moveTo(px - 3, bottom); ctx.lineTo(px + 3, bottom);
        ctx.stroke();
      }
      ctx.restore();
    });
  },
};

/**
 * Reference lines and clipped values. A series with `note` is a reference
 * line: its note is written beside its last point, in its colour (no legend
 * entry). Points above the y axis's fixed maximum are clipped and marked with
 * a small triangle on the top edge, in their series' colour. The drawn
 * reference lines are recorded on the canvas (data-refs: JSON of { note,
 * colour, x0, y0, x1, y1 } in canvas pixels) and the clipped points in
 * data-clipped.
 */
const references = {
  id: 'references',
  afterDatasetsDraw(chart, args, options) {
    const { ctx, scales: { x, y }, chartArea } = chart;
    const refs = [];
    let clipped = 0;
    const fg = chart.options.color;
    chart.data.datasets.forEach((set, i) => {
      if (!chart.isDatasetVisible(i) || !set.data.length) return;
      if (set.note) {
        const [a, b] = [set.data[0], set.data.at(-1)];
        const [x0, y0, x1, y1] = [x.getPixelForValue(a.x), y.getPixelForValue(a.y), x.getPixelForValue(b.x), y.getPixelForValue(b.y)];
        refs.push({ note: set.note, colour: set.borderColor, x0, y0, x1, y1 });
        ctx.save();
        ctx.font = 'bold 11px system-ui, sans-serif';
        const vertical = Math.abs(x1 - x0) < 1;
        const w = ctx.measureText(set.note).width;
        // Vertical lines: the note at the top, stacked by `noteRow`; others: above the line at its
        // right end, or its left end with `noteAt: 'start'`.
        const [ex, ey] = set.noteAt === 'start' ? [x0, y0] : [x1, y1];
        const tx = vertical ? Math.min(Math.max(x1 + 3, chartArea.left), chartArea.right - w - 2)
          : set.noteAt === 'start' ? Math.max(ex, chartArea.left) + 4 : Math.min(ex, chartArea.right) - w - 4;
        const ty = vertical ? chartArea.top + 20 + 13 * (set.noteRow ?? 0)
          : Math.min(Math.max(Math.min(ey, chartArea.bottom) - 4, chartArea.top + 11), chartArea.bottom - 2);
        // A halo in the background's colour keeps the note readable over the curves.
        ctx.lineJoin = 'round';
        ctx.lineWidth = 3;
        ctx.strokeStyle = options?.background ?? 'white';
        ctx.strokeText(set.note, tx, ty);
        ctx.fillStyle = set.noteColour ?? set.borderColor;
        ctx.fillText(set.note, tx, ty);
        ctx.restore();
        return;
      }
      if (!Number.isFinite(y.options.max)) return;
      ctx.save();
      ctx.fillStyle = set.borderColor;
      for (const p of set.data) {
        if (!(p.y > y.max)) continue;
        const px = x.getPixelForValue(p.x);
        if (px < chartArea.left - 1 || px > chartArea.right + 1) continue;
        clipped++;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top - 1);
        ctx.lineTo(px - 4, chartArea.top + 6);
        ctx.lineTo(px + 4, chartArea.top + 6);
        ctx.closePath();
        ctx.fill();
      }
      ctx.restore();
    });
    if (clipped) {
      ctx.save();
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillStyle = fg;
      const text = `▲ above ${fmtAxis(y.max)}, clipped`;
      ctx.fillText(text, chartArea.right - ctx.measureText(text).width - 4, chartArea.top + 20 + 13 * refs.filter((r) => Math.abs(r.x1 - r.x0) < 1).length);
      ctx.restore();
    }
    chart.canvas.dataset.refs = JSON.stringify(refs);
    chart.canvas.dataset.clipped = String(clipped);
  },
};

/** The colour behind an element: the first opaque background of it or its ancestors (across shadow roots), else white. */
function backgroundOf(el) {
  for (let at = el; at && at.nodeType === 1; at = at.parentElement ?? at.getRootNode?.().host) {
    const c = getComputedStyle(at).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c)) return c;
  }
  return 'white';
}

const fmtAxis = (v) => String(Number(v.toPrecision(3)));

/**
 * Tick labels of a logarithmic axis: short numbers (0.001, 20, 1e-5), on
 * powers of ten, and on 2 and 5 times them when the axis spans under three
 * decades.
 */
function logTick(value, index, ticks) {
  const lo = ticks[0]?.value, hi = ticks.at(-1)?.value;
  const few = !(lo > 0) || hi / lo < 1000;
  const significand = Math.round(value / 10 ** Math.floor(Math.log10(value) + 1e-9));
  if (!(significand === 1 || (few && (significand === 2 || significand === 5)))) return '';
  return value >= 1e-3 && value < 1e5 ? String(Number(value.toPrecision(3))) : value.toExponential(0).replace('e+', 'e');
}

export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
const DASHES = [[], [6, 4], [2, 3], [8, 3, 2, 3]];

/**
 * Draws series [{ label, points: [{x, y, lo?, hi?}], dashed?, colour?, group?, style?, note?, noteRow?, spread? }]
 * on canvas, replacing the chart it had: `dashed` marks a reference line,
 * `note` labels one on the plot (and keeps it out of the legend), `group`
 * picks the colour and `style` the dash pattern; points with lo and hi get
 * error bars, or a band with `spread: 'band'`. A fixed yMax clips larger
 * values, each marked on the top edge. Returns the Chart.
 */
export function lineChart(canvas, series, { xLabel, yLabel, xLog = false, yLog = false, title, xMin, xMax, yMin, yMax, xTicks, yStep } = {}) {
  Chart.getChart(canvas)?.destroy();
  // Text in the page's colour (light on a dark scheme), grid lines a faint version of it.
  const fg = (canvas.isConnected && getComputedStyle(canvas).color) || '#1a1a1a';
  const grid = fg.replace(/^rgb\((.*)\)$/, 'rgba($1, 0.15)');
  // Room for the spread bars: the y range covers every point's lo .. hi.
  const spread = series.flatMap((x) => x.points).filter((p) => p.lo !== undefined && (!yLog || p.lo > 0));
  // (A fixed yMax wins over the spread: what is above it is clipped and marked.)
  const yFit = spread.length ? { suggestedMin: Math.min(...spread.map((p) => p.lo)), suggestedMax: Math.max(...spread.map((p) => p.hi)) } : {};
  if (yMax !== undefined) delete yFit.suggestedMax;
  if (yMin !== undefined) delete yFit.suggestedMin;
  const chart = new Chart(canvas, {
    type: 'line',
    plugins: [spreadBars, references],
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.points,
        borderColor: s.colour ?? PALETTE[(s.group ?? i) % PALETTE.length],
        backgroundColor: s.colour ?? PALETTE[(s.group ?? i) % PALETTE.length],
        borderDash: s.dashed ? [4, 4] : DASHES[(s.style ?? Math.floor(i / PALETTE.length)) % DASHES.length],
        borderWidth: s.dashed ? 1.5 : 2,
        pointRadius: s.dashed ? 0 : 2,
        tension: 0,
        note: s.note,
        noteRow: s.noteRow,
        noteAt: s.noteAt,
        spread: s.spread,
      })),
    },
    options: {
      color: fg,
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      interaction: { mode: 'nearest', intersect: false },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 18, font: { size: 11 }, color: fg, filter: (item, data) => !data.datasets[item.datasetIndex].note } },
        title: title ? { display: true, text: title, color: fg } : undefined,
        references: { background: backgroundOf(canvas) },
      },
      scales: {
        x: { type: xLog ? 'logarithmic' : 'linear', min: xMin, max: xMax, title: { display: Boolean(xLabel), text: xLabel, color: fg },
          ticks: { color: fg, ...(xTicks ? { callback: (v) => String(v) } : xLog ? { callback: logTick } : {}) }, grid: { color: grid },
          ...(xTicks ? { afterBuildTicks: (axis) => { axis.ticks = xTicks.filter((v) => v >= axis.min && v <= axis.max).map((value) => ({ value })); } } : {}) },
        y: { type: yLog ? 'logarithmic' : 'linear', min: yMin, max: yMax, ...yFit, title: { display: Boolean(yLabel), text: yLabel, color: fg },
          ticks: { color: fg, ...(yLog ? { callback: logTick } : {}), ...(yStep ? { stepSize: yStep, callback: (v) => fmtAxis(v) } : {}) }, grid: { color: grid } },
      },
    },
  });
  markRange(chart);
  return chart;
}

/** Records the drawn axis ranges on the canvas (data-x-range, data-y-range): call after chart.update(). */
export function markRange(chart) {
  for (const axis of ['x', 'y']) {
    const scale = chart.scales?.[axis];
    if (scale) chart.canvas.dataset[`${axis}Range`] = `${scale.min},${scale.max}`;
  }
}
