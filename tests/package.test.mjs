// The package as a consumer gets it: `npm pack`, installed offline into a fresh
// project in a temp folder. Every export-map target is in the tarball; the
// README example runs from an ES-module import, from require (the CommonJS
// build), from an esbuild bundle and from a Vite build, with the same bits
// each time and softmax attention matching the float64 reference; tsc
// --strict accepts it with the package's types for import and for require
// (and catches a misspelt option). `attnlab/figure` (tests/figure.test.mjs)
// is checked in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from '../tools/source-hash.mjs';
import { softmaxWeightsRef, outputsExcess, weightsExcess } from './reference.mjs';
import { packAndInstall } from './consumer.mjs';

/** Streaming softmax outputs and weights against float64 (as tests/softmax.test.mjs). */
const SOFTMAX_REL = 2e-5;
/** |maxAbs - max |kernel - softmax|| computed here from the returned matrices (float32 rounding). */
const SUMMARY_ABS = 1e-6;

let dir, packed, files;

before(() => {
  ({ dir, info: packed } = packAndInstall('attnlab-consumer-'));
  files = packed.files.map((f) => f.path).sort();
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The README example ("Use from Node") at n = 16, printing what the test checks.
const EXAMPLE = `
  const A = await createAttn();
  const q = A.randn(16, 8, { seed: 1 });
  const k = A.randn(16, 8, { seed: 2 });
  const v = A.randn(16, 8, { seed: 3 });
  const Y = A.softmaxAttention(q, k, v, { causal: true });
  const Z = A.linearAttention(q, k, v, { feature: 'favor+', features: 128 });
  const E = A.kernelError(q, k, { feature: 'favor+', features: 128 });
  const out = (m) => ({ rows: m.rows, cols: m.cols, data: Array.from(m.data) });
  console.log(JSON.stringify({ version: A.version, q: out(q), k: out(k), v: out(v), Y: out(Y), Z: out(Z),
    kernel: out(E.kernel), softmax: out(E.softmax), maxAbs: E.maxAbs, relFrobenius: E.relFrobenius, meanKL: E.meanKL }));
`;
const ESM = `import { createAttn } from 'attnlab';\n${EXAMPLE}`;
const CJS = `const { createAttn } = require('attnlab');\n(async () => {\n${EXAMPLE}\n})();\n`;

const run = (file) => JSON.parse(execFileSync('node', [file], { cwd: dir }).toString());

/** The example's output checked against the float64 reference and properties of the result. */
function checkExample(out) {
  assert.equal(out.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  const f32 = (m) => ({ ...m, data: Float32Array.from(m.data) });
  const [q, k, v, Y, Z] = [out.q, out.k, out.v, out.Y, out.Z].map(f32);
  assert.deepEqual([Y.rows, Y.cols, Z.rows, Z.cols], [16, 8, 16, 8]);
  const p = softmaxWeightsRef(q, k, { causal: true });
  assert.equal(outputsExcess(Y, p, v, SOFTMAX_REL), 0, 'causal softmax attention matches float64');
  assert.ok(Z.data.every(Number.isFinite), 'linear attention is finite');
  assert.equal(weightsExcess(Float32Array.from(out.softmax.data), softmaxWeightsRef(q, k), SOFTMAX_REL), 0,
    'kernelError compares against the softmax weights');
  let max = 0;
  for (let i = 0; i < out.kernel.data.length; i++) max = Math.max(max, Math.abs(out.kernel.data[i] - out.softmax.data[i]));
  assert.ok(Math.abs(out.maxAbs - max) <= SUMMARY_ABS, `maxAbs ${out.maxAbs} is max |kernel - softmax| ${max}`);
  assert.ok(out.relFrobenius > 0 && Number.isFinite(out.relFrobenius), 'FAVOR+ is an approximation');
  assert.ok(out.meanKL >= 0);
}

/** Every string target of an export map (conditions and subpaths walked). */
function targets(map, found = []) {
  if (typeof map === 'string') found.push(map);
  else for (const value of Object.values(map ?? {})) targets(value, found);
  return found;
}

test('the tarball holds exactly the package files, and every export-map target is among them', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const api = readdirSync(join(ROOT, 'wasm/api')).map((name) => `wasm/api/${name}`);
  const built = readdirSync(join(ROOT, 'wasm/build')).map((name) => `wasm/build/${name}`);
  assert.ok(api.includes('wasm/api/core.js') && built.includes('wasm/build/attnlab.cjs'));
  assert.deepEqual(files, ['LICENSE', 'README.md', 'docs/embedding.md', 'package.json', 'wasm/attn.d.ts', 'wasm/attn.js',
    'wasm/async.js', 'wasm/attn-worker.js', 'web/dist/attn-figure.js', ...api, ...built].sort());
  const all = [...targets(pkg.exports), pkg.main, pkg.types];
  assert.ok(all.length >= 7, `export map targets: ${all.join(', ')}`);
  for (const target of all) {
    assert.match(target, /^\.\//, `${target} is package-relative`);
    assert.ok(files.includes(target.slice(2)), `${target} is in the tarball`);
  }
  // Both conditions of "." carry their own types; the figure and the CommonJS build resolve in the consumer.
  assert.deepEqual(Object.keys(pkg.exports['.']), ['import', 'require']);
  for (const condition of ['import', 'require']) assert.ok(pkg.exports['.'][condition].types, `${condition} has types`);
  const require = createRequire(join(dir, 'index.js'));
  assert.equal(require.resolve('attnlab'), join(dir, 'node_modules/attnlab/wasm/build/attnlab.cjs'));
  assert.equal(require.resolve('attnlab/figure'), join(dir, 'node_modules/attnlab/web/dist/attn-figure.js'));
  assert.throws(() => require.resolve('attnlab/umd'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }, './umd is gone');
});

let esmOut;

test('ES module: import { createAttn } from \'attnlab\' runs the README example', () => {
  writeFileSync(join(dir, 'main.mjs'), ESM);
  esmOut = run('main.mjs');
  checkExample(esmOut);
});

test('CommonJS: require(\'attnlab\') runs the README example with the same bits, and its errors are AttnError', () => {
  writeFileSync(join(dir, 'main.cjs'), CJS);
  const out = run('main.cjs');
  checkExample(out);
  assert.deepEqual(out, esmOut ?? run('main.mjs'), 'the CommonJS build computes what the ES modules compute');
  writeFileSync(join(dir, 'errors.cjs'), `
    const attnlab = require('attnlab');
    (async () => {
      const A = await attnlab.createAttn();
      let error = null;
      try { A.softmaxAttention([[1]], [[1]], [[1]], { casual: true }); } catch (e) { error = e; }
      const W = await attnlab.createAttnWorker();
      const there = await W.randn(2, 3, { seed: 5 });
      W.dispose();
      console.log(JSON.stringify({ isAttnError: error instanceof attnlab.AttnError, code: error && error.code,
        message: error && error.message, worker: Array.from(there.data), here: Array.from(A.randn(2, 3, { seed: 5 }).data),
        exports: Object.keys(attnlab).sort() }));
    })();
  `);
  const e = run('errors.cjs');
  assert.equal(e.isAttnError, true);
  assert.equal(e.code, 'ERR_OPTION');
  assert.match(e.message, /causal/);
  assert.deepEqual(e.worker, e.here, 'createAttnWorker works from the CommonJS build (its worker is wasm/attn-worker.js)');
  assert.ok(['AttnError', 'createAttn', 'createAttnWorker', 'VERSION'].every((name) => e.exports.includes(name)), e.exports.join());
});

/** Runs the package's tsc (typescript is a devDependency) on a project in the consumer folder. */
function tsc(files, extra = {}) {
  const config = join(dir, `tsconfig.${files.join('-').replace(/\W/g, '_')}.json`);
  writeFileSync(config, JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
      lib: ['es2022', 'dom'], types: [], skipLibCheck: false, ...extra },
    files,
  }));
  return spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', config], { cwd: dir, encoding: 'utf8' });
}

test('tsc --strict type-checks the example against the types for import (.ts) and for require (.cts)', () => {
  writeFileSync(join(dir, 'main.ts'), `import { createAttn, AttnError, type Matrix, type KernelError } from 'attnlab';
${EXAMPLE.replace('const out = (m) =>', 'const out = (m: Matrix) =>')}
  const e: KernelError = E;
  if (!(new AttnError('ERR_SHAPE', 'x') instanceof Error)) throw e;
  export {};
`);
  writeFileSync(join(dir, 'main.cts'), `import attnlab = require('attnlab');
async function main(): Promise<number> {
  const A = await attnlab.createAttn();
  const q: attnlab.Matrix = A.randn(4, 2, { seed: 1 });
  const Y = A.softmaxAttention(q, q, q, { causal: true });
  const W = await attnlab.createAttnWorker();
  const Z = await W.randn(1, 1);
  W.dispose();
  return Y.rows + Z.rows;
}
main();
`);
  const good = tsc(['main.ts', 'main.cts']);
  assert.equal(good.status, 0, `tsc: ${good.stdout}${good.stderr}`);
  // The types are really read: a misspelt option is a compile error in both module kinds.
  writeFileSync(join(dir, 'bad.ts'), `import { createAttn } from 'attnlab';
const A = await createAttn();
A.softmaxAttention([[1]], [[1]], [[1]], { casual: true });
export {};
`);
  writeFileSync(join(dir, 'bad.cts'), `import attnlab = require('attnlab');
attnlab.createAttn().then((A) => A.linearAttention([[1]], [[1]], [[1]], { feature: 'favour+' }));
`);
  const bad = tsc(['bad.ts', 'bad.cts']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /bad\.ts.*'casual'/);
  assert.match(bad.stdout, /bad\.cts.*'"favour\+"'/);
});

test('an esbuild bundle of the example runs', async () => {
  const { build } = await import('esbuild');
  writeFileSync(join(dir, 'main.mjs'), ESM);
  await build({ absWorkingDir: dir, entryPoints: ['main.mjs'], bundle: true, platform: 'node', format: 'esm',
    outfile: 'esbuild-out.mjs', logLevel: 'error' });
  const out = run('esbuild-out.mjs');
  checkExample(out);
  assert.deepEqual(out, esmOut ?? run('main.mjs'));
  assert.doesNotMatch(readFileSync(join(dir, 'esbuild-out.mjs'), 'utf8'), /from ['"]attnlab/, 'attnlab is in the bundle');
});

test('a Vite build of the example runs', async (t) => {
  let vite;
  try {
    vite = await import('vite');
  } catch (err) {
    t.skip(`vite is not installed (npm ci installs it as a devDependency): ${err.message}`);
    return;
  }
  writeFileSync(join(dir, 'main.mjs'), ESM);
  await vite.build({
    root: dir, configFile: false, logLevel: 'error',
    build: { outDir: join(dir, 'vite-dist'), emptyOutDir: true, minify: false, target: 'es2022',
      lib: { entry: join(dir, 'main.mjs'), formats: ['es'], fileName: 'vite-out' } },
  });
  const built = readdirSync(join(dir, 'vite-dist')).find((name) => /^vite-out\.m?js$/.test(name));
  assert.ok(built, `vite wrote ${readdirSync(join(dir, 'vite-dist')).join(', ')}`);
  const out = run(join('vite-dist', built));
  checkExample(out);
  assert.deepEqual(out, esmOut ?? run('main.mjs'));
  assert.doesNotMatch(readFileSync(join(dir, 'vite-dist', built), 'utf8'), /from ['"]attnlab/, 'attnlab is in the bundle');
});
