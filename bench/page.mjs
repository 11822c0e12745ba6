// npm run bench:page: the lab's re-render times in headless Chromium (Debian's,
// through playwright-core): a control change (the seed, or the Fast weights
// step) until the view says it is ready again (figures on screen), at n = 256
// and n = 1024; in Matrices also a change that keeps the inputs (the number
// of random features, a mask's window: the softmax reference is reused) and
// the sparse mechanism; and drawing a 1024 x 1024 heatmap alone. Medians of
// 7 changes after one warm-up. Measurements, not assertions (targets: < 50 ms
// at 256, < 200 ms at 1024). The load average is printed before and after:
// on a busy machine the figures mean little.
import { loadavg } from 'node:os';
import { launchChromium } from '../tests/chromium.mjs';
import { labServer, listen } from '../tools/serve.mjs';

const server = labServer();
const port = await listen(server, 0);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ms from a change of control `field` to data-state="ready". */
const change = (field, value) => page.evaluate(([f, v]) => new Promise((resolve) => {
  const root = document.documentElement;
  const el = document.getElementById(`ctl-${f}`);
  el.value = v;
  const t0 = performance.now();
  el.dispatchEvent(new Event('change'));
  const poll = () => (root.dataset.state === 'ready' ? resolve(performance.now() - t0) : requestAnimationFrame(poll));
  poll();
}), [field, value]);

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`load average (1, 5, 15 min): ${load()}`);
const cases = [
  ['matrices', 256, 'seed', '&d=16'], ['matrices', 1024, 'seed', '&d=16'],
  ['matrices', 1024, 'features', '&d=16'], ['matrices', 1024, 'window', '&d=16&mechanism=sparse&kind=local'],
  ['masks', 256, 'seed', '&kind=bigbird&block=16'], ['masks', 1024, 'seed', '&kind=bigbird&block=16'],
  ['fastweights', 128, 'step', '&T=128'],
];
for (const [view, n, field, extra] of cases) {
  await page.goto(`http://127.0.0.1:${port}/web/#view=${view}&n=${n}${extra}`);
  await page.reload();
  await page.waitForSelector('html[data-state="ready"]', { timeout: 120000 });
  await change(field, 100);  // warm-up
  const ts = [];
  for (let v = 1; v <= 7; v++) ts.push(await change(field, v + 1));
  console.log(`${view} n=${n}${extra.includes('sparse') ? ' (sparse local)' : ''}: re-render after a ${field} change until ready: median ${median(ts).toFixed(1)} ms, max ${Math.max(...ts).toFixed(1)} ms`);
}
const ms = await page.evaluate(async () => {
  const { drawHeatmap } = await import('/web/src/heatmap.js');
  const m = { rows: 1024, cols: 1024, data: Float32Array.from({ length: 1024 * 1024 }, () => Math.random()) };
  const c = document.createElement('canvas');
  const ts = [];
  for (let r = 0; r < 7; r++) { const t0 = performance.now(); drawHeatmap(c, m); ts.push(performance.now() - t0); }
  return ts.sort((a, b) => a - b)[3];
});
console.log('drawHeatmap n=1024 alone: median', ms.toFixed(1), 'ms');
console.log(`load average (1, 5, 15 min): ${load()}`);
await browser.close();
server.close();
