// The JS half of build.sh: stamps the Emscripten output and bundles the ES
// modules into classic scripts, for pages opened from disk (Chromium refuses
// ES modules from file://):
//   <emcc output>                     -> wasm/attn-core.mjs
//   wasm/attn.js + wasm/attn-core.mjs -> wasm/attnlab.umd.js  (window.attnlab)
//   web/src/main.js                   -> web/dist/lab.js
// Each output starts with the source-hash stamp.
//
//   node tools/build-js.mjs path/to/emcc-output.mjs
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, hashFiles, stampLine, workingTreeInputs } from './source-hash.mjs';

const hash = hashFiles(workingTreeInputs());
const stamped = (text) => `${stampLine(hash)}\n${text}`;

const core = process.argv[2];
if (!core) throw new Error('usage: node tools/build-js.mjs path/to/emcc-output.mjs');
writeFileSync(join(ROOT, 'wasm/attn-core.mjs'), stamped(readFileSync(core, 'utf8')));
console.log(`build-js: wasm/attn-core.mjs (sources ${hash})`);
const bundles = [
  { entry: 'wasm/attn.js', out: 'wasm/attnlab.umd.js', globalName: 'attnlab' },
  // The page, the embeddable element and the worker each carry the core and
  // Chart.js, so each works alone, offline and from file://.
  { entry: 'web/src/app.js', out: 'web/dist/lab.js', minify: true },
  { entry: 'web/src/element.js', out: 'web/dist/attn-figure.js', minify: true },
  { entry: 'web/src/worker.js', out: 'web/dist/worker.js', minify: true },
];

for (const { entry, out, globalName, minify = false } of bundles) {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format: 'iife',
    globalName,
    target: 'es2020',
    write: false,
    logLevel: 'error',
    minify,
    loader: { '.css': 'text' },
    // The Emscripten module reads import.meta.url only to find its own
    // directory; with the wasm inlined (SINGLE_FILE) it needs none.
    define: { 'import.meta.url': 'undefined' },
  });
  mkdirSync(dirname(join(ROOT, out)), { recursive: true });
  writeFileSync(join(ROOT, out), stamped(result.outputFiles[0].text));
  console.log(`build-js: ${out}`);
}
