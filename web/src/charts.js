// Line charts with Chart.js (bundled from npm: works offline, from file://
// and inside shadow DOM). Colours from the Okabe-Ito palette.
import Chart from 'chart.js/auto';

/** Draws a vertical bar from lo to hi through every point that has them (the spread of repeated timings). */
const spreadBars = {
  id: 'spreadBars',
  afterDatasetsDraw(chart) {
    const { ctx, scales: { x, y } } = chart;
    chart.data.datasets.forEach((set, i) => {
      if (!chart.isDatasetVisible(i)) return;
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

const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
const DASHES = [[], [6, 4], [2, 3], [8, 3, 2, 3]];

/**
 * Draws series [{ label, points: [{x, y}], dashed?, colour?, group?, style? }]
 * on canvas, replacing the chart it had: `dashed` marks a reference line,
 * `group` picks the colour and `style` the dash pattern. Returns the Chart.
 */
export function lineChart(canvas, series, { xLabel, yLabel, xLog = false, yLog = false, title, xMin, xMax, yMin, yMax } = {}) {
  Chart.getChart(canvas)?.destroy();
  // Text in the page's colour (light on a dark scheme), grid lines a faint version of it.
  const fg = (canvas.isConnected && getComputedStyle(canvas).color) || '#1a1a1a';
  const grid = fg.replace(/^rgb\((.*)\)$/, 'rgba($1, 0.15)');
  // Room for the spread bars: the y range covers every point's lo .. hi.
  const spread = series.flatMap((x) => x.points).filter((p) => p.lo !== undefined && (!yLog || p.lo > 0));
  const yFit = spread.length ? { suggestedMin: Math.min(...spread.map((p) => p.lo)), suggestedMax: Math.max(...spread.map((p) => p.hi)) } : {};
  const chart = new Chart(canvas, {
    type: 'line',
    plugins: [spreadBars],
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
        legend: { position: 'bottom', labels: { boxWidth: 18, font: { size: 11 }, color: fg } },
        title: title ? { display: true, text: title, color: fg } : undefined,
      },
      scales: {
        x: { type: xLog ? 'logarithmic' : 'linear', min: xMin, max: xMax, title: { display: Boolean(xLabel), text: xLabel, color: fg },
          ticks: { color: fg }, grid: { color: grid } },
        y: { type: yLog ? 'logarithmic' : 'linear', min: yMin, max: yMax, ...yFit, title: { display: Boolean(yLabel), text: yLabel, color: fg },
          ticks: { color: fg }, grid: { color: grid } },
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
