// `npm start`: serves the repository over http on localhost and prints the
// lab's URL. Plain Node, no dependencies, so it runs from a fresh clone with
// the committed build. PORT=8000 npm start picks the port (default 8080, or
// the next free one).
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.md': 'text/markdown; charset=utf-8',
};

/** The file under ROOT for a URL path, or null if it escapes ROOT. */
function resolvePath(urlPath) {
  let path;
  try {
    path = normalize(join(ROOT, decodeURIComponent(urlPath.split('?')[0])));
  } catch {
    return null;
  }
  if (path !== ROOT.replace(/[\\/]$/, '') && !path.startsWith(ROOT)) return null;
  if (path.split(sep).includes('.git')) return null;
  return path;
}

/** An http.Server for the repository (not yet listening). */
export function labServer() {
  return createServer((req, res) => {
    if (req.url === '/' || req.url === '') {
      res.writeHead(302, { Location: '/web/' });
      return res.end();
    }
    let path = resolvePath(req.url);
    let stat = null;
    try {
      stat = path && statSync(path);
      if (stat && stat.isDirectory()) {
        path = join(path, 'index.html');
        stat = statSync(path);
      }
    } catch {
      stat = null;
    }
    if (!stat || !stat.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found\n');
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
      'Content-Length': stat.size,
      'Cache-Control': 'no-cache',
    });
    createReadStream(path).pipe(res);
  });
}

/** Listens on 127.0.0.1 from `port` upwards (0: any free port); resolves to the port. */
export function listen(server, port) {
  return new Promise((resolve, reject) => {
    const attempt = (p, triesLeft) => {
      server.once('error', (err) => {
        if (err.code === 'EADDRINUSE' && triesLeft > 0) attempt(p + 1, triesLeft - 1);
        else reject(err);
      });
      server.listen(p, '127.0.0.1', () => resolve(server.address().port));
    };
    attempt(port, port === 0 ? 0 : 20);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = await listen(labServer(), Number(process.env.PORT ?? 8080));
  console.log(`attnlab is served at http://localhost:${port}/web/  (Ctrl-C stops it)`);
}
