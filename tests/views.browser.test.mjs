// Two Fast weights views on one page in Chromium keep their own state: the
// player of one advances that one only, and the other's play button stays up
// (the view keeps its cache, timer and step per container, none per module).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labInChromium } from './chromium.mjs';

const lab = labInChromium();

test('fast weights: two views on one page have their own player', async () => {
  const page = await lab.browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  // Two <attn-figure> elements showing the Fast weights view, each its own view instance.
  const figure = (id) => `<attn-figure id="${id}" view="fastweights" t="8" fwd="4" step="1" notext></attn-figure>`;
  await page.route(`${lab.base}/web/two-figures.html`, (route) => route.fulfill({ contentType: 'text/html', body:
    `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>
    ${figure('one')}${figure('two')}<script src="dist/attn-figure.js"></script></body></html>` }));
  await page.goto(`${lab.base}/web/two-figures.html`);
  await page.waitForSelector('#one[data-state="ready"]', { timeout: 30000 });
  await page.waitForSelector('#two[data-state="ready"]', { timeout: 30000 });
  const label = (id) => page.locator(`#${id} label[for="fw-step"]`).textContent();
  const pressed = (id) => page.locator(`#${id} #fw-play`).getAttribute('aria-pressed');
  assert.deepEqual([await label('one'), await label('two')], ['t = 1 of 8 ', 't = 1 of 8 ']);
  await page.locator('#one #fw-play').click();
  await page.waitForFunction(() => /t = [3-8] of 8/.test(
    document.querySelector('#one').shadowRoot.querySelector('label[for="fw-step"]').textContent), null, { timeout: 10000 });
  assert.equal(await label('two'), 't = 1 of 8 ', 'the other figure did not move');
  assert.equal(await pressed('one'), 'true');
  await page.locator('#two button[aria-label="next step"]').click();  // re-renders the second figure
  await page.waitForFunction(() => /t = 2 of 8/.test(
    document.querySelector('#two').shadowRoot.querySelector('label[for="fw-step"]').textContent), null, { timeout: 10000 });
  assert.equal(await pressed('two'), 'false', 'the second figure is not playing');
  assert.equal(await pressed('one'), 'true', 'the first one still is');
  assert.deepEqual(problems, []);
  await page.close();
});
