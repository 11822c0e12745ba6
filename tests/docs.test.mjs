// The documentation users get: the API reference in docs/api/ is what TypeDoc
// makes of wasm/attn.d.ts today, and nothing in the repository links outside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../tools/source-hash.mjs';

/** Every file under dir, as paths relative to dir. */
function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

test('docs/api/ is fresh: TypeDoc of wasm/attn.d.ts gives the committed pages (npm run docs)', () => {
  const out = mkdtempSync(join(tmpdir(), 'attnlab-docs-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typedoc/bin/typedoc'), '--out', out, '--logLevel', 'Error'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const committed = files(join(ROOT, 'docs/api'));
    assert.deepEqual(files(out), committed, 'run `npm run docs` and commit docs/api/');
    for (const path of committed) {
      assert.equal(readFileSync(join(out, path), 'utf8'), readFileSync(join(ROOT, 'docs/api', path), 'utf8'),
        `docs/api/${path} is stale: run \`npm run docs\``);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('no tracked file links to ../shared (users never have it)', () => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT }).toString().split('\n')
    .filter((path) => path && !/^(wasm\/build|web\/dist|package-lock\.json)/.test(path) && path !== 'tests/docs.test.mjs');
  const offenders = tracked.filter((path) => {
    const text = readFileSync(join(ROOT, path), 'latin1');
    return /\.\.\/shared|shared\/(API|MECHANISMS|LESSONS)\.md/.test(text);
  });
  assert.deepEqual(offenders, []);
});
