#!/usr/bin/env node
// Measurement (not a test): RSS and heap after a forced GC once one embedded member has taken
// 200 host messages of 500 KB each, with the default history bounds and with them lifted (what the
// member kept before historyMaxBytes existed). Each case runs in a fresh child so RSS is not shared.
// Run after a build: `node packages/mob-adapter/bench/history-memory.mjs` (imports ../dist). Exits 0.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MESSAGES = 200;
const MESSAGE_BYTES = 500 * 1024;
const DEFINITION = `
[mob]
id = "bench"
[profiles.lead]
model = "gpt-5.2"
external_addressable = true
tools = { comms = true }
`;
const MiB = 1024 * 1024;

function settle() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

async function measure(capped) {
  const { MobDefinition, TestClient, createEmbeddedMob } = await import('../dist/index.js');
  const before = settle();
  const options = capped
    ? {}
    : { historyMaxBytes: Number.MAX_SAFE_INTEGER, historyMaxMessages: Number.MAX_SAFE_INTEGER };
  const mob = await createEmbeddedMob(MobDefinition.fromToml(DEFINITION), { llm: new TestClient(), options });
  await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
  for (let i = 0; i < MESSAGES; i++) {
    // a distinct flat string per message (a template over one repeated string would share its chars)
    const text = Buffer.alloc(MESSAGE_BYTES, 'x');
    text.write(`message ${i}:`);
    await mob.sendMessage('lead-1', text.toString('latin1'));
    await mob.waitForIdle(10_000);
  }
  const after = settle();
  const history = mob.history('lead-1');
  const keptBytes = history.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m), 'utf8'), 0);
  const result = {
    capped,
    messagesKept: history.length,
    historyMiB: keptBytes / MiB,
    rssDeltaMiB: (after.rss - before.rss) / MiB,
    heapDeltaMiB: (after.heapUsed - before.heapUsed) / MiB,
    rssAfterMiB: after.rss / MiB,
  };
  await mob.close();
  return result;
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await measure(process.argv[3] === 'capped')));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log(`${MESSAGES} host messages of ${MESSAGE_BYTES / 1024} KB to one member, after a forced GC:`);
  for (const mode of ['capped', 'uncapped']) {
    const out = execFileSync(process.execPath, ['--expose-gc', self, '--child', mode], { encoding: 'utf8' });
    const r = JSON.parse(out);
    const label = mode === 'capped' ? 'default bounds (8 MiB, 1000 msgs)' : 'bounds lifted (before)';
    console.log(
      `  ${label.padEnd(36)} kept ${String(r.messagesKept).padStart(3)} messages, ${r.historyMiB.toFixed(1).padStart(6)} MiB of history; ` +
        `RSS ${r.rssAfterMiB.toFixed(1)} MiB (+${r.rssDeltaMiB.toFixed(1)}), heap +${r.heapDeltaMiB.toFixed(1)} MiB`,
    );
  }
}
