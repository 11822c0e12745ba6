// The presets (web/src/presets.js) in Chromium: every view lists 3 to 6 as
// ordinary links; each link renders without console errors, and the claim in
// its text holds on the numbers the page computed (read from the stats, the
// figures' export data and the colour bars). Following links pushes history
// entries, so Back returns to the previous preset. Screenshots of every preset
// at 1280×800 and 360×740 go to test-results/presets/<id>-<width>.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labInChromium, canvases, assertDrawn } from './chromium.mjs';
import { PRESETS, presetHash, presetsOf } from '../web/src/presets.js';
import { FIELDS, VIEWS, parseState, formatHash } from '../web/src/state.js';
import { createAttn } from '../wasm/attn.js';
import { softmaxWeightsRef } from './reference.mjs';

const lab = labInChromium();
const SHOTS = join('test-results', 'presets');
mkdirSync(SHOTS, { recursive: true });
const A = await createAttn();

test('every view has 3 to 6 presets with distinct ids, valid fields that differ from the defaults, and two sentences', () => {
  for (const view of VIEWS) {
    const n = presetsOf(view).length;
    assert.ok(n >= 3 && n <= 6, `${view}: ${n} presets`);
  }
  assert.equal(new Set(PRESETS.map((p) => p.id)).size, PRESETS.length, 'ids are distinct');
  for (const p of PRESETS) {
    for (const fields of [p.fields, ...(p.claim.against ? [p.claim.against] : [])]) {
      const state = parseState(presetHash(p, fields));
      assert.deepEqual(state.problems, [], `${p.id}: ${presetHash(p, fields)} is read as written`);
      assert.equal(state.view, p.view);
      for (const [key, value] of Object.entries(fields)) {
        assert.deepEqual(state[key], value, `${p.id}.${key}`);
        if (fields === p.fields) assert.notDeepEqual(value, FIELDS[key].default, `${p.id}.${key} differs from the default`);
      }
    }
    assert.ok(p.look.match(/[.!?](\s|$)/g).length >= 2, `${p.id}: what to look at and what it shows`);
    assert.equal(typeof p.claim.holds, 'function');
    assert.ok(p.claim.text.length > 10);
  }
});

test('the README shows one screenshot per view (small PNGs) and lists every preset with its link', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const view of VIEWS) {
    assert.ok(readme.includes(`](docs/img/${view}.png)`), `README shows docs/img/${view}.png`);
    const png = readFileSync(join('docs', 'img', `${view}.png`));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], `${view}.png is a PNG`);
    assert.ok(png.length <= 120 * 1024, `${view}.png: ${png.length} bytes`);
  }
  for (const p of PRESETS) assert.ok(readme.includes(`[${p.title}](web/index.html${presetHash(p)})`), `README lists ${p.id}`);
});

/** A page of the lab at a size, collecting console errors. */
async function openPage(viewport = { width: 1280, height: 800 }) {
  const page = await lab.browser.newPage({ viewport });
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  return { page, problems };
}

/** Opens a hash in a fresh document and waits until the view has drawn. */
async function show(page, hash) {
  await page.goto('about:blank');
  await page.goto(`${lab.base}/web/${hash}`);
  await page.waitForSelector('html[data-state="ready"]', { timeout: 240000 });
}

/** The numbers a view computed, as presets.js describes them. */
async function numbers(page, view, hash) {
  const read = await page.evaluate((v) => {
    const stats = {};
    const dl = document.querySelector('#view .stats');
    if (dl) for (const dt of dl.querySelectorAll('dt')) stats[dt.textContent] = dt.nextElementSibling.textContent;
    const data = (id) => {
      const fig = document.querySelector(`#view canvas[data-figure="${id}"]`)?.closest('figure');
      return fig?.figureData ? fig.figureData() : null;
    };
    const plain = (m) => m && { rows: m.rows, cols: m.cols, data: Array.from(m.data) };
    switch (v) {
      case 'matrices': {
        const W = data('approx');
        let wMin = Infinity;
        for (const x of W.data) wMin = Math.min(wMin, x);
        return { stats, wMin };
      }
      case 'masks': {
        const mask = data('mask'), sorted = data('sorted');
        return { stats, mask: plain(mask), assignments: sorted ? sorted.assignments : null };
      }
      case 'fastweights': return { stats, errors: data('retrieval'), label: document.querySelector('#view label[for="fw-step"]').textContent };
      default: return { series: data(v) };
    }
  }, view);
  const stat = (start) => {
    const key = Object.keys(read.stats).find((k) => k.startsWith(start));
    assert.ok(key, `${hash}: a stat "${start}…" is shown`);
    return read.stats[key];
  };
  const number = (text) => Number(/-?[\d.]+(?:e[-+]?\d+)?/.exec(text)[0]);
  switch (view) {
    case 'matrices':
      {
      const kept = Object.keys(read.stats).find((k) => k.startsWith('softmax mass kept'));
      return { rel: number(stat('relative Frobenius')), kl: number(stat('mean KL')), maxAbs: number(stat('max |error|')), wMin: read.wMin,
        kept: kept ? number(read.stats[kept]) : null };
    }
    case 'masks': {
      const n = read.mask.rows;
      const keys = /min (\d+), mean ([\d.]+), max (\d+)/.exec(stat('keys per query'));
      const shownLayers = /^\d+/.exec(stat('layers'));
      // The pairs reached after those layers: from the mask the page built.
      const mask = { rows: n, cols: n, data: Uint8Array.from(read.mask.data) };
      const layers = A.maskLayers(mask, { maxLayers: 64 });
      assert.equal(shownLayers ? Number(shownLayers[0]) : 0, layers.layers, `${hash}: the layers shown are the mask's`);
      return { n, density: number(/density ([\d.]+)/.exec(stat('allowed cells'))[1]), keysMin: Number(keys[1]), keysMean: Number(keys[2]),
        keysMax: Number(keys[3]), layers: layers.layers || null, coverage: layers.complete ? 1 : layers.coverage.at(-1),
        mask: read.mask, assignments: read.assignments };
    }
    case 'fastweights': {
      const errors = Object.fromEntries(read.errors.map((e) => [e.rule, e.errors]));
      return { dim: number(stat('feature dimension')), step: number(/t = (\d+)/.exec(read.label)[1]),
        sum: number(stat('sum rule')), delta: number(stat('delta rule')), errors };
    }
    case 'approximation': {
      // The baseline: uniform 1/n weights against softmax of the same inputs (jobs.approximation), in float64.
      const s = parseState(hash);
      const scaled = (m) => ({ ...m, data: m.data.map((x) => x * s.scale) });
      const P = softmaxWeightsRef(scaled(A.randn(s.n, s.d, { seed: s.seed })), scaled(A.randn(s.n, s.d, { seed: s.seed + 1 })));
      let mse = 0;
      for (const p of P) mse += (p - 1 / s.n) ** 2;
      return { series: read.series, uniform: mse / P.length };
    }
    default: return { series: read.series };
  }
}

for (const preset of PRESETS) {
  test(`preset ${preset.view}/${preset.id}: ${preset.claim.text}`, async () => {
    const hash = presetHash(preset);
    const { page, problems } = await openPage();
    await show(page, hash);
    assertDrawn(await canvases(page, '#view'), preset.id);
    const link = page.locator(`#view .presets a[data-preset="${preset.id}"]`);
    assert.equal(await link.getAttribute('aria-current'), 'true', 'its link is marked as the one shown');
    assert.match(await page.textContent('#view .presets .look'), new RegExp(preset.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const here = await numbers(page, preset.view, hash);
    await page.screenshot({ path: join(SHOTS, `${preset.id}-1280.png`), fullPage: true });
    let there;
    if (preset.claim.against) {
      const other = presetHash(preset, preset.claim.against);
      await show(page, other);
      there = await numbers(page, preset.view, other);
    }
    assert.ok(preset.claim.holds(here, there), `${preset.id}: ${preset.claim.text}\nhere: ${JSON.stringify(here, (k, v) =>
      (k === 'mask' || k === 'assignments' ? '…' : v))}\nthere: ${JSON.stringify(there, (k, v) => (k === 'mask' || k === 'assignments' ? '…' : v))}`);
    assert.deepEqual(problems, []);
    await page.close();
    const phone = await openPage({ width: 360, height: 740 });
    await show(phone.page, hash);
    assert.deepEqual(await phone.page.$eval('#view .presets', (el) => [el.querySelector('details').open, el.querySelector('.look').checkVisibility()]),
      [false, true], 'on a phone the list is folded and what to look at is shown');
    await phone.page.screenshot({ path: join(SHOTS, `${preset.id}-360.png`), fullPage: true });
    assert.deepEqual(phone.problems, []);
    await phone.page.close();
  });
}

test('preset links push history entries: Back returns to the previous preset, then to the view', async () => {
  const { page, problems } = await openPage();
  await show(page, '#view=masks');
  const start = await page.evaluate(() => location.hash);
  const [first, second] = presetsOf('masks').filter((p) => Object.keys(p.fields).length);
  const follow = async (p) => {
    await page.click(`#view .presets a[data-preset="${p.id}"]`);
    await page.waitForFunction((h) => location.hash === h, formatHash(parseState(presetHash(p))));
    await page.waitForSelector('html[data-state="ready"]');
  };
  await follow(first);
  await follow(second);
  assert.equal(await page.getAttribute(`#view .presets a[data-preset="${second.id}"]`, 'aria-current'), 'true');
  await page.goBack();
  await page.waitForFunction((h) => location.hash === h, formatHash(parseState(presetHash(first))));
  await page.waitForSelector('html[data-state="ready"]');
  assert.equal(await page.getAttribute(`#view .presets a[data-preset="${first.id}"]`, 'aria-current'), 'true');
  assert.equal(await page.getAttribute(`#view .presets a[data-preset="${second.id}"]`, 'aria-current'), null);
  await page.goBack();
  await page.waitForFunction((h) => location.hash === h, start);
  assert.deepEqual(problems, []);
  await page.close();
});

test('changing a setting after following a preset unmarks it and keeps its text (dimmed), so the controls do not move', async () => {
  const { page, problems } = await openPage();
  const preset = PRESETS.find((p) => p.id === 'longformer');
  await show(page, presetHash(preset));
  const top = () => page.$eval('#view .controls', (el) => el.getBoundingClientRect().top);
  const before = await top();
  await page.fill('#ctl-window', '5');
  await page.press('#ctl-window', 'Enter');
  await page.waitForFunction(() => /window=5/.test(location.hash));
  await page.waitForSelector('html[data-state="ready"]');
  assert.equal(await page.getAttribute(`#view .presets a[data-preset="${preset.id}"]`, 'aria-current'), null);
  assert.equal(await page.$eval('#view .presets .look', (el) => el.classList.contains('changed') && !el.hidden), true);
  assert.equal(await top(), before, 'the controls stay where they were');
  assert.deepEqual(problems, []);
  await page.close();
});

test('presets are links of the lab page only: an <attn-figure> shows none', async () => {
  const { page, problems } = await openPage();
  await page.route(`${lab.base}/web/figure-presets.html`, (route) => route.fulfill({ contentType: 'text/html', body:
    `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>
    <attn-figure id="f" view="masks" kind="local" n="32"></attn-figure><script src="dist/attn-figure.js"></script></body></html>` }));
  await page.goto(`${lab.base}/web/figure-presets.html`);
  await page.waitForSelector('#f[data-state="ready"]', { timeout: 30000 });
  assert.equal(await page.evaluate(() => document.querySelector('#f').shadowRoot.querySelectorAll('.presets').length), 0);
  assert.deepEqual(problems, []);
  await page.close();
});
