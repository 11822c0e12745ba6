// npm run bench:page: the lab's render times in headless Chromium (Debian's,
// through playwright-core): re-rendering a view at n = 256 after a control
// change, and drawing a 1024 x 1024 heatmap. Measurements, not assertions.
import { chromium } from 'playwright-core';
import { labServer, listen } from '../tools/serve.mjs';
const server = labServer(); const port = await listen(server, 0);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [view, field, values] of [['matrices', 'seed', [1, 2, 3, 4, 5, 6, 7]], ['masks', 'seed', [1, 2, 3, 4, 5, 6, 7]], ['fastweights', 'step', [5, 6, 7, 8, 9, 10, 11]]]) {
  await page.goto(`http://127.0.0.1:${port}/web/#view=${view}&n=256&kind=bigbird&block=16`);
  await page.reload();
  await page.waitForSelector('html[data-state="ready"]');
  const ts = [];
  for (const v of values) {
    ts.push(await page.evaluate(([f, v]) => { const el = document.getElementById(`ctl-${f}`); el.value = v; const t0 = performance.now(); el.dispatchEvent(new Event('change')); return performance.now() - t0; }, [field, v]));
  }
  console.log(view, 'n=256 re-render after a control change: median', median(ts).toFixed(1), 'ms, max', Math.max(...ts).toFixed(1));
}
// heatmap drawing alone at n = 1024: a random 1024x1024 matrix drawn by the lab's own drawHeatmap, loaded in the page
const ms = await page.evaluate(async () => {
  const { drawHeatmap } = await import('/web/src/heatmap.js');
  const m = { rows: 1024, cols: 1024, data: Float32Array.from({ length: 1024 * 1024 }, () => Math.random()) };
  const c = document.createElement('canvas'); const ts = [];
  for (let r = 0; r < 7; r++) { const t0 = performance.now(); drawHeatmap(c, m); ts.push(performance.now() - t0); }
  return ts.sort((a, b) => a - b)[3];
});
console.log('drawHeatmap n=1024: median', ms.toFixed(1), 'ms');
await page.goto(`http://127.0.0.1:${port}/web/#view=matrices&n=1024&d=64`); await page.reload();
const t = await page.evaluate(() => { const el = document.getElementById('ctl-seed'); el.value = 9; const t0 = performance.now(); el.dispatchEvent(new Event('change')); return performance.now() - t0; });
console.log('matrices n=1024 full re-render (3 heatmaps, favor+ weights and error):', t.toFixed(1), 'ms');
await browser.close(); server.close();
