// `attnlab/figure` from the packed package, in headless Chromium (Debian's,
// driven by playwright-core; CHROMIUM_PATH picks another binary). A plain page
// served by tools/serve.mjs (with its CSP) from a consumer project loads
// node_modules/attnlab/web/dist/attn-figure.js with one script tag: the
// figures draw, the worker is that same script, and the script's bytes cross
// the wire once (the worker's request is a 304). With the script on another
// origin (no worker can start) the jobs run on the page thread and the
// figures still draw; so do they from a bundle that imports 'attnlab/figure'
// (a copy without a URL of its own). The bytes a figure page downloads are printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertDrawn, canvases, launchChromium } from './chromium.mjs';
import { createLabServer, listen } from '../tools/serve.mjs';
import { packAndInstall } from './consumer.mjs';

const SCRIPT = 'node_modules/attnlab/web/dist/attn-figure.js';
/** Bytes of a figure page besides the script: the page, headers, a 304. */
const PAGE_OVERHEAD = 16 * 1024;

let dir, browser, server, base;
const requests = [];  // { url, status } as the server answered them
const sockets = new Set();  // every connection, for the bytes the server wrote
const wire = () => [...sockets].reduce((sum, socket) => sum + socket.bytesWritten, 0);

const PAGE = (src) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
  <title>A documentation page</title></head>
  <body><p>Some prose about sparse attention.</p>
  <attn-figure id="masks" view="masks" kind="bigbird" n="64" block="8" notext></attn-figure>
  <attn-figure id="chart" view="approximation" n="24" max-m="16" trials="1"></attn-figure>
  <script src="${src}"></script></body></html>`;

before(async () => {
  ({ dir } = packAndInstall('attnlab-figure-'));
  writeFileSync(join(dir, 'figure.html'), PAGE(SCRIPT));
  // A bundler's copy: `import 'attnlab/figure'` in an app bundled by esbuild.
  writeFileSync(join(dir, 'app.mjs'), "import 'attnlab/figure';\n");
  const { build } = await import('esbuild');
  await build({ absWorkingDir: dir, entryPoints: ['app.mjs'], bundle: true, format: 'esm', outfile: 'app.js', logLevel: 'error' });
  writeFileSync(join(dir, 'bundled.html'), PAGE('app.js').replace('<script ', '<script type="module" '));
  // Only the pages, the packed script and the bundle are served.
  const allow = (segments) => ['figure.html', 'bundled.html', 'app.js', SCRIPT].includes(segments.join('/'));
  server = createLabServer({ root: dir, allow });
  server.on('request', (req, res) => res.on('finish', () => requests.push({ url: req.url, status: res.statusCode })));
  server.on('connection', (socket) => sockets.add(socket));
  base = `http://127.0.0.1:${await listen(server, 0)}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A page that records console errors (CSP reports among them), uncaught errors and started workers. */
async function open() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const problems = [], workers = [];
  page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text()); });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('worker', (worker) => workers.push(worker.url()));
  return { page, problems, workers, close: () => context.close() };
}

test('attnlab/figure renders in a plain page under the dev server\'s CSP, its worker is the same file, fetched once', async () => {
  const { page, problems, workers, close } = await open();
  await page.goto(`${base}/figure.html`);
  await page.waitForSelector('#masks[data-state="ready"]', { timeout: 30000 });
  await page.waitForSelector('#chart[data-state="ready"]', { timeout: 60000 });
  assertDrawn(await canvases(page, '#masks'), 'masks');
  assertDrawn(await canvases(page, '#chart'), 'chart');
  const inWorker = await page.$eval('#chart', (el) => el.runner.workersWork);
  await close();
  assert.deepEqual(problems, [], 'no console errors (CSP included)');
  assert.equal(inWorker, true, 'the chart\'s job ran in a worker');
  assert.deepEqual(workers, [`${base}/${SCRIPT}`], 'the worker is attn-figure.js itself');
  const script = requests.filter((r) => r.url === `/${SCRIPT}`);
  assert.deepEqual(script.map((r) => r.status), [200, 304], 'the worker\'s request is answered by the cache');
  const size = statSync(join(dir, SCRIPT)).size;
  const bytes = wire();
  console.log(`# a figure page downloads ${bytes} bytes (attn-figure.js ${size} bytes, once; requests ${requests.map((r) => `${r.url} ${r.status}`).join(', ')})`);
  assert.ok(bytes > size && bytes < size + PAGE_OVERHEAD, `${bytes} bytes on the wire for a ${size}-byte script`);
});

test('attnlab/figure from another origin: no worker can start, the jobs run on the page and the figures draw', async () => {
  const { page, problems, workers, close } = await open();
  // The host page and the script on two other origins (both fulfilled by Playwright: a docs site and a CDN).
  await page.route('http://docs.example/page.html', (route) => route.fulfill({ contentType: 'text/html', body: PAGE('http://cdn.example/attn-figure.js') }));
  await page.route('http://cdn.example/attn-figure.js', (route) => route.fulfill({ contentType: 'text/javascript', path: join(dir, SCRIPT) }));
  await page.goto('http://docs.example/page.html');
  await page.waitForSelector('#masks[data-state="ready"]', { timeout: 30000 });
  await page.waitForSelector('#chart[data-state="ready"]', { timeout: 60000 });
  assertDrawn(await canvases(page, '#chart'), 'chart on the page thread');
  const inWorker = await page.$eval('#chart', (el) => el.runner.workersWork);
  await close();
  assert.deepEqual(problems, []);
  assert.equal(inWorker, false);
  assert.deepEqual(workers, []);
});

test('import \'attnlab/figure\' in a bundled app defines the element; the jobs run on the page and the figures draw', async () => {
  const { page, problems, workers, close } = await open();
  await page.goto(`${base}/bundled.html`);
  await page.waitForSelector('#masks[data-state="ready"]', { timeout: 30000 });
  await page.waitForSelector('#chart[data-state="ready"]', { timeout: 60000 });
  assertDrawn(await canvases(page, '#chart'), 'chart from a bundle');
  const inWorker = await page.$eval('#chart', (el) => el.runner.workersWork);
  await close();
  assert.deepEqual(problems, []);
  assert.equal(inWorker, false);
  assert.deepEqual(workers, []);
});
