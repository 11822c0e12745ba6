// The dev server (tools/serve.mjs), loopback only: it serves the lab's files
// and nothing else, refuses traversal and symlinks out of the root, answers
// only GET and HEAD, sends nosniff and a CSP the lab runs under (checked in
// Chromium over every view), redirects directories to their slash, bounds
// the files it holds open, and survives failing files and a burst of 150
// requests under a 64-descriptor limit.
//
// Failing files: CI runs as root, for whom chmod 000 changes nothing, so the
// failures are made two ways. Real ones: the file is swapped, between the
// server's stat and its open (the afterStat hook), for a Unix socket (open(2)
// then fails with ENXIO), a FIFO with no writer (must neither hang nor be
// served), a directory, or nothing. Simulated ones, through the injectable
// fs: open() rejecting with EACCES or EIO, and read() failing with EIO after
// the first chunk (the response has started: the client must see it cut).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './chromium.mjs';
import { createLabServer, listen, CSP } from '../tools/serve.mjs';
import { ROOT } from '../tools/source-hash.mjs';
import { VIEWS } from '../web/src/state.js';

const SECRET = 'SECRET-7f3a';          // in every file that must never be served
const PAGE = '<!doctype html><title>lab</title>';
const SCRIPT = 'export const x = 1;\n'.repeat(20000);  // 400 kB: several read chunks

let tmp, root, outside;
const servers = [];

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'attnlab-serve-'));
  root = join(tmp, 'root');
  outside = join(tmp, 'outside');
  const files = {
    'web/index.html': PAGE,
    'web/style.css': 'body { color: black; }\n',
    'web/dist/lab.js': SCRIPT,
    'web/dist/empty.js': '',
    'web/sub/index.html': PAGE,
    'web/.env': SECRET,
    'wasm/attn.js': 'export {};\n',
    'wasm/api/extra.js': 'export {};\n',
    'wasm/attn.d.ts': SECRET,
    'package.json': `{"name": "${SECRET}"}`,
    '.env': SECRET,
    '.git/config': SECRET,
    'node_modules/m/index.js': SECRET,
    'src/attn.h': SECRET,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(join(root, 'web/nodir.js'));             // a directory named like a file, without index.html
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(join(outside, 'secret.js'), SECRET);
  symlinkSync(join(outside, 'secret.txt'), join(root, 'web/abs-leak.txt'));   // absolute, out of the root
  symlinkSync('../../outside/secret.js', join(root, 'web/rel-leak.js'));     // relative, out of the root
  symlinkSync('../../outside', join(root, 'web/outdir'));                    // a directory out of the root
  symlinkSync('../package.json', join(root, 'web/pkg.json'));                // in the root, not servable
  symlinkSync('../wasm/attn.d.ts', join(root, 'wasm/types.js'));             // renamed to pass the rule
  symlinkSync('dist/lab.js', join(root, 'web/alias.js'));                    // inside web/: fine
  symlinkSync('loop', join(root, 'web/loop'));                               // ELOOP
  symlinkSync(join(outside, 'gone'), join(root, 'web/dangling.js'));         // dangling
  execFileSync('mkfifo', [join(root, 'web/fifo.js')]);                       // no writer: open() would block
});

after(() => {
  for (const s of servers) s.closeAllConnections?.(), s.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A lab server on a free loopback port; resolves to its port. */
async function start(options = {}) {
  const server = createLabServer({ root, log: () => {}, ...options });
  servers.push(server);
  return listen(server, 0);
}

/** One request on its own connection: { status, headers, body } or { error } if the connection failed. */
function fetchRaw(port, path, { method = 'GET', timeout = 20000 } = {}) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }));
      res.on('error', (err) => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), complete: false, error: err.code ?? err.message }));
    });
    req.setTimeout(timeout, () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

test('serves web/ and the JavaScript of wasm/, byte for byte, with nosniff and the CSP', async () => {
  const port = await start();
  for (const [path, text, type] of [['/web/index.html', PAGE, /text\/html/], ['/web/', PAGE, /text\/html/],
    ['/web/dist/lab.js', SCRIPT, /text\/javascript/], ['/web/alias.js', SCRIPT, /javascript/],
    ['/web/dist/empty.js', '', /javascript/], ['/wasm/attn.js', 'export {};\n', /javascript/],
    ['/wasm/api/extra.js', 'export {};\n', /javascript/], ['/web/style.css?v=2', 'body { color: black; }\n', /text\/css/]]) {
    const r = await fetchRaw(port, path);
    assert.equal(r.status, 200, path);
    assert.equal(r.body.toString(), text, `${path}: the file's bytes`);
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(text), path);
    assert.match(r.headers['content-type'], type, path);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    assert.equal(r.headers['content-security-policy'], CSP, path);
  }
  const head = await fetchRaw(port, '/web/dist/lab.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers['content-length']), SCRIPT.length);
  assert.equal(head.body.length, 0, 'HEAD sends no body');
});

test('the CSP is restrictive: nothing by default, no JS eval, no inline scripts, no other origin', () => {
  const directives = Object.fromEntries(CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.deepEqual(directives['object-src'], ["'none'"]);
  assert.deepEqual(directives['base-uri'], ["'none'"]);
  assert.deepEqual(directives['script-src'], ["'self'", "'wasm-unsafe-eval'"]);
  for (const [name, sources] of Object.entries(directives)) {
    for (const s of sources) {
      assert.ok(!['*', 'http:', 'https:', "'unsafe-eval'"].includes(s), `${name} allows ${s}`);
      assert.ok(name.startsWith('style-src') || s !== "'unsafe-inline'", `${name} allows ${s}`);
    }
  }
});

test('files outside web/ and wasm/*.js are 404: package.json, .git, node_modules, dotfiles, sources, types', async () => {
  const port = await start();
  for (const path of ['/package.json', '/.env', '/.git/config', '/.git/', '/node_modules/m/index.js', '/src/attn.h',
    '/web/.env', '/wasm/attn.d.ts', '/wasm/', '/wasm', '/tmp', '/web/missing.js', '/web/nodir.js/', '/web/dangling.js']) {
    const r = await fetchRaw(port, path);
    assert.equal(r.status, 404, path);
    assert.ok(!r.body.includes(SECRET), `${path}: nothing leaked`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', `${path}: nosniff on errors too`);
    assert.equal(r.headers['content-security-policy'], CSP, `${path}: CSP on errors too`);
  }
});

test('symlinks whose real path leaves the root, or lands on a file not served, are refused', async () => {
  const port = await start();
  for (const path of ['/web/abs-leak.txt', '/web/rel-leak.js', '/web/outdir/secret.js', '/web/outdir/', '/web/pkg.json', '/wasm/types.js']) {
    const r = await fetchRaw(port, path);
    assert.equal(r.status, 403, path);
    assert.ok(!r.body.includes(SECRET), `${path}: nothing leaked`);
  }
  const loop = await fetchRaw(port, '/web/loop');
  assert.ok([403, 404].includes(loop.status), `a symlink loop: ${loop.status}`);
});

test('traversal variants never reach a file outside what is served', async () => {
  const port = await start();
  const variants = [
    '/web/../package.json', '/web/%2e%2e/package.json', '/web/%2E%2E/%2E%2E/outside/secret.txt', '/web/..%2fpackage.json',
    '/web%2f..%2fpackage.json', '/web/..%5cpackage.json', '/web/..\\package.json', '/web/.%2e/package.json',
    '/web/%252e%252e/package.json', '/..', '/../outside/secret.txt', '/web/./../package.json', '/web/../../outside/secret.txt',
    '/web/dist/../../package.json', '/web//../package.json', '/web/%00/../package.json', '/web/index.html%00.js',
    '/web/%zz', '/web/%c0%ae%c0%ae/package.json', '/%2e%2e/%2e%2e/etc/passwd', '/web/' + '../'.repeat(20) + 'etc/passwd',
    'http://127.0.0.1/../package.json', '/wasm/../package.json', '/wasm/..%2f.git%2fconfig',
  ];
  for (const path of variants) {
    const r = await fetchRaw(port, path);
    assert.ok([400, 403, 404].includes(r.status), `${path}: ${r.status}`);
    assert.ok(!r.body.includes(SECRET) && !r.body.includes('root:'), `${path}: nothing leaked`);
  }
});

test('only GET and HEAD: other methods get 405 with Allow, and change nothing', async () => {
  const port = await start();
  for (const method of ['DELETE', 'POST', 'PUT', 'PATCH', 'OPTIONS', 'PROPFIND']) {
    const r = await fetchRaw(port, '/web/dist/lab.js', { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD', method);
    assert.ok(!r.body.includes('export const x'), `${method}: the file is not served`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', method);
  }
  assert.equal(readFileSync(join(root, 'web/dist/lab.js'), 'utf8'), SCRIPT, 'DELETE/PUT did not touch the file');
});

test('redirects: / to /web/, a directory without its slash to the slash, never to another host', async () => {
  const port = await start();
  for (const [path, status, location] of [['/', 302, '/web/'], ['/web', 301, '/web/'], ['/web?view=masks', 301, '/web/?view=masks'],
    ['/web/sub', 301, '/web/sub/'], ['//web', 301, '/web/'], ['/web//sub', 301, '/web/sub/'], ['/web/nodir.js', 301, '/web/nodir.js/']]) {
    const r = await fetchRaw(port, path);
    assert.equal(r.status, status, path);
    assert.equal(r.headers.location, location, path);
  }
  const sub = await fetchRaw(port, '/web/sub/');
  assert.equal(sub.status, 200);
  assert.equal(sub.body.toString(), PAGE, 'a directory with its slash serves its index.html');
});

test('a FIFO or a socket in the tree is not served and does not hang the server', async () => {
  const port = await start();
  const sock = join(root, 'web/sock.js');
  const unix = createNetServer();
  await new Promise((resolve) => unix.listen(sock, resolve));
  try {
    assert.equal((await fetchRaw(port, '/web/fifo.js')).status, 404);
    assert.equal((await fetchRaw(port, '/web/sock.js')).status, 404);
    assert.equal((await fetchRaw(port, '/web/index.html')).status, 200, 'still serving');
  } finally {
    await new Promise((resolve) => unix.close(resolve));
  }
});

test('a file swapped between stat and open (socket: real ENXIO, FIFO, directory, deleted): an error status, the server lives', async () => {
  const target = join(root, 'web/swap.js');
  let swap = null;
  const logged = [];
  const port = await start({ afterStat: async (real) => { if (real === target && swap) await swap(); }, log: (m) => logged.push(m) });
  const cases = [
    ['socket', 500, async () => {
      unlinkSync(target);
      const unix = createNetServer();
      await new Promise((resolve) => unix.listen(target, resolve));
      return () => new Promise((resolve) => unix.close(resolve));
    }],
    ['FIFO', 404, () => { unlinkSync(target); execFileSync('mkfifo', [target]); }],
    ['directory', 404, () => { unlinkSync(target); mkdirSync(target); return () => rmSync(target, { recursive: true }); }],
    ['deleted', 404, () => { unlinkSync(target); }],
  ];
  for (const [what, status, change] of cases) {
    writeFileSync(target, SECRET);
    let cleanup = null;
    swap = async () => { cleanup = await change(); };
    const r = await fetchRaw(port, '/web/swap.js');
    swap = null;
    await cleanup?.();
    rmSync(target, { force: true, recursive: true });
    assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
    assert.ok(!r.body.includes(SECRET), what);
    assert.equal((await fetchRaw(port, '/web/index.html')).status, 200, `${what}: alive`);
  }
  assert.ok(logged.some((m) => m.includes('ENXIO')), `the real open error is logged: ${logged}`);
});

test('open() failing (EACCES, EIO) gives 403 / 500, a read failing mid-body cuts the response; the server lives', async () => {
  const fail = (code) => Object.assign(new Error(`${code}: simulated`), { code });
  const fs = {
    realpath: fsp.realpath,
    stat: fsp.stat,
    async open(path, flags) {
      if (path.endsWith('eacces.js')) throw fail('EACCES');
      if (path.endsWith('eio.js')) throw fail('EIO');
      const handle = await fsp.open(path, flags);
      if (!path.endsWith('lab.js')) return handle;
      let reads = 0;
      return {  // the real handle, whose second read fails
        stat: () => handle.stat(),
        close: () => handle.close(),
        read: (...args) => (++reads === 2 ? Promise.reject(fail('EIO')) : handle.read(...args)),
      };
    },
  };
  for (const name of ['eacces.js', 'eio.js']) writeFileSync(join(root, 'web', name), SECRET);
  const logged = [];
  const port = await start({ fs, log: (m) => logged.push(m) });
  const denied = await fetchRaw(port, '/web/eacces.js');
  assert.equal(denied.status, 403);
  const broken = await fetchRaw(port, '/web/eio.js');
  assert.equal(broken.status, 500);
  assert.ok(!denied.body.includes(SECRET) && !broken.body.includes(SECRET));
  const cut = await fetchRaw(port, '/web/dist/lab.js');
  if (cut.status !== undefined) {
    assert.equal(cut.status, 200, 'the headers had gone out');
    assert.equal(cut.complete, false, 'the client can tell the body is incomplete');
    assert.ok(cut.body.length < SCRIPT.length, `a cut body (${cut.body.length} of ${SCRIPT.length} bytes)`);
  } else {
    assert.match(cut.error, /ECONNRESET|socket hang up|aborted/);
  }
  assert.ok(logged.some((m) => m.includes('EIO')), 'the read error is logged');
  for (let i = 0; i < 3; i++) assert.equal((await fetchRaw(port, '/web/index.html')).status, 200, 'alive');
});

test('at most maxOpen files are open; maxQueue requests wait; the rest get 503 with Retry-After', async () => {
  let open = 0, maxSeen = 0, release;
  const held = new Promise((resolve) => { release = resolve; });
  const fs = {
    realpath: fsp.realpath,
    stat: fsp.stat,
    async open(path, flags) {
      const handle = await fsp.open(path, flags);
      maxSeen = Math.max(maxSeen, ++open);
      return {
        stat: () => handle.stat(),
        read: async (...args) => { await held; return handle.read(...args); },  // hold every file open
        close: () => { open--; return handle.close(); },
      };
    },
  };
  const port = await start({ fs, maxOpen: 2, maxQueue: 3 });
  const results = [];
  let refused = 0, notify;
  const allRefused = new Promise((resolve) => { notify = resolve; });
  const requests = Array.from({ length: 20 }, () => fetchRaw(port, '/web/dist/lab.js').then((r) => {
    results.push(r);
    if (r.status === 503 && ++refused === 15) notify();
    return r;
  }));
  // 2 files open and 3 requests queued: the other 15 must be answered while the reads are held.
  const timer = setTimeout(notify, 15000);
  await allRefused;
  clearTimeout(timer);
  assert.equal(refused, 15, '15 requests refused while 2 files are held and 3 wait');
  release();
  await Promise.all(requests);
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, 5, `statuses ${statuses}`);
  assert.equal(maxSeen, 2, 'never more than maxOpen files open');
  assert.equal(open, 0, 'every file closed');
  for (const r of results) {
    if (r.status === 200) assert.equal(r.body.toString(), SCRIPT);
    else assert.equal(r.headers['retry-after'], '1');
  }
});

/** `npm start`'s command under `ulimit -n limit`; resolves to { child, port } once it listens. */
function startCli(limit) {
  const child = spawn('bash', ['-c', `ulimit -n ${limit}; exec node tools/serve.mjs`], {
    cwd: ROOT, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/localhost:(\d+)\//);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  return { child, ready, stderr: () => err };
}

test('npm start under `ulimit -n 64` survives 150 concurrent requests and answers after them', async () => {
  const { child, ready, stderr } = startCli(64);
  let exited = null;
  child.once('exit', (code, signal) => { exited = { code, signal }; });
  try {
    const port = await ready;
    const limits = readFileSync(`/proc/${child.pid}/limits`, 'utf8');
    assert.match(limits, /Max open files\s+64\s+64/, 'the server runs with 64 descriptors');
    const lab = readFileSync(join(ROOT, 'web/dist/lab.js'));
    const paths = ['/web/dist/lab.js', '/web/dist/worker.js', '/wasm/attn.js', '/web/', '/package.json'];
    const tally = {};
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(Array.from({ length: 150 }, (_, i) => fetchRaw(port, paths[i % paths.length])));
      for (const [i, r] of results.entries()) {
        const key = r.status ?? r.error;
        tally[key] = (tally[key] ?? 0) + 1;
        if (r.status === 200 && i % paths.length === 0) assert.ok(r.body.equals(lab), 'a 200 carries the whole file');
        if (r.status !== undefined) assert.ok([200, 404, 503].includes(r.status), `status ${r.status}`);
        if (r.status === 404) assert.equal(i % paths.length, 4, 'only package.json is 404');
      }
      assert.equal(exited, null, `alive after round ${round + 1}: ${stderr()}`);
    }
    assert.ok(tally[200] > 0, `some requests served: ${JSON.stringify(tally)}`);
    // After the burst: every kind of request answers normally.
    for (const path of paths) {
      const r = await fetchRaw(port, path);
      assert.equal(r.status, path === '/package.json' ? 404 : 200, path);
    }
    assert.equal(exited, null);
    console.log(`# 2 x 150 concurrent requests under ulimit -n 64: ${JSON.stringify(tally)}`);
  } finally {
    child.kill();
  }
});

test('the lab renders every view over http under the CSP with no violation and a clean console', async () => {
  const port = await start({ root: ROOT });
  const browser = await launchChromium();
  const SMALL = {
    matrices: 'n=48&d=8', masks: 'kind=bigbird&n=64&block=8', fastweights: 'T=20&fwD=6',
    capacity: 'maxS=80&trials=1&maps=identity,dpfp-1', approximation: 'n=32&maxM=32&trials=2', timing: 'maxN=512',
  };
  try {
    const pages = [...VIEWS.map((view) => `/web/#view=${view}&${SMALL[view] ?? ''}`), '/web/embed.html#view=masks&kind=local&n=32'];
    for (const path of pages) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const problems = [];
      page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text()); });
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      await page.addInitScript(() => {
        window.cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));
      });
      const response = await page.goto(`http://127.0.0.1:${port}${path}`);
      assert.equal(response.headers()['content-security-policy'], CSP, `${path}: served under the CSP`);
      await page.waitForSelector('html[data-state="ready"]', { timeout: 60000 });
      const drawn = await page.$$eval('#view canvas', (cs) => cs.filter((c) => c.width > 0 && c.height > 0).length);
      assert.ok(drawn > 0, `${path}: figures drawn`);
      assert.deepEqual(await page.evaluate(() => window.cspViolations), [], `${path}: no CSP violation`);
      assert.deepEqual(problems, [], `${path}: clean console`);
      await context.close();
    }
    // The CSP is enforced, not just sent: an inline script and a string timer
    // (eval from the page's own task; Playwright's evaluate itself is exempt) are refused.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.effectiveDirective));
    });
    await page.goto(`http://127.0.0.1:${port}/web/#view=masks&n=16`);
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true';
      document.head.append(s);
      setTimeout('window.evalRan = true', 0);
      setTimeout(() => { window.afterTimer = true; }, 50);
    });
    await page.waitForFunction(() => window.afterTimer && window.cspViolations.length >= 2);
    assert.deepEqual(await page.evaluate(() => [window.inlineRan, window.evalRan]), [undefined, undefined]);
    assert.deepEqual(await page.evaluate(() => window.cspViolations.sort()), ['script-src', 'script-src-elem']);
    await context.close();
  } finally {
    await browser.close();
  }
});
