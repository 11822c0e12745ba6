// createAttnWorker in Chromium: a module Web Worker over http gives the same
// numbers as the page thread, keeps the page's thread free, and aborts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labInChromium } from './chromium.mjs';

const lab = labInChromium();

test('createAttnWorker in a browser: same numbers, free page thread, abort, dispose', async () => {
  const page = await lab.browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  await page.goto(`${lab.base}/web/embed.html`);
  const result = await page.evaluate(async () => {
    const { createAttn } = await import('/wasm/attn.js');
    const { createAttnWorker } = await import('/wasm/async.js');
    const A = await createAttn();
    const W = await createAttnWorker();
    const q = A.randn(2048, 64, { seed: 1 });
    let frames = 0;
    let counting = true;
    const count = () => { frames++; if (counting) setTimeout(count, 0); };
    count();
    const there = await W.softmaxAttention(q, q, q, { causal: true });
    counting = false;
    const here = A.softmaxAttention(q, q, q, { causal: true });
    let same = there.data.length === here.data.length;
    for (let i = 0; same && i < here.data.length; i++) same = there.data[i] === here.data[i];
    const controller = new AbortController();
    const long = W.capacity({ sizes: [600, 600, 600, 600], rule: 'delta', trials: 20, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const aborted = await long.then(() => 'finished', (e) => e.name);
    const after = (await W.randn(1, 2, { seed: 1 })).data.length;
    W.dispose();
    const disposed = await W.randn(1, 1).then(() => 'ok', (e) => e.code);
    return { same, frames, aborted, after, disposed };
  });
  assert.deepEqual(problems, []);
  assert.equal(result.same, true);
  assert.ok(result.frames > 1, `the page thread ran ${result.frames} tasks while the worker computed`);
  assert.equal(result.aborted, 'AbortError');
  assert.equal(result.after, 2);
  assert.equal(result.disposed, 'ERR_DISPOSED');
  await page.close();
});
