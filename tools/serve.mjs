// `npm start`: serves the lab over http on 127.0.0.1 and prints its URL.
// Plain Node, no dependencies, so it runs from a fresh clone with the
// committed build. PORT=8000 npm start picks the port (default 8080, or the
// next free one; PORT=0 any free port).
//
// It serves only what the lab loads: the web/ tree and the JavaScript under
// wasm/ (the API as ES modules and the classic-script build), `/` redirects
// to /web/. Everything else (package.json, .git, node_modules, dotfiles) is
// 404; a symlink whose real path leaves the root, or is not itself servable,
// is 403; FIFOs, sockets and devices are 404. GET and HEAD only (405
// otherwise), directories redirect to their trailing slash. Every response carries
// `X-Content-Type-Options: nosniff` and a Content-Security-Policy the lab
// runs under. At most `maxOpen` files are open at once; further requests
// wait in a bounded queue (503 when it is full). No error of the file system,
// a stream or a socket stops the process.
import { createServer } from 'node:http';
import { constants, realpathSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { extname, join, relative, isAbsolute, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * What the lab needs and nothing more (checked in Chromium over every view,
 * tests/serve.test.mjs): scripts and workers from this origin only,
 * WebAssembly compilation ('wasm-unsafe-eval'; no JS eval), the core's wasm
 * fetched from its inlined data: URL (Emscripten's SINGLE_FILE build does
 * fetch it), style.css and the style attributes the page sets on legend
 * swatches but no inline <style> elements (style-src-elem; browsers without
 * it fall back to style-src), the favicon `data:,`, no other network, no
 * plugins, no <base>, no forms. Frames are not restricted: embed.html is
 * made to be framed.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "style-src-elem 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

const SECURITY_HEADERS = (csp) => ({
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': csp,
  'Referrer-Policy': 'no-referrer',
});

/**
 * The default rule: is the root-relative path `segments` (no empty, '.' or
 * '..' segments) servable? `dir` is true for a directory.
 * web/ and everything under it; under wasm/ the .js and .mjs files only.
 */
export function labFiles(segments, dir) {
  if (segments.some((s) => s.startsWith('.'))) return false;   // .git, .env, .DS_Store
  if (segments[0] === 'web') return true;
  if (segments[0] === 'wasm') return !dir && segments.length > 1 && /\.m?js$/.test(segments.at(-1));
  return false;
}

const CHUNK = 64 * 1024;
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);  // a FIFO swapped in never blocks open()

/** At most `max` holders at once; up to `maxQueue` waiters, then acquire() gives null. */
class Gate {
  constructor(max, maxQueue) {
    this.max = max;
    this.maxQueue = maxQueue;
    this.held = 0;
    this.queue = [];
  }

  /** Resolves to a release function (idempotent), or to null when the queue is full. */
  acquire() {
    if (this.held < this.max) return Promise.resolve(this.#grant());
    if (this.queue.length >= this.maxQueue) return Promise.resolve(null);
    return new Promise((resolve) => this.queue.push(resolve));
  }

  #grant() {
    this.held++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.held--;
      const next = this.queue.shift();
      if (next) next(this.#grant());
    };
  }
}

/** Requests waiting for a file descriptor to be freed (a file or a connection closing), first come first served. */
class Descriptors {
  waiting = [];

  /** Resolves when a descriptor is freed for this waiter, or after `ms`. */
  freed(ms) {
    return new Promise((resolve) => {
      const wake = () => { clearTimeout(timer); resolve(); };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve();
      }, ms);
      this.waiting.push(wake);
    });
  }

  /** One descriptor was freed: wakes one waiter. */
  free() {
    this.waiting.shift()?.();
  }
}

/**
 * An http.Server for the lab (not yet listening).
 *
 * options:
 *   root      directory served (default: the repository)
 *   allow     (segments, isDirectory) => boolean, the servable paths (default labFiles)
 *   maxOpen   files open at once (default 32)
 *   maxQueue  requests waiting for a file slot before 503 (default 512)
 *   maxConnections  connections at once; more are closed on arrival (default
 *             32: a browser opens at most 6 per host; under a 64-descriptor
 *             limit sockets then leave descriptors for the files)
 *   csp       the Content-Security-Policy header (default CSP)
 *   fs        { realpath, stat, open } (default node:fs/promises); tests
 *             inject failures here
 *   afterStat (realPath) => void|Promise, called between stat and open
 *             (tests change the file there)
 *   log       (message) => void for server-side errors (default console.error,
 *             at most one line per second)
 */
export function createLabServer(options = {}) {
  const {
    root = REPO, allow = labFiles, maxOpen = 32, maxQueue = 512, maxConnections = 32, csp = CSP,
    fs = fsp, afterStat = null, log = rateLimited(console.error),
  } = options;
  const realRoot = realpathSync(root);
  const gate = new Gate(maxOpen, maxQueue);
  const descriptors = new Descriptors();
  const headers = SECURITY_HEADERS(csp);

  const send = (res, status, extra = {}, body = '') => {
    if (res.headersSent) return res.destroy();
    const text = body || `${status} ${STATUS_TEXT[status] ?? ''}\n`;
    res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...extra });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  };

  /**
   * The checked real path of `segments` (symlinks resolved) with its stat, or
   * an HTTP status: 404 when the path is not servable or does not exist, 403
   * when it is a link whose target leaves the root or is not servable itself.
   */
  async function locate(segments) {
    let real, stat;
    try {
      real = await fs.realpath(join(realRoot, ...segments));
      stat = await fs.stat(real);
    } catch (err) {
      return errorStatus(err);
    }
    const dir = stat.isDirectory();
    if (!allow(segments, dir)) return 404;
    const rel = relative(realRoot, real);
    if (rel === '' || isAbsolute(rel) || rel.split(sep)[0] === '..') return 403;  // left the root
    if (!allow(rel.split(sep), dir)) return 403;  // a link to something the lab does not serve
    if (!dir && !stat.isFile()) return 404;  // FIFOs, sockets, devices
    return { real, stat, dir };
  }

  async function handle(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { Allow: 'GET, HEAD' });
    const segments = urlSegments(req.url);
    if (segments === null) return send(res, 400);
    const query = (req.url.match(/\?.*$/s) ?? [''])[0];
    if (segments.length === 0) return send(res, 302, { Location: `/web/${query}` });
    if (segments.some((s) => s === '.' || s === '..')) return send(res, 404);
    if (!allow(segments, true) && !allow(segments, false)) return send(res, 404);

    let found = await locate(segments);
    if (typeof found === 'number') return send(res, found);
    if (found.dir) {
      if (!/\/(\?.*)?$/s.test(req.url)) {
        // Rebuilt from the checked segments: never `//host` (an open redirect).
        return send(res, 301, { Location: `/${segments.map(encodeURIComponent).join('/')}/${query}` });
      }
      found = await locate([...segments, 'index.html']);
      if (typeof found === 'number') return send(res, found);
      if (found.dir) return send(res, 404);
    }
    if (afterStat) await afterStat(found.real);
    await serveFile(req, res, found.real);
  }

  async function serveFile(req, res, real) {
    let closed = false;
    res.once('close', () => { closed = true; });
    const release = await gate.acquire();
    if (release === null) return send(res, 503, { 'Retry-After': '1', Connection: 'close' });
    let file = null;
    try {
      if (closed || res.destroyed) return;  // the client left while queued
      for (let tries = 0; !file; tries++) {
        try {
          file = await fs.open(real, OPEN_FLAGS);
        } catch (err) {
          // Out of descriptors (sockets count too): wait until a file or a connection closes
          // (or 100 ms pass), for at most 2 s, then 503.
          if ((err.code === 'EMFILE' || err.code === 'ENFILE') && tries < 20) {
            await descriptors.freed(100);
            if (closed || res.destroyed) return;
            continue;
          }
          const status = errorStatus(err);
          if (status === 500) log(`serve: open ${req.url}: ${err.code ?? ''} ${err.message}`);
          return send(res, status, status === 503 ? { 'Retry-After': '1', Connection: 'close' } : {});
        }
      }
      const stat = await file.stat();  // of what was opened, not of what was checked
      if (!stat.isFile()) return send(res, 404);
      // A validator, so a revalidation (no-cache) is a 304: a page and its
      // worker loading the same script (<attn-figure>) fetch it once.
      const etag = `"${stat.size.toString(16)}-${Math.trunc(stat.mtimeMs).toString(16)}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { ...headers, ETag: etag, 'Cache-Control': 'no-cache' });
        return res.end();
      }
      res.writeHead(200, {
        ...headers,
        'Content-Type': TYPES[extname(real)] ?? 'application/octet-stream',
        'Content-Length': stat.size,
        'Cache-Control': 'no-cache',
        ETag: etag,
      });
      if (req.method === 'HEAD' || stat.size === 0) return res.end();
      await pipeline(Readable.from(readChunks(file, stat.size)), res);
    } catch (err) {
      if (!closed && !res.headersSent) send(res, errorStatus(err));
      else res.destroy();  // mid-body: the client sees a cut response, never a wrong length
      if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') log(`serve: ${req.url}: ${err.code ?? ''} ${err.message}`);
    } finally {
      if (file) {
        await file.close().catch((err) => log(`serve: close: ${err.message}`));
        descriptors.free();
      }
      release();
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log(`serve: ${req.url}: ${err.stack ?? err}`);
      try { send(res, 500); } catch { res.destroy(); }
    });
  });
  server.on('connection', (socket) => socket.once('close', () => descriptors.free()));
  // Errors of accept() arrive here; without a listener they would end the process.
  server.on('error', (err) => {
    if (server.listening) log(`serve: ${err.syscall ?? ''} ${err.code ?? ''} ${err.message}`);
  });
  server.maxConnections = maxConnections;
  // A client that stops reading frees its file slot after 30 s (its socket is destroyed).
  server.setTimeout(30_000);
  return server;
}

/** createLabServer with the default options (the name the browser tests and bench use). */
export const labServer = (options) => createLabServer(options);

/** Reads `size` bytes of an open file in chunks. */
async function* readChunks(file, size) {
  let position = 0;
  while (position < size) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - position));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) throw Object.assign(new Error('file shrank while being served'), { code: 'ESHRANK' });
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** The decoded, non-empty path segments of a request target, or null if malformed. */
function urlSegments(url) {
  let path = url;
  if (!path.startsWith('/')) {
    try {
      path = new URL(path).pathname;  // absolute-form request target
    } catch {
      return null;
    }
  }
  path = path.replace(/[?#].*$/s, '');
  let decoded;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  return decoded.split(/[\\/]/).filter((s) => s !== '');
}

const STATUS_TEXT = {
  301: 'Moved Permanently', 302: 'Found', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

function errorStatus(err) {
  switch (err?.code) {
    case 'ENOENT': case 'ENOTDIR': return 404;
    case 'EACCES': case 'EPERM': case 'ELOOP': return 403;
    case 'EMFILE': case 'ENFILE': return 503;
    default: return 500;
  }
}

/** `fn`, called at most once per second; later calls in that second are counted. */
function rateLimited(fn) {
  let last = 0, dropped = 0;
  return (message) => {
    const now = Date.now();
    if (now - last < 1000) { dropped++; return; }
    last = now;
    fn(dropped ? `${message} (and ${dropped} more)` : message);
    dropped = 0;
  };
}

/** Listens on 127.0.0.1 from `port` upwards (0: any free port); resolves to the port. */
export function listen(server, port) {
  return new Promise((resolve, reject) => {
    const attempt = (p, triesLeft) => {
      const onError = (err) => {
        if (err.code === 'EADDRINUSE' && triesLeft > 0) attempt(p + 1, triesLeft - 1);
        else reject(err);
      };
      server.once('error', onError);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', onError);
        resolve(server.address().port);
      });
    };
    attempt(port, port === 0 ? 0 : 20);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const raw = process.env.PORT ?? '8080';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    console.error(`serve: PORT must be an integer from 0 to 65535, not "${raw}"`);
    process.exit(1);
  }
  try {
    const bound = await listen(createLabServer(), port);
    console.log(`attnlab is served at http://localhost:${bound}/web/  (Ctrl-C stops it)`);
  } catch (err) {
    console.error(`serve: cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  }
}
