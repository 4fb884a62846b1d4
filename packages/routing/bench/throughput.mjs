// Resolve throughput: in-process RoutingService.resolve against routing.resolve on a kept stdio
// session of the mobkit-router MCP module. Run after a build: `node packages/routing/bench/throughput.mjs`.
// The combined resolve+send targets are measured by packages/delivery/bench/throughput.mjs;
// this one isolates routing. Target here: MCP path within 10x of in-process (reported, not enforced).
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { RoutingService } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

async function measure(label, seconds, concurrency, op) {
  let n = 0;
  let i = 0;
  const warm = performance.now() + 300;
  while (performance.now() < warm) await op(i++);
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
  const rate = n / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(48)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} ops/s`);
  return rate;
}

console.log(`node ${process.version}, ${new Date().toISOString()}`);
const routing = new RoutingService({
  routes: [{ routeKey: 'any', recipient: '*', channel: '*', sink: 'memory', targetModule: 'delivery' }],
});
const baseline = await measure('in-process resolve', 2, 1, () => routing.resolve({ recipient: 'user@example.com' }));

const env = { ...process.env, NO_COLOR: '1' };
delete env.FORCE_COLOR;
const client = new Client({ name: 'routing-bench', version: '0.0.0' });
await client.connect(
  new StdioClientTransport({
    command: process.execPath,
    args: [here('../dist/bin/mobkit-router.js'), here('../../../fixtures/routing/routing.toml')],
    env,
    stderr: 'ignore',
  }),
);
let seq;
let piped;
try {
  const op = async () => {
    const result = await client.callTool({ name: 'routing.resolve', arguments: { recipient: 'user@example.com' } });
    if (result.isError) throw new Error(JSON.stringify(result.content));
  };
  seq = await measure('mobkit-router over MCP, one at a time', 2, 1, op);
  piped = await measure('mobkit-router over MCP, 64 in flight', 2, 64, op);
} finally {
  await client.close();
}
console.log('');
console.log(
  `MCP one at a time: ${(baseline / seq).toFixed(0)}x slower than in-process -> ${baseline / seq <= 10 ? 'PASS' : 'MISS'} (target within 10x)`,
);
console.log(
  `MCP 64 in flight:  ${(baseline / piped).toFixed(0)}x slower than in-process -> ${baseline / piped <= 10 ? 'PASS' : 'MISS'} (target within 10x)`,
);
