// `npm pack` gives a package that a consumer project installs and imports as
// `import { createAttn } from 'attnlab'`, and whose types and UMD entry exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../tools/source-hash.mjs';

test('a packed tarball installs and works in a consumer project', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attnlab-consumer-'));
  try {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT }));
    const files = packed[0].files.map((f) => f.path).sort();
    const api = readdirSync(join(ROOT, 'wasm/api')).map((name) => `wasm/api/${name}`);
    assert.ok(api.includes('wasm/api/core.js'), 'the API families are in wasm/api/');
    assert.deepEqual(files, ['LICENSE', 'README.md', 'package.json', 'wasm/attn.d.ts',
      'wasm/attn.js', 'wasm/async.js', 'wasm/attn-worker.js', 'wasm/build/attn-core.mjs', 'wasm/build/attnlab.umd.js', 'wasm/build/defaults.js', 'wasm/build/names.js', ...api].sort());
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, packed[0].filename)], { cwd: dir });
    writeFileSync(join(dir, 'main.mjs'), `
      import { createAttn, AttnError } from 'attnlab';
      const A = await createAttn();
      const q = A.randn(3, 4, { seed: 1 });
      const y = A.softmaxAttention(q, q, q, { causal: true });
      let code = null;
      try { A.randn(0, 1); } catch (e) { code = e instanceof AttnError && e.code; }
      console.log(JSON.stringify({ version: A.version, rows: y.rows, first: y.data[0], q0: q.data[0], code }));
    `);
    const out = JSON.parse(execFileSync('node', ['main.mjs'], { cwd: dir }).toString());
    assert.equal(out.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    assert.equal(out.rows, 3);
    assert.equal(out.first, out.q0, 'causal row 0 attends only to itself');
    assert.equal(out.code, 'ERR_SHAPE');
    assert.ok(existsSync(join(dir, 'node_modules/attnlab/wasm/attn.d.ts')));
    const umd = execFileSync('node', ['-e', `
      const vm = require('vm'); const fs = require('fs');
      const ctx = { console }; ctx.globalThis = ctx; vm.createContext(ctx);
      vm.runInContext(fs.readFileSync(require.resolve('attnlab/umd'), 'utf8'), ctx);
      console.log(typeof ctx.attnlab.createAttn);
    `], { cwd: dir }).toString().trim();
    assert.equal(umd, 'function', 'the classic-script build defines attnlab.createAttn');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
