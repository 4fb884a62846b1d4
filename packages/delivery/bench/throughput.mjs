// Resolve+send throughput: in-process (routing → delivery with the memory sink) against the same
// flow through the two MCP executables (mobkit-router, mobkit-delivery) on kept stdio sessions.
// Run after a build: `npm run bench -w @mobkit/delivery` or `node packages/delivery/bench/throughput.mjs`.
// Targets (issue 5): in-process >= 20,000 ops/s; MCP path within 10x of in-process. The durable flow on a
// store (memory, SQLite, PostgreSQL) is bench/durable.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { RoutingService } from '../../routing/dist/index.js';
import { DeliveryService, MemorySink } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const routerBin = here('../../routing/dist/bin/mobkit-router.js');
const deliveryBin = here('../dist/bin/mobkit-delivery.js');
const memoryToml = here('../../../fixtures/delivery/memory.toml');
// `--quick`: shorter measuring windows. `--json`: also print one machine-readable line `@@bench-json {…}` at the end.
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const secs = (s) => (quick ? s / 2 : s);
const REQUEST = { recipient: 'user@example.com', channel: 'transactional', rateLimitPerMinute: 1_000_000_000 };

async function measure(label, seconds, op) {
  // warm-up
  const warmEnd = performance.now() + 300;
  let i = 0;
  while (performance.now() < warmEnd) await op(i++);
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 64; k++) await op(i++, n++);
  }
  const elapsed = (performance.now() - start) / 1000;
  const rate = n / elapsed;
  console.log(
    `${label.padEnd(58)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} ops/s  (${n} ops in ${elapsed.toFixed(2)} s)`,
  );
  return rate;
}

async function measureConcurrent(label, seconds, concurrency, op) {
  let n = 0;
  let i = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await op(i++);
        n++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const rate = n / elapsed;
  console.log(
    `${label.padEnd(58)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} ops/s  (${n} ops in ${elapsed.toFixed(2)} s)`,
  );
  return rate;
}

async function inProcess(ledgerPath) {
  const routing = new RoutingService();
  const memory = new MemorySink();
  const delivery = await DeliveryService.open({
    sinks: { email: memory },
    trusted: routing.trusted,
    ...(ledgerPath ? { ledgerPath } : {}),
  });
  const op = async (i) => {
    const resolution = await routing.resolve(REQUEST);
    await delivery.send({ resolution, payload: { text: 'hello', n: i }, idempotencyKey: `k-${i}` });
    if (memory.messages.length > 10_000) memory.clear();
  };
  return { op, close: () => delivery.close() };
}

function env() {
  const out = { ...process.env, NO_COLOR: '1' };
  delete out.FORCE_COLOR;
  return out;
}

async function connect(bin, args) {
  const client = new Client({ name: 'mobkit-bench', version: '0.0.0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [bin, ...args], env: env(), stderr: 'ignore' }),
  );
  return client;
}

function jsonOf(result) {
  if (result.isError) throw new Error(result.content?.[0]?.text ?? 'tool error');
  return JSON.parse(result.content[0].text);
}

console.log(`node ${process.version}, ${new Date().toISOString()}`);

const mem = await inProcess();
const baseline = await measure('in-process resolve+send (memory sink, no ledger)', secs(3), mem.op);
await mem.close();

let ledgerSequential;
let ledgerConcurrent;
const dir = mkdtempSync(join(tmpdir(), 'mobkit-bench-'));
try {
  const durable = await inProcess(join(dir, 'ledger.jsonl'));
  ledgerSequential = await measure('in-process resolve+send (memory sink, fsynced file ledger)', secs(2), durable.op);
  ledgerConcurrent = await measureConcurrent('  same, 64 in flight (group commit)', secs(2), 64, (i) =>
    durable.op(1e9 + i),
  );
  await durable.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const router = await connect(routerBin, []);
const delivery = await connect(deliveryBin, [memoryToml]);
let mcpSequential;
let mcpPipelined;
try {
  const mcpOp = async (i) => {
    const resolution = jsonOf(
      await router.callTool({
        name: 'routing.resolve',
        arguments: { recipient: 'user@example.com', channel: 'transactional', rate_limit_per_minute: 1_000_000_000 },
      }),
    );
    jsonOf(
      await delivery.callTool({
        name: 'delivery.send',
        arguments: { resolution, payload: { text: 'hello', n: i }, idempotency_key: `k-${i}` },
      }),
    );
  };
  mcpSequential = await measure('MCP modules, kept sessions, one at a time', secs(3), mcpOp);
  mcpPipelined = await measureConcurrent('MCP modules, kept sessions, 64 in flight', secs(3), 64, (i) =>
    mcpOp(1e9 + i),
  );
} finally {
  await router.close();
  await delivery.close();
}

const ratioSeq = baseline / mcpSequential;
const ratioPipe = baseline / mcpPipelined;
console.log('');
console.log(
  `in-process target >= 20,000 ops/s: ${Math.round(baseline).toLocaleString('en-US')} ops/s -> ${baseline >= 20_000 ? 'PASS' : 'MISS'}`,
);
console.log(
  `MCP (one at a time) vs in-process: ${ratioSeq.toFixed(1)}x slower -> ${ratioSeq <= 10 ? 'PASS' : 'MISS'} (target within 10x)`,
);
console.log(
  `MCP (64 in flight)  vs in-process: ${ratioPipe.toFixed(1)}x slower -> ${ratioPipe <= 10 ? 'PASS' : 'MISS'} (target within 10x)`,
);
if (json) {
  const metrics = {
    inProcessOpsPerSec: baseline,
    ledgerSequentialOpsPerSec: ledgerSequential,
    ledgerConcurrentOpsPerSec: ledgerConcurrent,
    mcpSequentialOpsPerSec: mcpSequential,
    mcpPipelinedOpsPerSec: mcpPipelined,
  };
  console.log(`@@bench-json ${JSON.stringify({ node: process.version, quick, metrics })}`);
}
