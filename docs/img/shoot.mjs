// The README's screenshots: each view's first picture (its defaults) at
// 1280×800 in Chromium: from the caption and preset links to the end of the figures and
// their numbers (at most 800 px), at half scale.
//   node docs/img/shoot.mjs   (writes docs/img/<view>.png)
import { fileURLToPath } from 'node:url';
import { labServer, listen } from '../../tools/serve.mjs';
import { launchChromium } from '../../tests/chromium.mjs';
import { VIEWS } from '../../web/src/state.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const server = labServer();
const base = `http://127.0.0.1:${await listen(server, 0)}`;
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 0.5 });
for (const view of VIEWS) {
  await page.goto('about:blank');
  await page.goto(`${base}/web/#view=${view}`);
  await page.waitForSelector('html[data-state="ready"]', { timeout: 240000 });
  const [top, bottom] = await page.evaluate(() => {
    const box = (sel) => document.querySelector(sel)?.getBoundingClientRect();
    const parts = [...document.querySelectorAll('#view .view-body > *')].filter((el) => el.checkVisibility() && !el.matches('details.data'));
    return [Math.min(box('#view .presets').top, box('#view .caption').top) - 8, Math.max(...parts.map((el) => el.getBoundingClientRect().bottom)) + 8];
  });
  await page.screenshot({ path: `${dir}${view}.png`, fullPage: true, clip: { x: 40, y: top, width: 1200, height: Math.min(800, bottom - top) } });
  console.log(`docs/img/${view}.png`);
}
await browser.close();
server.close();
