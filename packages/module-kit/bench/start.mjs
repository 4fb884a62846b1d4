// Start-speed benchmark of MobKit's module executables (not a test). Run after a build:
//   npx nx run @mobkit/routing:build && npx nx run @mobkit/delivery:build && npx nx run @mobkit/scheduling:build
//   node packages/module-kit/bench/start.mjs [--runs N] [--bins <dir>]
// For each bin it measures spawn → `initialize` reply → `tools/list` reply over raw JSON lines (no SDK
// client), against a bare `node -e` that prints one line, in interleaved rounds so load from other
// processes hits both alike. `--bins <dir>` takes mobkit-{router,delivery,scheduling}.js from another
// directory (e.g. a copy of an older build) instead of the packages' dist/bin. Prints ratios; exit 0.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const runs = Number(arg('--runs', '8'));
const binsDir = arg('--bins', undefined);
const env = { ...process.env, NO_COLOR: '1' };
delete env.FORCE_COLOR;

const bin = (pkg, name) =>
  binsDir === undefined ? join(root, 'packages', pkg, 'dist/bin', `${name}.js`) : join(binsDir, `${name}.js`);
const modules = [
  { name: 'mobkit-router', file: bin('routing', 'mobkit-router'), args: [join(root, 'fixtures/routing/routing.toml')] },
  {
    name: 'mobkit-delivery',
    file: bin('delivery', 'mobkit-delivery'),
    args: [join(root, 'fixtures/delivery/memory.toml')],
  },
  {
    name: 'mobkit-scheduling',
    file: bin('scheduling', 'mobkit-scheduling'),
    args: [join(root, 'fixtures/scheduling/module.toml')],
  },
];
const BARE = "process.stdout.write('ready\\n');process.stdin.resume()";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** ms from spawn to the bare script's first stdout line. */
function bareSpawn() {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', BARE], { stdio: ['pipe', 'pipe', 'ignore'], env });
    createInterface({ input: child.stdout }).once('line', () => {
      const ms = performance.now() - t0;
      child.kill('SIGKILL');
      child.once('exit', () => done(ms));
    });
    child.once('error', fail);
  });
}

/** ms from spawn to the `initialize` reply and to the `tools/list` reply of one module bin. */
function handshake({ file, args }) {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [file, ...args], { stdio: ['pipe', 'pipe', 'ignore'], env });
    const send = (msg) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    let initializedMs = 0;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.id === 1) {
        initializedMs = performance.now() - t0;
        send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
      } else if (msg.id === 2) {
        if (!Array.isArray(msg.result?.tools) || msg.result.tools.length === 0) fail(new Error(`${file}: no tools`));
        const readyMs = performance.now() - t0;
        child.kill('SIGKILL');
        child.once('exit', () => done({ initializedMs, readyMs }));
      }
    });
    child.once('exit', (code) => {
      if (initializedMs === 0) fail(new Error(`${file} exited (${code}) before its initialize reply`));
    });
    child.once('error', fail);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } },
    });
  });
}

const times = { bare: [], ...Object.fromEntries(modules.map((m) => [m.name, { init: [], ready: [] }])) };
await bareSpawn(); // warm the file cache
for (const m of modules) await handshake(m);
for (let i = 0; i < runs; i += 1) {
  times.bare.push(await bareSpawn());
  for (const m of modules) {
    const { initializedMs, readyMs } = await handshake(m);
    times[m.name].init.push(initializedMs);
    times[m.name].ready.push(readyMs);
  }
}
const bare = median(times.bare);
console.log(`runs: ${runs}; baseline: bare \`node -e\` to its first line, median ${bare.toFixed(1)} ms`);
let sum = 0;
for (const m of modules) {
  const init = median(times[m.name].init);
  const ready = median(times[m.name].ready);
  sum += ready;
  const kb = (statSync(m.file).size / 1024).toFixed(0);
  console.log(
    `${m.name.padEnd(18)} ${kb.padStart(5)} KB  initialize ${(init / bare).toFixed(2)}×  tools/list ${(ready / bare).toFixed(2)}×  (${ready.toFixed(1)} ms)`,
  );
}
console.log(`all three, one after another: ${(sum / (3 * bare)).toFixed(2)}× three bare spawns`);
