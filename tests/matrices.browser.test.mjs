// The Matrices view in Chromium: sparse masks as a mechanism, the linked
// hover (a cell hovered in one heatmap is marked at the same (i, j) in the
// others and its three values are read out together, checked against a
// float64 recomputation here), figures updated in place (the same canvases
// after a change, focus kept), and large matrices drawn at screen size.
// Screenshots go to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labInChromium, canvases, assertDrawn } from './chromium.mjs';
import { createAttn } from '../wasm/attn.js';
import { softmaxWeightsRef } from './reference.mjs';

const SHOTS = join(fileURLToPath(new URL('..', import.meta.url)), 'test-results');
mkdirSync(SHOTS, { recursive: true });
const lab = labInChromium();

/** A page that records console errors and page errors in `problems`. */
async function openPage(viewport = { width: 1280, height: 800 }) {
  const page = await lab.browser.newPage({ viewport });
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  return { page, problems };
}

const ready = (page) => page.waitForSelector('html[data-state="ready"]', { timeout: 60000 });
const show = async (page, hash) => {
  await page.evaluate(() => { document.documentElement.dataset.state = 'rendering'; });
  await page.evaluate((h) => { location.hash = h; }, hash);
  await ready(page);
};

test('linked hover: a cell hovered in the softmax heatmap is marked at the same (i, j) in all three, and the readout holds their three values', async () => {
  const [n, d, seed, window] = [32, 16, 1, 3];
  const { page, problems } = await openPage();
  await page.goto(`${lab.base}/web/#view=matrices&scale=1&mechanism=sparse&kind=local&window=${window}&inputs=local&n=${n}&d=${d}&seed=${seed}`);
  await ready(page);
  assertDrawn(await canvases(page, '#view'), 'sparse local');
  // Float64: softmax, softmax over the window's keys, their difference.
  const A = await createAttn();
  const made = A.inputs('local', n, d, { seed, scale: 1 });
  const mask = { data: Uint8Array.from({ length: n * n }, (_, at) => (Math.abs(Math.floor(at / n) - (at % n)) <= window ? 1 : 0)) };
  const P = softmaxWeightsRef(made.q, made.k), W = softmaxWeightsRef(made.q, made.k, { mask });
  for (const [i, j] of [[10, 12], [20, 5], [0, 31]]) {
    await page.locator('canvas[data-figure="softmax"]').scrollIntoViewIfNeeded();
    const box = await page.locator('canvas[data-figure="softmax"]').boundingBox();
    await page.mouse.move(box.x + ((j + 0.5) / n) * box.width, box.y + ((i + 0.5) / n) * box.height);
    const marks = await page.evaluate(() => ['softmax', 'approx', 'error'].map((id) => {
      const canvas = document.querySelector(`canvas[data-figure="${id}"]`);
      const mark = canvas.parentElement.querySelector('.hm-mark');
      const [c, m] = [canvas.getBoundingClientRect(), mark.getBoundingClientRect()];
      return { id, hidden: mark.hidden, row: mark.dataset.row, col: mark.dataset.col,
        x: (m.left + m.width / 2 - c.left) / c.width, y: (m.top + m.height / 2 - c.top) / c.height };
    }));
    for (const mk of marks) {
      assert.equal(mk.hidden, false, `${mk.id}: marker shown`);
      assert.deepEqual([mk.row, mk.col], [String(i), String(j)], `${mk.id}: marker at (${i}, ${j})`);
      assert.ok(Math.abs(mk.x - (j + 0.5) / n) < 0.25 / n && Math.abs(mk.y - (i + 0.5) / n) < 0.25 / n,
        `${mk.id}: the marker's centre is the cell's (${mk.x}, ${mk.y})`);
    }
    const readout = await page.evaluate(() => {
      const el = document.getElementById('matrices-readout');
      return { row: el.dataset.row, col: el.dataset.col, text: el.textContent,
        values: [...el.querySelectorAll('[data-value]')].map((s) => Number(s.dataset.value)) };
    });
    assert.deepEqual([readout.row, readout.col], [String(i), String(j)]);
    assert.match(readout.text, new RegExp(`^query ${i}, key ${j} \\((kept|masked)\\): softmax `));
    assert.equal(readout.values.length, 3, readout.text);
    const at = i * n + j;
    const want = [P[at], W[at], W[at] - P[at]];
    readout.values.forEach((x, t) => assert.ok(Math.abs(x - want[t]) <= 1e-5 * Math.abs(want[t]) + 1e-7,
      `(${i}, ${j}) value ${t}: ${x} vs float64 ${want[t]}`));
    assert.ok(readout.text.includes(Math.abs(i - j) <= window ? '(kept)' : '(masked)'));
    if (i === 10) await page.screenshot({ path: join(SHOTS, 'matrices-linked-hover.png') });
  }
  // Leaving the heatmap hides the markers and clears the readout.
  await page.mouse.move(2, 2);
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll('.hm-mark')].map((m) => m.hidden)), [true, true, true]);
  assert.equal(await page.textContent('#matrices-readout'), '');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a control change redraws the figures in place: the same canvases, focus kept in the control, new numbers', async () => {
  const { page, problems } = await openPage();
  await page.goto(`${lab.base}/web/#view=matrices&scale=1&mechanism=sparse&kind=local&inputs=local&n=64&d=16&window=2`);
  await ready(page);
  await page.evaluate(() => { window.firstCanvas = document.querySelector('canvas[data-figure="approx"]'); });
  const statsBefore = await page.textContent('#view .stats');
  await page.focus('#ctl-window');
  await page.evaluate(() => { document.documentElement.dataset.state = 'rendering'; });
  await page.keyboard.press('ArrowUp');
  await ready(page);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'ctl-window', 'focus stays in the window box');
  assert.equal(await page.evaluate(() => document.querySelector('canvas[data-figure="approx"]') === window.firstCanvas), true, 'the same canvas');
  assert.match(await page.evaluate(() => location.hash), /window=3/);
  assert.notEqual(await page.textContent('#view .stats'), statsBefore, 'new figures');
  assert.deepEqual(problems, []);
  await page.close();
});

test('sparse masks: the stats name density and the softmax mass kept; a window keeps more on local inputs than on clustered ones (screenshots)', async () => {
  const kept = {};
  for (const viewport of [{ width: 1280, height: 800 }, { width: 360, height: 740 }]) {
    const { page, problems } = await openPage(viewport);
    await page.goto(`${lab.base}/web/#view=matrices&scale=1&mechanism=sparse&kind=local&window=4&inputs=local&n=256&d=32`);
    await ready(page);
    for (const [kind, inputs] of [['local', 'local'], ['local', 'clustered'], ['bigbird', 'local'], ['longformer', 'mixture'], ['lsh', 'clustered'], ['kmeans', 'clustered']]) {
      const sorted = ['lsh', 'kmeans'].includes(kind) ? 1 : 0;
      await show(page, `#view=matrices&scale=1&mechanism=sparse&kind=${kind}&window=4&inputs=${inputs}&n=256&d=32&dilation=1&clusters=4&block=16&sorted=${sorted}`);
      if (sorted) assert.equal(await page.textContent('#view .hm-xlabel'), 'key j (sorted by bucket) →');
      const text = await page.textContent('#view .stats');
      assert.match(text, /mask.*cells \(density [\d.]+ %\)/);
      const m = /softmax mass kept\s*mean ([\d.]+) %, min ([\d.]+) %/.exec(text);
      assert.ok(m, text);
      kept[`${kind}/${inputs}`] = Number(m[1]);
      assertDrawn(await canvases(page, '#view'), `${kind} on ${inputs}`);
      await page.screenshot({ path: join(SHOTS, `matrices-sparse-${kind}-${inputs}-${viewport.width}.png`), fullPage: true });
    }
    assert.deepEqual(problems, []);
    await page.close();
  }
  assert.ok(kept['local/local'] > 90 && kept['local/clustered'] < 30, JSON.stringify(kept));
});

test('a large matrix is drawn at screen size (pooled blocks, said under the figures) while hover reads every entry', async () => {
  const { page, problems } = await openPage();
  const n = 1024;
  await page.goto(`${lab.base}/web/#view=matrices&scale=1&mechanism=kernel&feature=favor%2B&inputs=local&n=${n}&d=16`);
  await ready(page);
  const shown = await canvases(page, '#view');
  assertDrawn(shown, 'n = 1024');
  const { width, cssWidth } = await page.evaluate(() => {
    const c = document.querySelector('canvas[data-figure="softmax"]');
    return { width: c.width, cssWidth: c.clientWidth };
  });
  assert.ok(width < n && width >= cssWidth * 0.9, `canvas ${width} px for ${cssWidth} CSS px`);
  assert.match(await page.textContent('#matrices-pooled'), /n = 1024: each pixel shows the entry of largest magnitude in its \d × \d block/);
  await page.locator('canvas[data-figure="error"]').scrollIntoViewIfNeeded();
  const box = await page.locator('canvas[data-figure="error"]').boundingBox();
  await page.mouse.move(box.x + (1000.5 / n) * box.width, box.y + (999.5 / n) * box.height);
  const readout = await page.evaluate(() => ({ ...document.getElementById('matrices-readout').dataset }));
  assert.ok(Math.abs(Number(readout.row) - 999) <= 1 && Math.abs(Number(readout.col) - 1000) <= 1, JSON.stringify(readout));
  await page.screenshot({ path: join(SHOTS, 'matrices-n1024.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
