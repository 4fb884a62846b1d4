#!/usr/bin/env node
// Checks every publishable package as users get it: packs it once with `npm pack` (after a build),
// then runs publint --strict and @arethetypeswrong/cli (profile esm-only: we publish ESM only and
// CommonJS consumers use Node's require(esm)) on the tarball. Exits 1 when any package fails.
// Usage: node scripts/check-packages.mjs [package-dir …]   (default: every non-private packages/*)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The root devDependencies publint and @arethetypeswrong/cli, run through their bins.
const bin = (name) => join(root, 'node_modules', '.bin', name);

const dirs =
  process.argv.length > 2
    ? process.argv.slice(2).map((d) => resolve(d))
    : readdirSync(join(root, 'packages'))
        .map((name) => join(root, 'packages', name))
        .filter((dir) => {
          try {
            return !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private;
          } catch {
            return false;
          }
        });

/** Every file path an `exports` map points at (wildcard targets are left out). */
function exportTargets(exports) {
  if (typeof exports === 'string') return exports.includes('*') ? [] : [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}

const out = mkdtempSync(join(tmpdir(), 'mobkit-pack-'));
const failures = [];
try {
  for (const dir of dirs) {
    const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    const tarball = join(out, packed[0].filename);
    // Every export target, under every condition (`@mobkit/source` included), must be in the tarball.
    const shipped = new Set(packed[0].files.map((f) => f.path));
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const missing = exportTargets(manifest.exports).filter((t) => !shipped.has(t.replace(/^\.\//, '')));
    console.log(`${missing.length === 0 ? 'ok  ' : 'FAIL'} export targets ${name}`);
    if (missing.length > 0) {
      failures.push(`export targets ${name}`);
      console.log(`  not in the tarball: ${missing.join(', ')} (add them to "files")`);
    }
    for (const [tool, args] of [
      ['publint', ['run', tarball, '--strict']],
      ['attw', [tarball, '--profile', 'esm-only', '--format', 'table-flipped']],
    ]) {
      const run = spawnSync(bin(tool), args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      const ok = run.status === 0;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${tool} ${name}`);
      if (!ok) {
        failures.push(`${tool} ${name}`);
        process.stdout.write(`${run.stdout}${run.stderr}\n`);
      }
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`package checks failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log(`package checks passed for ${dirs.length} packages`);
