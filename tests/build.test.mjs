// The committed build matches the committed sources: every built file carries
// the hash of the sources it was built from (tools/source-hash.mjs). Checked
// on HEAD's files, so the test means the same before and after `build.sh`
// rewrites the working tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION, createAttn } from '../wasm/attn.js';
import {
  BUILD_INPUTS, BUILD_OUTPUTS, ROOT, committedFiles, hashFiles, readStamp, workingTreeInputs,
} from '../tools/source-hash.mjs';

let inGit = true;
try {
  execFileSync('git', ['rev-parse', '--verify', 'HEAD'], { cwd: ROOT, stdio: 'ignore' });
} catch {
  inGit = false;
}

test('the committed build is fresh against the committed sources', { skip: !inGit && 'not a git checkout with commits' }, () => {
  const want = hashFiles(committedFiles(BUILD_INPUTS));
  const outputs = committedFiles(BUILD_OUTPUTS);
  assert.deepEqual(outputs.map((f) => f.path).sort(), [...BUILD_OUTPUTS].sort(), 'every built file is committed');
  for (const { path, content } of outputs) {
    assert.equal(readStamp(content.toString('utf8', 0, 200)), want,
      `${path} is stale against HEAD's sources: run \`npm run build\` and commit wasm/ and web/dist/`);
  }
});

test('the loaded module was built from the working tree\'s sources', async () => {
  const A = await createAttn();
  assert.equal(A.sourceHash, hashFiles(workingTreeInputs()), 'rebuild with `npm run build`');
});

test('one version: package.json, the core (ATTN_VERSION) and the JS VERSION agree', async () => {
  const A = await createAttn();
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(A.version, version, 'ATTN_VERSION in src/attn.h must equal package.json "version"');
  assert.equal(VERSION, version);
});
