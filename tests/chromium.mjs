// Debian's Chromium through playwright-core, as every browser test and
// `npm run bench:page` launch it (CHROMIUM_PATH picks another binary), and
// what the browser tests read of the figures a page draws.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { labServer, listen } from '../tools/serve.mjs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium with no network of its own, no sandbox (CI runs as root), no GPU. */
export const launchChromium = () => chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});

/**
 * For a test file: the lab served on a free loopback port and a Chromium,
 * started before its tests and closed after them. Returns { browser, base }
 * (filled in once the tests start).
 */
export function labInChromium() {
  const lab = { browser: null, base: null, server: null };
  before(async () => {
    lab.server = labServer();
    lab.base = `http://127.0.0.1:${await listen(lab.server, 0)}`;
    lab.browser = await launchChromium();
  });
  after(async () => {
    await lab.browser?.close();
    lab.server?.close();
  });
  return lab;
}

/**
 * What the canvases under `root` (a selector; shadow roots pierced) show:
 * for each, its figure id, size, distinct colours and non-white pixels.
 * Pixels are read from copies, so the page's canvases are never read back.
 */
export function canvases(page, root = 'body') {
  return page.evaluate((sel) => {
    const scope = document.querySelector(sel);
    const all = [...(scope.shadowRoot ?? scope).querySelectorAll('canvas')];
    return all.map((c) => {
      const copy = document.createElement('canvas');
      copy.width = c.width;
      copy.height = c.height;
      const ctx = copy.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(c, 0, 0);
      const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
      const colours = new Set();
      let ink = 0;
      for (let i = 0; i < px.length; i += 4) {
        colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        if (px[i + 3] > 0 && (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240)) ink++;
      }
      return { id: c.dataset.figure, kind: c.dataset.kind, width: c.width, height: c.height, colours: colours.size, ink };
    });
  }, root);
}

/**
 * Asserts every canvas shows something: several colours and some ink (20
 * pixels, or a sixteenth of a small heatmap: a fast-weight write of sparse
 * features colours a few columns of its 128 cells).
 */
export function assertDrawn(shown, what) {
  assert.ok(shown.length > 0, `${what}: has figures`);
  for (const c of shown) {
    assert.ok(c.width > 0 && c.height > 0, `${what}/${c.id}: sized`);
    const ink = Math.min(20, (c.width * c.height) / 16);
    assert.ok(c.colours >= (c.kind === 'chart' ? 3 : 2) && c.ink > ink, `${what}/${c.id}: drawn (${c.colours} colours, ${c.ink} inked pixels)`);
  }
}

