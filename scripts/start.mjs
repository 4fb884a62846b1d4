#!/usr/bin/env node
// `npm start`: builds the reference app and what it depends on, then runs it in the foreground,
// forwarding Ctrl-C / SIGTERM so it can shut its modules down in order. (`prestart` has already
// installed dependencies when node_modules was missing or stale.)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkWorkspaceBins } from './ensure-install.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const appDir = join(root, 'apps', 'reference-app');
const appManifest = join(appDir, 'package.json');

if (!existsSync(appManifest)) {
  console.error(
    [
      '[mobkit] The reference app (apps/reference-app) is not in this checkout yet: it arrives with issue 9.',
      '[mobkit] Until then there is nothing for `npm start` to run. `npm test` builds and tests every package.',
    ].join('\n'),
  );
  process.exit(1);
}

const app = JSON.parse(readFileSync(appManifest, 'utf8'));
const env = { ...process.env, NX_DAEMON: process.env.NX_DAEMON ?? 'false', NX_NO_CLOUD: 'true' };
const nx = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'nx.cmd' : 'nx');
const build = spawnSync(nx, ['run', `${app.name}:build`, '--output-style=stream-without-prefixes'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error('[mobkit] building the reference app failed; see the output above.');
  process.exit(build.status ?? 1);
}
// The build made the workspace bins (mobkit-router, …): link them so `npx <bin>` works in the clone.
linkWorkspaceBins();

const entry = join(appDir, app.main ?? 'dist/main.js');
// Run in the caller's directory (npm sets INIT_CWD to it), so `npm start -- --config ./my-config`
// resolves the way the person typed it.
const callerDir = process.env.INIT_CWD && existsSync(process.env.INIT_CWD) ? process.env.INIT_CWD : process.cwd();
const child = spawn(process.execPath, [entry, ...process.argv.slice(2)], {
  cwd: callerDir,
  env: process.env,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal === 'SIGINT' ? 130 : 1));
});
