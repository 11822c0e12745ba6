// attnlab/figure in a real VitePress site, set up as docs/embedding.md says:
// attn-figure.js copied from the installed package into docs/public/, a head
// <script>, and Vue told that <attn-figure> is a custom element. The built
// site, served over http, shows a drawn figure in headless Chromium (the
// figure's worker is the same script). Building takes about 40 s here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './chromium.mjs';
import { createLabServer, listen } from '../tools/serve.mjs';
import { ROOT } from '../tools/source-hash.mjs';
import { packAndInstall } from './consumer.mjs';

const VITEPRESS = join(ROOT, 'node_modules/.bin/vitepress');
const BUILD_MS = 180_000;
const missing = !existsSync(VITEPRESS) && 'vitepress is not installed (a devDependency: run npm ci)';

let dir;

before(() => {
  if (missing) return;
  ({ dir } = packAndInstall('attnlab-vitepress-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The site's files, as docs/embedding.md shows them.
const CONFIG = `export default {
  title: 'attnlab in VitePress',
  head: [['script', { src: '/attn-figure.js', defer: '' }], ['link', { rel: 'icon', href: 'data:,' }]],
  vue: { template: { compilerOptions: { isCustomElement: (tag) => tag === 'attn-figure' } } },
};
`;
const PAGE = `# Sparse attention

BigBird's mask, live:

<attn-figure id="masks" view="masks" kind="bigbird" n="64" block="8" notext></attn-figure>

<attn-figure id="chart" view="approximation" n="24" max-m="16" trials="1"></attn-figure>
`;

test('<attn-figure> in a VitePress site: the build keeps the element and the page draws it', { skip: missing, timeout: BUILD_MS + 120_000 }, async () => {
  const site = join(dir, 'docs');
  mkdirSync(join(site, '.vitepress'), { recursive: true });
  mkdirSync(join(site, 'public'), { recursive: true });
  copyFileSync(join(dir, 'node_modules/attnlab/web/dist/attn-figure.js'), join(site, 'public/attn-figure.js'));
  writeFileSync(join(site, '.vitepress/config.mjs'), CONFIG);
  writeFileSync(join(site, 'index.md'), PAGE);
  const built = spawnSync(VITEPRESS, ['build', 'docs'], { cwd: dir, encoding: 'utf8', timeout: BUILD_MS });
  assert.equal(built.status, 0, `vitepress build: ${built.stdout}${built.stderr}`);
  const html = readFileSync(join(site, '.vitepress/dist/index.html'), 'utf8');
  assert.match(html, /<attn-figure id="masks" view="masks" kind="bigbird" n="64" block="8" notext>/, 'rendered as a custom element');
  assert.match(html, /<script src="\/attn-figure\.js" defer>/);

  // Served like a static host would (VitePress pages have inline scripts: the lab's CSP is not theirs).
  const server = createLabServer({ root: join(site, '.vitepress/dist'), allow: (segments) => !segments.some((s) => s.startsWith('.')),
    csp: "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; connect-src 'self' data:; style-src 'self' 'unsafe-inline'; img-src 'self' data:" });
  const base = `http://127.0.0.1:${await listen(server, 0)}`;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const problems = [], workers = [];
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('worker', (worker) => workers.push(worker.url()));
    await page.goto(`${base}/index.html`);  // the lab server sends / to /web/
    await page.waitForSelector('#masks[data-state="ready"]', { timeout: 30000 });
    await page.waitForSelector('#chart[data-state="ready"]', { timeout: 60000 });
    const ink = await page.$eval('#chart', (el) => [...el.shadowRoot.querySelectorAll('canvas')].map((c) => {
      const copy = document.createElement('canvas');  // read a copy: the figure's canvas is never read back
      copy.width = c.width;
      copy.height = c.height;
      const ctx = copy.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(c, 0, 0);
      const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240)) n++;
      return n;
    }));
    assert.ok(ink.length > 0 && ink.every((n) => n > 20), `the chart is drawn (${ink} inked pixels)`);
    assert.deepEqual(problems, []);
    assert.deepEqual(workers, [`${base}/attn-figure.js`], 'the worker is the figure script');
  } finally {
    await browser.close();
    server.close();
  }
});
