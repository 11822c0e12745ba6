// Structure the code review asked for (issue 13, item 9), checked on the
// sources: bench/ does not import the page's code, the views keep no state at
// module level, and every named tolerance is used by a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tools/source-hash.mjs';
import * as TOLERANCES from './tolerances.mjs';

const read = (...parts) => readFileSync(join(ROOT, ...parts), 'utf8');
const files = (dir, ext) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(ext));
/** The module specifiers of a file's static imports and re-exports. */
const importsOf = (text) => [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]);

test('bench/ imports no module of web/src (the timing code it shares with the page is in web/lib)', () => {
  const seen = [];
  for (const f of files('bench', '.mjs')) {
    for (const spec of importsOf(read('bench', f))) {
      seen.push(spec);
      assert.doesNotMatch(spec, /web\/src\//, `bench/${f} imports ${spec}`);
    }
  }
  assert.ok(seen.includes('../web/lib/benchsuite.js'), 'bench.mjs uses the shared timing code');
  assert.deepEqual(importsOf(read('web', 'lib', 'benchsuite.js')), [], 'web/lib/benchsuite.js imports nothing');
  assert.ok(importsOf(read('web', 'src', 'jobs.js')).includes('../lib/benchsuite.js'), 'the page uses the same code');
});

test('the views keep no mutable state at module level (state per view instance)', () => {
  for (const f of files('web/src/views', '.js')) {
    const text = read('web', 'src', 'views', f);
    assert.doesNotMatch(text, /^(let|var)\s/m, `web/src/views/${f} declares module-level mutable state`);
  }
});

test('every named tolerance is used by a test file', () => {
  const tests = files('tests', '.test.mjs').map((f) => read('tests', f)).join('\n');
  for (const [name, value] of Object.entries(TOLERANCES)) {
    assert.ok(typeof value === 'number' && value > 0, `${name} is a positive number`);
    if (name === 'U') continue;  // the unit roundoff the others are explained in
    assert.ok(new RegExp(`\\b${name}\\b`).test(tests), `${name} is used by no test`);
  }
});
