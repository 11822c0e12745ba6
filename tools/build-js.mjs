// The JS half of build.sh: stamps the Emscripten output, writes the core's
// name lists as a module, and bundles the ES modules into classic scripts for
// pages opened from disk (Chromium refuses ES modules from file://):
//   <emcc output>                          -> wasm/build/attn-core.mjs
//   the core's attn_<list>_name queries    -> wasm/build/names.js
//   the core's attn_default_name/value     -> wasm/build/defaults.js
//   wasm/attn.js and what it imports       -> wasm/build/attnlab.umd.js  (window.attnlab)
//                                          -> wasm/build/attnlab.cjs     (require('attnlab'))
//   wasm/attn.d.ts                         -> wasm/build/attnlab.d.cts   (its types)
//   web/src/app.js, lab-worker.js          -> web/dist/lab.js, worker.js (the lab page)
//   web/src/element.js                     -> web/dist/attn-figure.js    (page and worker in one)
// Each output starts with the source-hash stamp; wasm/build/ and web/dist/
// hold only generated files.
//
//   node tools/build-js.mjs path/to/emcc-output.mjs
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, hashFiles, stampLine, workingTreeInputs } from './source-hash.mjs';

const hash = hashFiles(workingTreeInputs());
const stamped = (text) => `${stampLine(hash)}\n${text}`;

const core = process.argv[2];
if (!core) throw new Error('usage: node tools/build-js.mjs path/to/emcc-output.mjs');
mkdirSync(join(ROOT, 'wasm/build'), { recursive: true });
writeFileSync(join(ROOT, 'wasm/build/attn-core.mjs'), stamped(readFileSync(core, 'utf8')));
console.log(`build-js: wasm/build/attn-core.mjs (sources ${hash})`);

// The version and the names of the core's enums, read from the module just built, so the JS
// mirrors nothing by hand (createCore checks them against the instance).
const mod = await (await import(pathToFileURL(join(ROOT, 'wasm/build/attn-core.mjs')).href)).default();
const list = (query) => {
  const names = [];
  for (let id = 0, p; (p = mod[`_attn_${query}`](id)) !== 0; id++) names.push(mod.UTF8ToString(p));
  return names;
};
const NAMES = {
  FEATURES: list('feature_name'), NORMALIZE: list('normalize_name'), RULES: list('rule_name'),
  KERNELS: list('kernels_name'), CORE_MASK_KINDS: list('mask_kind_name'), MASK_BIT_NAMES: list('mask_bit_name'),
  FEATURE_USES: list('feature_use_name'), INPUT_KINDS: list('input_kind_name'),
};
writeFileSync(join(ROOT, 'wasm/build/names.js'), stamped([
  "// The core's name lists (the X-macro lists of src/attn.h), each name at its",
  "// enum value; MASK_BIT_NAMES[b] names the bit 1 << b.",
  `export const VERSION = ${JSON.stringify(mod.UTF8ToString(mod._attn_version()))};`,
  ...Object.entries(NAMES).map(([name, values]) => `export const ${name} = Object.freeze(${JSON.stringify(values)});`),
  '',
].join('\n')));
console.log('build-js: wasm/build/names.js');

// The core's named defaults (ATTN_DEFAULT_LIST of src/attn.h), read from the
// same module: the JS API writes no default of its own (createCore checks).
const DEFAULTS = {};
for (let id = 0, p; (p = mod._attn_default_name(id)) !== 0; id++) DEFAULTS[mod.UTF8ToString(p)] = mod._attn_default_value(id);
writeFileSync(join(ROOT, 'wasm/build/defaults.js'), stamped([
  "// The core's named defaults (ATTN_DEFAULT_LIST of src/attn.h), in its order:",
  '// "<function or family>.<option>" -> value (enum defaults hold the enum value).',
  `export const DEFAULTS = Object.freeze(${JSON.stringify(DEFAULTS, null, 2)});`,
  '',
].join('\n')));
console.log('build-js: wasm/build/defaults.js');

const bundles = [
  { entry: 'wasm/attn.js', out: 'wasm/build/attnlab.umd.js', globalName: 'attnlab' },
  // CommonJS for require('attnlab'). It sits in wasm/build/, so import.meta.url
  // (the worker of createAttnWorker is found beside it) becomes wasm/attn.js's
  // URL: createAttnWorker starts the ES-module worker, wasm/attn-worker.js.
  { entry: 'wasm/attn.js', out: 'wasm/build/attnlab.cjs', format: 'cjs', platform: 'node',
    banner: "var __attnlabUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, '..', 'attn.js')).href;",
    define: { 'import.meta.url': '__attnlabUrl' } },
  // The lab page and its worker carry the core and Chart.js each, so the page
  // works alone, offline and from file://.
  { entry: 'web/src/app.js', out: 'web/dist/lab.js', minify: true },
  { entry: 'web/src/lab-worker.js', out: 'web/dist/worker.js', minify: true },
  // The embeddable element is also its own worker: a figure page fetches the core once.
  { entry: 'web/src/element.js', out: 'web/dist/attn-figure.js', minify: true },
];

for (const { entry, out, globalName, minify = false, format = 'iife', platform = 'browser', banner, define } of bundles) {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format,
    platform,
    globalName,
    target: 'es2020',
    write: false,
    logLevel: 'error',
    minify,
    loader: { '.css': 'text' },
    banner: banner ? { js: banner } : undefined,
    // The Emscripten module reads import.meta.url only to find its own
    // directory; with the wasm inlined (SINGLE_FILE) it needs none.
    define: define ?? { 'import.meta.url': 'undefined' },
  });
  mkdirSync(dirname(join(ROOT, out)), { recursive: true });
  writeFileSync(join(ROOT, out), stamped(result.outputFiles[0].text));
  console.log(`build-js: ${out}`);
}

// The types for require('attnlab'): the same declarations, read as CommonJS.
writeFileSync(join(ROOT, 'wasm/build/attnlab.d.cts'), stamped([
  '// The types of wasm/build/attnlab.cjs: a copy of wasm/attn.d.ts.',
  readFileSync(join(ROOT, 'wasm/attn.d.ts'), 'utf8'),
].join('\n')));
console.log('build-js: wasm/build/attnlab.d.cts');
