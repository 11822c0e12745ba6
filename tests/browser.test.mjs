// The page in headless Chromium (Debian's, driven by playwright-core), over
// http and from file://: the heatmap is drawn for the state in the hash, the
// controls write the hash, the console stays clean, and randn gives the same
// bits in the browser as in Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { createAttn } from '../wasm/attn.js';
import { labServer, listen } from '../tools/serve.mjs';
import { ROOT } from '../tools/source-hash.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-results');
let browser, server, base;

before(async () => {
  server = labServer();
  base = `http://127.0.0.1:${await listen(server, 0)}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A new page that records console messages and uncaught errors. */
async function openPage() {
  const page = await browser.newPage({ viewport: { width: 900, height: 800 } });
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return { page, problems };
}

/**
 * Waits for the page to render and returns what the heatmap canvas shows:
 * its size, colour count, opaque pixels and the RGB at each [x, y] probe.
 * Pixels are read from a copy, so the page's own canvas is never read back.
 */
async function heatmap(page, probes = []) {
  await page.waitForSelector('html[data-state="ready"]', { timeout: 15000 });
  return page.evaluate((points) => {
    const shown = document.getElementById('weights');
    const copy = document.createElement('canvas');
    copy.width = shown.width;
    copy.height = shown.height;
    const ctx = copy.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(shown, 0, 0);
    const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
    const colours = new Set();
    let opaque = 0;
    for (let i = 0; i < px.length; i += 4) {
      colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      if (px[i + 3] === 255) opaque++;
    }
    const at = points.map(([x, y]) => Array.from(px.slice((y * copy.width + x) * 4, (y * copy.width + x) * 4 + 3)));
    return { width: copy.width, height: copy.height, colours: colours.size, opaque, at };
  }, probes);
}

for (const where of ['http', 'file']) {
  test(`the page draws the softmax heatmap for the hash state (${where})`, async () => {
    const { page, problems } = await openPage();
    const url = where === 'http' ? `${base}/web/` : pathToFileURL(join(ROOT, 'web/index.html')).href;
    await page.goto(`${url}#n=48&d=8&seed=3&causal=1`);
    const shown = await heatmap(page, [[47, 0]]);
    assert.deepEqual([shown.width, shown.height], [48, 48]);
    assert.equal(shown.opaque, 48 * 48, 'every cell is painted');
    assert.ok(shown.colours > 20, `a real heatmap has many colours (${shown.colours})`);
    assert.equal(await page.inputValue('#n'), '48');
    assert.equal(await page.isChecked('#causal'), true);
    // Causal: the cell above the diagonal (row 0, col 47) has weight 0, the darkest colour.
    assert.deepEqual(shown.at[0], [68, 1, 84]);
    await page.screenshot({ path: join(SHOTS, `page-${where}.png`) });
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('changing a control rewrites the hash and redraws', async () => {
  const { page, problems } = await openPage();
  await page.goto(`${base}/web/#n=16&d=4&seed=0`);
  await heatmap(page);
  await page.evaluate(() => { document.documentElement.dataset.state = 'changing'; });
  await page.fill('#n', '100');
  await page.press('#n', 'Enter');
  await page.waitForFunction(() => location.hash.includes('n=100'));
  const shown = await heatmap(page);
  assert.deepEqual([shown.width, shown.height], [100, 100]);
  assert.match(await page.evaluate(() => location.hash), /^#n=100&d=4&seed=0&causal=0$/);
  // Out-of-range input is clamped, not an error.
  await page.fill('#n', '99999');
  await page.press('#n', 'Enter');
  await page.waitForFunction(() => location.hash.includes('n=1024'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('randn gives bit-identical samples in Chromium (ES module and classic build) and Node', async () => {
  const A = await createAttn();
  const want = Array.from(A.randn(64, 33, { seed: 2 ** 40 + 7 }).data);
  const { page, problems } = await openPage();
  await page.goto(`${base}/web/#n=8`);
  await heatmap(page);
  const fromModule = await page.evaluate(async () => {
    const { createAttn: create } = await import('/wasm/attn.js');
    const B = await create();
    return Array.from(B.randn(64, 33, { seed: 2 ** 40 + 7 }).data);
  });
  const fromClassic = await page.evaluate(async () => {
    const B = await window.attnlab.createAttn();
    return { simd: B.simd, data: Array.from(B.randn(64, 33, { seed: 2 ** 40 + 7 }).data) };
  });
  assert.deepEqual(fromModule, want);
  assert.deepEqual(fromClassic.data, want);
  assert.equal(fromClassic.simd, true, 'Chromium runs the SIMD build');
  assert.deepEqual(problems, []);
  await page.close();
});

test('seeded masks (random, bigbird, lsh, kmeans) are identical in Chromium and Node', async () => {
  const A = await createAttn();
  const build = (B) => {
    const x = B.randn(96, 8, { seed: 3 });
    return [
      B.mask('random', 96, { perRow: 5, seed: 11 }),
      B.mask('bigbird', 96, { block: 8, seed: 12 }),
      B.mask('lsh', 96, { x, buckets: 8, hashes: 2, seed: 13 }),
      B.mask('kmeans', 96, { x, clusters: 9, seed: 14 }),
    ].map((m) => [Array.from(m.data), m.assignments ? Array.from(m.assignments) : null]);
  };
  const want = build(A);
  const { page, problems } = await openPage();
  await page.goto(`${base}/web/#n=8`);
  await heatmap(page);
  const got = await page.evaluate(async (source) => {
    const B = await window.attnlab.createAttn();
    return (0, eval)(`(${source})`)(B);
  }, build.toString());
  assert.deepEqual(got, want);
  assert.deepEqual(problems, []);
  await page.close();
});
