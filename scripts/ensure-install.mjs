#!/usr/bin/env node
// Installs the workspace's dependencies when node_modules is missing or stale, so that
// `npm test` and `npm start` work on a fresh clone with nothing but Node and npm.
// "Stale" means the lockfile or any workspace package.json changed since the last install
// this script made (a hash of them is kept in node_modules/.mobkit-install-stamp).
// It also makes sure node_modules/.bin links every workspace package's bins (`npx mobkit`,
// `npx mobkit-router`, …): npm links a bin only if its file exists at install time, and most of
// ours are built later. scripts/start.mjs links them again after its build.
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

/** Whether `path` is (after symlinks) the file `target`. */
function pointsAt(path, target) {
  try {
    return realpathSync(path) === realpathSync(target);
  } catch {
    return false;
  }
}

/**
 * Links `node_modules/.bin/<name>` to each workspace package's bin file that exists, as npm does at
 * install (a relative symlink; an existing link to another target is replaced). POSIX only: on
 * Windows npm's own .cmd shims are left alone. Returns the names linked or re-linked.
 */
export function linkWorkspaceBins() {
  if (process.platform === 'win32') return [];
  const binDir = join(root, 'node_modules', '.bin');
  const linked = [];
  for (const manifest of manifestFiles()) {
    const dir = dirname(manifest);
    if (dir === root) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    const bins = typeof pkg.bin === 'string' ? { [pkg.name.split('/').pop()]: pkg.bin } : (pkg.bin ?? {});
    for (const [name, file] of Object.entries(bins)) {
      const target = join(dir, file);
      if (!existsSync(target)) continue;
      const link = join(binDir, name);
      let current;
      try {
        current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : undefined;
      } catch {
        current = null; // no link yet
      }
      if (current === undefined) continue; // a real file someone put there: leave it
      if (current !== null && pointsAt(resolve(binDir, current), target)) continue;
      mkdirSync(binDir, { recursive: true });
      if (current !== null) unlinkSync(link);
      symlinkSync(relative(binDir, target), link);
      linked.push(name);
    }
  }
  return linked;
}

function main() {
  const want = fingerprint();
  const have = existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : '';
  if (have !== want || !existsSync(join(root, 'node_modules', '.bin', 'nx'))) {
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
  }
  linkWorkspaceBins();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
