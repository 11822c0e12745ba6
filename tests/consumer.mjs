// A consumer project for the package tests: the repository packed with
// `npm pack` and the tarball installed offline into a fresh temp folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../tools/source-hash.mjs';

/** Packs the repository and installs the tarball, offline, into a new project. */
export function packAndInstall(prefix) {
  const where = mkdtempSync(join(tmpdir(), prefix));
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', where], { cwd: ROOT }));
  writeFileSync(join(where, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(where, info.filename)], { cwd: where });
  return { dir: where, info };
}

