#!/usr/bin/env node
// Installs the workspace's dependencies when node_modules is missing or stale, so that
// `npm test` and `npm start` work on a fresh clone with nothing but Node and npm.
// "Stale" means the lockfile or any workspace package.json changed since the last install
// this script made (a hash of them is kept in node_modules/.mobkit-install-stamp).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampPath = join(root, 'node_modules', '.mobkit-install-stamp');

function manifestFiles() {
  const files = [join(root, 'package.json')];
  if (existsSync(join(root, 'package-lock.json'))) files.push(join(root, 'package-lock.json'));
  for (const group of ['packages', 'apps']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const pkg = join(dir, name, 'package.json');
      if (existsSync(pkg)) files.push(pkg);
    }
  }
  if (existsSync(join(root, 'e2e', 'package.json'))) files.push(join(root, 'e2e', 'package.json'));
  return files;
}

function fingerprint() {
  const hash = createHash('sha256');
  for (const file of manifestFiles()) {
    hash.update(file.slice(root.length));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex');
}

const want = fingerprint();
const have = existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : '';
if (have === want && existsSync(join(root, 'node_modules', '.bin', 'nx'))) {
  process.exit(0);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const args = existsSync(join(root, 'package-lock.json'))
  ? ['ci', '--no-audit', '--no-fund']
  : ['install', '--no-audit', '--no-fund'];
console.log(`[mobkit] installing dependencies (npm ${args[0]}): node_modules is ${have ? 'stale' : 'missing'}`);
try {
  execFileSync(npm, args, { cwd: root, stdio: 'inherit' });
} catch (error) {
  console.error(`[mobkit] npm ${args[0]} failed; fix the error above and run the command again.`);
  process.exit(typeof error?.status === 'number' ? error.status : 1);
}
writeFileSync(stampPath, `${fingerprint()}\n`);
