// The JS half of build.sh: stamps the Emscripten output, writes the core's
// name lists as a module, and bundles the ES modules into classic scripts for
// pages opened from disk (Chromium refuses ES modules from file://):
//   <emcc output>                          -> wasm/build/attn-core.mjs
//   the core's attn_<list>_name queries    -> wasm/build/names.js
//   the core's attn_default_name/value     -> wasm/build/defaults.js
//   wasm/attn.js and what it imports       -> wasm/build/attnlab.umd.js  (window.attnlab)
//   web/src/app.js, element.js, worker.js  -> web/dist/lab.js, attn-figure.js, worker.js
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
