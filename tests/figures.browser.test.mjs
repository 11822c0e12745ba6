// The lab's teaching figures in Chromium: Capacity draws S = dφ per map in its
// colour and the 0.5 line on a 0 … 1.5 axis (larger errors clipped and marked),
// and its exported curve crosses 0.5 within one S step of dφ; Approximation
// draws the trial bands, the 1/m slope and the uniform-weights baseline, whose
// exported value equals a float64 computation here; Masks measures causal
// coverage against the n(n + 1)/2 pairs j ≤ i; Fast weights shows each step's
// write ΔW beside W, equal to W_t − W_(t−1) of the API's states and to the
// rule's formula in float64, on a fixed colour scale centred at 0; embedded
// figures carry their own caption, and unknown attributes or bad values show
// an error naming the attribute. Screenshots (1280×800 and 360×740) go to
// test-results/figures-*.png.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertDrawn, canvases, labInChromium } from './chromium.mjs';
import { ROOT } from '../tools/source-hash.mjs';
import { createAttn } from '../wasm/attn.js';
import { featureMapRef, softmaxWeightsRef } from './reference.mjs';
import { F32_REL, U } from './tolerances.mjs';

const SHOTS = join(ROOT, 'test-results');
const lab = labInChromium();
const A = await createAttn();

before(() => mkdirSync(SHOTS, { recursive: true }));

const SIZES = { wide: { width: 1280, height: 800 }, narrow: { width: 360, height: 740 } };

async function openPage(size = 'wide', options = {}) {
  const context = await lab.browser.newContext({ viewport: SIZES[size], acceptDownloads: true, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.closeAll = () => context.close();
  return { page, problems };
}

const ready = (page) => page.waitForSelector('html[data-state="ready"]', { timeout: 120000 });

/** The data a figure exports (its JSON or CSV button), parsed. */
async function exported(page, id) {
  const figure = page.locator('figure', { has: page.locator(`canvas[data-figure="${id}"]`) });
  const [file] = await Promise.all([page.waitForEvent('download'), figure.locator('.exports button').nth(1).click()]);
  const text = readFileSync(await file.path(), 'utf8');
  return file.suggestedFilename().endsWith('.json') ? JSON.parse(text) : text.trim().split('\n').map((r) => r.split(',').map(Number));
}

/**
 * The colours along a segment of a chart canvas, given in the chart's CSS
 * pixels (as data-refs records them): per point, the [r, g, b] of the pixel
 * and its left and right neighbours (a line between pixels is spread over
 * two), read from a copy on white (the light page's background).
 */
const pixelsAlong = (page, id, { x0, y0, x1, y1 }) => page.evaluate(({ id, seg }) => {
  const c = document.querySelector(`canvas[data-figure="${id}"]`);
  const ratio = c.width / c.clientWidth;
  const copy = document.createElement('canvas');
  copy.width = c.width;
  copy.height = c.height;
  const ctx = copy.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = 'white';  // the page's background under the transparent canvas
  ctx.fillRect(0, 0, copy.width, copy.height);
  ctx.drawImage(c, 0, 0);
  const steps = Math.max(Math.abs(seg.x1 - seg.x0), Math.abs(seg.y1 - seg.y0)) * ratio;
  const out = [];
  for (let s = 0; s <= steps; s++) {
    const x = Math.round((seg.x0 + ((seg.x1 - seg.x0) * s) / steps) * ratio), y = Math.round((seg.y0 + ((seg.y1 - seg.y0) * s) / steps) * ratio);
    out.push([-1, 0, 1].map((dx) => [...ctx.getImageData(x + dx, y, 1, 1).data.subarray(0, 3)]));
  }
  return out;
}, { id, seg: { x0, y0, x1, y1 } });

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
const near = (a, b, tol = 40) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

test('capacity: S = dφ per map in its colour, the 0.5 line, y on 0 … 1.5 with clipped values marked; the curve crosses 0.5 by dφ', async () => {
  const { page, problems } = await openPage();
  await page.goto(`${lab.base}/web/#view=capacity&dKey=64&maxS=300&trials=1&maps=identity,dpfp-1&rules=sum,delta`);
  await ready(page);
  assertDrawn(await canvases(page, '#view'), 'capacity');
  const canvas = await page.$eval('canvas[data-figure="capacity"]', (c) => ({ ...c.dataset }));
  assert.equal(canvas.yRange, '0,1.5', 'the y range fitted to the region around 0.5');
  assert.ok(Number(canvas.clipped) > 0, 'sum-rule errors above 1.5 are clipped and marked');
  const refs = JSON.parse(canvas.refs);
  const expected = [['S = dφ = 64 (identity)', '#0072B2'], ['S = dφ = 128 (DPFP-1)', '#E69F00']];
  for (const [note, colour] of expected) {
    const ref = refs.find((r) => r.note === note);
    assert.ok(ref, `${note} is drawn`);
    assert.equal(ref.colour, colour, `${note} in its map's colour`);
    assert.ok(Math.abs(ref.x0 - ref.x1) < 1 && ref.y0 > ref.y1 + 100, `${note} is a vertical line`);
    const px = await pixelsAlong(page, 'capacity', ref);
    const inked = px.filter((three) => three.some((p) => near(p, hex(colour), 70))).length;
    assert.ok(inked > 0.25 * px.length, `${note}: ${inked} of ${px.length} pixels along it in ${colour} (dashed)`);
  }
  const half = refs.find((r) => r.note === 'total failure: 0.5');
  assert.ok(half && Math.abs(half.y0 - half.y1) < 1, 'a horizontal line at 0.5');
  // The numbers behind the picture: the exported identity sum-rule curve crosses 0.5 within one S step of dφ = 64.
  const series = await exported(page, 'capacity');
  const identity = series.find((s) => s.map === 'identity' && s.rule === 'sum');
  const at = identity.points.findIndex((p) => p.y >= 0.5);
  assert.ok(at > 0 && identity.points[at - 1].y < 0.5);
  assert.ok(Math.abs(identity.points[at].x - 64) <= 20, `crosses 0.5 at S = ${identity.points[at].x}`);
  await page.screenshot({ path: join(SHOTS, 'figures-capacity.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.closeAll();
});

test('approximation: trial bands, a 1/m slope and the uniform-weights baseline, equal to a float64 computation', async () => {
  const { page, problems } = await openPage();
  const [n, d, scale, seed] = [32, 8, 0.75, 2];
  await page.goto(`${lab.base}/web/#view=approximation&n=${n}&d=${d}&scale=${scale}&maxM=64&trials=8&seed=${seed}`);
  await ready(page);
  assertDrawn(await canvases(page, '#view'), 'approximation');
  const canvas = await page.$eval('canvas[data-figure="approximation"]', (c) => ({ ...c.dataset }));
  assert.equal(canvas.bands, '4', 'a band per curve');
  const bands = JSON.parse(canvas.bandProbes);
  for (const band of bands) {
    // The column between the first two m, from the band's top to its bottom edge, is tinted.
    const px = await pixelsAlong(page, 'approximation', band);
    const tinted = px.filter(([, p]) => p.some((v) => v < 235)).length;
    assert.ok(tinted > 0.8 * px.length, `band ${band.label}: ${tinted} of ${px.length} pixels tinted`);
  }
  const refs = JSON.parse(canvas.refs);
  const slope = refs.find((r) => r.note === '∝ 1/m');
  assert.ok(slope && slope.y1 > slope.y0 + 20, 'the 1/m slope falls');
  const baseline = refs.find((r) => r.note.startsWith('uniform 1/n weights'));
  assert.ok(baseline && Math.abs(baseline.y0 - baseline.y1) < 1, 'the baseline is a horizontal line');
  const series = await exported(page, 'approximation');
  const base = series.find((s) => s.baseline !== undefined);
  const scaled = (m) => ({ ...m, data: m.data.map((x) => x * scale) });
  const P = softmaxWeightsRef(scaled(A.randn(n, d, { seed })), scaled(A.randn(n, d, { seed: seed + 1 })));
  let mse = 0, bound = 0;
  for (const p of P) {
    const delta = F32_REL * p + 1e-7 + U / n;
    mse += (1 / n - p) ** 2 / P.length;
    bound += (2 * Math.abs(1 / n - p) * delta + delta * delta) / P.length;
  }
  assert.ok(Math.abs(base.baseline - mse) <= bound && mse > 100 * bound, `baseline ${base.baseline} vs float64 ${mse}`);
  assert.ok(baseline.note.includes(base.baseline.toPrecision(2)), 'the baseline is labelled with its value');
  for (const s of series.filter((x) => x.spread === 'band')) {
    for (const p of s.points) assert.ok(p.lo <= p.y && p.y <= p.hi && p.trials === 8, `${s.label} m = ${p.x}`);
  }
  await page.screenshot({ path: join(SHOTS, 'figures-approximation.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.closeAll();
});

test('masks: causal coverage is measured against the n(n + 1)/2 pairs j ≤ i a causal pattern can reach', async () => {
  const { page, problems } = await openPage();
  const n = 48;
  let reachable = 0;  // float64 count of the pairs j <= i
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) reachable++;
  for (const kind of ['causal', 'sparse-transformer', 'fixed']) {
    await page.goto(`${lab.base}/web/#view=masks&kind=${kind}&n=${n}&stride=6&block=6`);
    await ready(page);
    const text = await page.textContent('#view .stats');
    assert.match(text, /100% of what a causal pattern can reach/, `${kind}: a full causal pattern reads 100% of reachable`);
    assert.doesNotMatch(text, /of pairs/);
    const mask = A.mask(kind, n, { stride: 6, block: 6 });
    const nnz = mask.data.reduce((a, v) => a + (v ? 1 : 0), 0);
    assert.ok(text.includes(`causal: ${(100 * nnz / reachable).toFixed(1)}% of the ${reachable} pairs with j ≤ i`), `${kind}: ${text}`);
    if (kind === 'sparse-transformer') await page.screenshot({ path: join(SHOTS, 'figures-masks-causal.png'), fullPage: true });
  }
  // A non-causal pattern still counts every pair.
  await page.goto(`${lab.base}/web/#view=masks&kind=random&n=${n}&perRow=1`);
  await ready(page);
  assert.match(await page.textContent('#view .stats'), /of pairs\)/);
  assert.deepEqual(problems, []);
  await page.closeAll();
});

/** Rows of unit length (the view's values). */
const unitRows = (m) => {
  const data = Float32Array.from(m.data);
  for (let i = 0; i < m.rows; i++) {
    const row = data.subarray(i * m.cols, (i + 1) * m.cols);
    const norm = Math.hypot(...row) || 1;
    row.forEach((x, j) => { row[j] = x / norm; });
  }
  return { ...m, data };
};

test('fast weights: each step\'s write ΔW beside W equals W_t − W_(t−1) and the rule\'s formula in float64, on a fixed scale', async () => {
  const { page, problems } = await openPage();
  const [T, d, dv, seed, beta, nu] = [12, 4, 6, 7, 0.6, 1];
  await page.goto(`${lab.base}/web/#view=fastweights&T=${T}&fwD=${d}&dv=${dv}&seed=${seed}&beta=${beta}&fwFeature=dpfp&nu=${nu}&normalize=l2&step=6`);
  await ready(page);
  // (A write of sparse DPFP features colours a few columns: the inked-pixel check is for W and the chart.)
  const shown = await canvases(page, '#view');
  assertDrawn(shown.filter((c) => !c.id.startsWith('dW-')), 'fast weights');
  for (const c of shown.filter((x) => x.id.startsWith('dW-'))) assert.ok(c.colours >= 3 && c.ink > 0, `${c.id}: drawn (${c.colours} colours)`);
  const keys = A.randn(T, d, { seed }), values = unitRows(A.randn(T, dv, { seed: seed + 1 }));
  const phi = featureMapRef(keys, { feature: 'dpfp', nu, normalize: 'l2', role: 'key' });
  const dim = phi[0].length;
  const common = { keys, values, feature: 'dpfp', nu, normalize: 'l2', record: 'all' };
  const states = { sum: A.fastWeights({ ...common, rule: 'sum' }).states, delta: A.fastWeights({ ...common, rule: 'delta', beta }).states };
  const W = (rule, t, i, j) => (t === 0 ? 0 : states[rule][(t - 1) * dv * dim + i * dim + j]);
  const scales = [];
  for (const t of [6, 7]) {
    if (t === 7) {
      await page.click('button[aria-label="next step"]');
      await page.waitForFunction(() => document.querySelector('label[for="fw-step"]').textContent.startsWith('t = 7'));
    }
    for (const rule of ['sum', 'delta']) {
      const shown = await exported(page, `dW-${rule}`);
      assert.equal(shown.length, dv);
      assert.equal(shown[0].length, dim);
      for (let i = 0; i < dv; i++) {
        // The formula: sum v φ(k)ᵀ; delta β (v − W_(t−1) φ(k)) φ(k)ᵀ (W_(t−1) from the API's states).
        let read = 0;
        for (let j = 0; j < dim; j++) read += W(rule, t - 1, i, j) * phi[t - 1][j];
        const v = values.data[(t - 1) * dv + i];
        for (let j = 0; j < dim; j++) {
          const diff = W(rule, t, i, j) - W(rule, t - 1, i, j);  // float64 difference of the states
          const scale = Math.abs(W(rule, t, i, j)) + Math.abs(W(rule, t - 1, i, j));
          assert.ok(Math.abs(shown[i][j] - diff) <= U * Math.abs(diff), `${rule} t = ${t} [${i}, ${j}]: ${shown[i][j]} vs W_t − W_(t−1) = ${diff}`);
          const formula = (rule === 'sum' ? v : beta * (v - read)) * phi[t - 1][j];
          assert.ok(Math.abs(shown[i][j] - formula) <= F32_REL * (scale + Math.abs(formula)) + 1e-7,
            `${rule} t = ${t} [${i}, ${j}]: ${shown[i][j]} vs the rule's write ${formula}`);
        }
      }
      const bar = await page.$eval(`canvas[data-figure="dW-${rule}"]`, (c) => {
        const b = c.closest('figure').querySelector('.hm-bar');
        const fig = c.closest('figure');
        return { min: Number(b.dataset.min), max: Number(b.dataset.max), text: fig.textContent };
      });
      assert.ok(bar.max > 0 && bar.min === -bar.max, `${rule}: a diverging scale centred at 0 (${bar.min} … ${bar.max})`);
      assert.match(bar.text, /value component ↓/);
      assert.match(bar.text, /feature φ\(k\)ⱼ →/);
      assert.match(bar.text, new RegExp(`${rule} rule: write of step ${t}`));
      scales.push(bar.max);
    }
  }
  assert.equal(scales[0], scales[2], 'the sum rule\'s write scale stays fixed over the steps');
  assert.equal(scales[1], scales[3], 'so does the delta rule\'s');
  await page.screenshot({ path: join(SHOTS, 'figures-fastweights.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.closeAll();
});

test('embedded figures: a caption for their own figure; unknown attributes and bad values show an error naming the attribute', async () => {
  for (const size of ['wide', 'narrow']) {
    const { page, problems } = await openPage(size);
    const host = join(SHOTS, `figures-host-${size}.html`);
    writeFileSync(host, `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>
      <attn-figure id="bigbird" view="masks" kind="bigbird" n="64" block="8"></attn-figure>
      <attn-figure id="trig" view="matrices" n="32" d="8" feature="favor-trig" features="16"></attn-figure>
      <attn-figure id="typo" view="masks" knd="local" n="32" class="x" data-note="ok" aria-label="a mask"></attn-figure>
      <attn-figure id="value" view="masks" kind="bigbird" n="64" window-blocks="lots"></attn-figure>
      <attn-figure id="view" view="nonsense"></attn-figure>
      <script src="../web/dist/attn-figure.js"></script></body></html>`);
    await page.route(`${lab.base}/test-results/figures-host-${size}.html`, (route) => route.fulfill({ path: host }));
    await page.goto(`${lab.base}/test-results/figures-host-${size}.html`);
    const inside = async (id) => {
      await page.locator(`#${id}`).scrollIntoViewIfNeeded();
      await page.waitForSelector(`#${id}[data-state="ready"]`, { timeout: 60000 });
      return page.$eval(`#${id}`, (el) => {
        const root = el.shadowRoot;
        const problem = root.querySelector('[data-problem]');
        const caption = root.querySelector('.caption');
        return { problem: problem && { text: problem.textContent, visible: problem.getBoundingClientRect().height > 0, part: problem.getAttribute('part') },
          caption: caption?.querySelector('p').textContent, summary: caption?.querySelector('summary').textContent };
      });
    };
    const bigbird = await inside('bigbird');
    assert.match(bigbird.caption, /^BigBird: the sequence in blocks of 8/);
    assert.doesNotMatch(bigbird.caption, /LSH|k-means|Longformer/, 'a BigBird figure speaks of BigBird');
    assert.equal(bigbird.summary, 'About this figure');
    assert.equal(bigbird.problem, null);
    const trig = await inside('trig');
    assert.match(trig.caption, /trigonometric features \(m = 16\)/);
    assert.doesNotMatch(trig.caption, /Linformer|Sinkhorn/);
    const typo = await inside('typo');
    assert.ok(typo.problem?.visible, 'an unknown attribute shows a visible error inside the figure');
    assert.match(typo.problem.text, /attribute knd is not one of <attn-figure>'s \(did you mean kind\?\)/);
    assert.doesNotMatch(typo.problem.text, /class|data-note|aria-label/, 'HTML\'s own attributes are not errors');
    assert.equal(typo.problem.part, 'error', 'styleable as ::part(error)');
    const value = await inside('value');
    assert.ok(value.problem?.visible);
    assert.match(value.problem.text, /window-blocks=lots is not a number/, 'the attribute named as written');
    const view = await inside('view');
    assert.match(view.problem?.text ?? '', /view=nonsense is not one of matrices, masks/);
    await page.locator('#bigbird').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, `figures-element-${size}.png`), fullPage: true });
    assert.deepEqual(problems, []);
    await page.closeAll();
  }
});

test('screenshots of the four figures at 360×740 draw without console errors', async () => {
  const hashes = {
    capacity: 'dKey=32&maxS=200&trials=1&maps=identity,dpfp-1', approximation: 'n=32&d=8&maxM=128&trials=8&scale=0.75',
    masks: 'kind=causal&n=48', fastweights: 'T=16&fwD=4&step=10',
  };
  const { page, problems } = await openPage('narrow');
  for (const [view, hash] of Object.entries(hashes)) {
    await page.goto(`${lab.base}/web/#view=${view}&${hash}`);
    await page.reload();
    await ready(page);
    assertDrawn(await canvases(page, '#view'), `${view} at 360 px`);
    await page.screenshot({ path: join(SHOTS, `figures-${view}-narrow.png`), fullPage: true });
  }
  assert.deepEqual(problems, []);
  await page.closeAll();
});
