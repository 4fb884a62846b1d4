#!/usr/bin/env node
// Benchmark (not a test) of member tools (issue 18), each figure beside its baseline in the same run:
//   (a) tool-call path: a member of an embedded mob (createEmbeddedMob, ScriptedLlmClient answering instantly)
//       calls `echo` of the stdio MCP fixture (fixtures/mcp-tools/stdio-server.mjs, inline `mcp_servers` on the
//       profile). Timed with mob.subscribe from the member's `tool_call_requested` to its
//       `tool_execution_completed` for the same toolCallId: the loop emits the first while the scripted reply
//       streams, and the second only after the result is committed to the member's history, so the window is
//       exactly "model's tool call → result in history" (argument validation against the server's schema, the
//       hub's kept session, the MCP round trip, the journal commit) with no model step inside it. We chose this
//       over "runTurn with a tool minus runTurn without" because that difference subtracts two noisy figures that
//       each hold one or two model steps and history copies, and would not isolate the tool path.
//       Baseline: the same `echo` call made directly with the official SDK (`Client` + `StdioClientTransport`) to
//       a separate instance of the same fixture, in the same process: `await client.callTool(…)`.
//       Interleaved call by call (the order alternates) after a warm-up of each. Target ≤ 1.2× (median).
//   (b) sharing: 50 members of one profile each run one turn calling `echo`, all at once, against a mob of 1
//       member doing the same. Each fixture instance logs its pid to its own MCP_TOOLS_SPAWN_LOG file: the pass
//       criterion is 1 server process in each mob (no process per member). Also printed: the servers' RSS, the
//       wall time per call (a round's wall time ÷ its calls: 50 concurrent turns vs 1 turn; informative, not a
//       target) and the tool-call latency as in (a). Rounds interleaved after a warm-up round of each.
// Every process started here is ended: the mobs and the SDK client are closed, and each logged pid is checked
// to be gone afterwards (a survivor is an error). Imports the built dist (`npx nx run mob-adapter:build`).
// Flags: --calls=N (a: measured calls of each kind), --rounds=N (b), --members=N (b, default 50),
// --quick (fewer calls and rounds), --json (a final `@@bench-json {…}` line for bench/run.mjs).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw === undefined ? fallback : raw;
};
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const CALLS = Number(arg('calls', quick ? '150' : '600'));
const WARMUP = Math.max(30, Math.round(CALLS / 5));
const ROUNDS = Number(arg('rounds', quick ? '5' : '15'));
const MEMBERS = Number(arg('members', '50'));
const RATIO_TARGET = 1.2;
const FIXTURE = join(root, 'fixtures/mcp-tools/stdio-server.mjs');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const round3 = (x) => Number(x.toFixed(3));
const stats = (xs) => ({ medianMs: round3(median(xs)), p95Ms: round3(percentile(xs, 95)), samples: xs.length });
const us = (msValue) => `${Math.round(msValue * 1000).toLocaleString('en-US')} µs`;
const msText = (x) => (x < 1 ? us(x) : `${x.toFixed(2)} ms`);

const { MobDefinition, SpawnMemberSpec, ScriptedLlmClient, createEmbeddedMob } = await import(
  pathToFileURL(join(root, 'packages/mob-adapter/dist/index.js')).href
);
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');

const dir = mkdtempSync(join(tmpdir(), 'mobkit-bench-member-tools-'));

/** A mob definition whose profile `caller` has the fixture inline, logging its spawns to `spawnLog`. */
const definitionFor = (id, spawnLog) =>
  MobDefinition.fromToml(`
[mob]
id = "${id}"
[profiles.caller]
model = "gpt-5.2"
tools = { comms = true, mcp_servers = [{ id = "tools", command = ${JSON.stringify(process.execPath)}, args = [${JSON.stringify(FIXTURE)}], env = { MCP_TOOLS_SPAWN_LOG = ${JSON.stringify(spawnLog)} } }] }
`);

/** The pids a fixture spawn log holds (one line per server process started). */
const spawnedPids = (file) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Waits up to 3 s for every pid to be gone; throws naming the survivors. */
async function assertGone(pids, what) {
  const until = performance.now() + 3000;
  while (pids.some(alive) && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  const left = pids.filter(alive);
  if (left.length > 0) throw new Error(`${what}: server process ${left.join(', ')} still running after close`);
}
/** Resident set size of a process, in MB (Linux /proc; undefined elsewhere). */
const rssMb = (pid) => {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? Number((kb / 1024).toFixed(1)) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * A mob of `members` callers on one ScriptedLlmClient, with the requested → completed latency of every tool
 * call recorded by toolCallId (checked: the result is the echoed text, not an error).
 */
async function openMob(id, members) {
  const spawnLog = join(dir, `${id}.spawns`);
  const llm = new ScriptedLlmClient();
  // Memory bounds past the run's length, so the untimed check below sees every tool result in the history.
  const mob = await createEmbeddedMob(definitionFor(id, spawnLog), { llm, options: { historyMaxMessages: 100_000 } });
  const ids = Array.from({ length: members }, (_, i) => `m-${i}`);
  await mob.spawnMany(ids.map((m) => SpawnMemberSpec.fromWire('caller', m, null)));
  const started = new Map();
  const expected = new Map();
  let latencies = [];
  const failures = [];
  mob.subscribe((e) => {
    if (e.kind !== 'agent') return;
    const ev = e.event;
    if (ev.type === 'tool_call_requested') started.set(ev.toolCallId, performance.now());
    else if (ev.type === 'tool_execution_completed') {
      const t1 = performance.now();
      const t0 = started.get(ev.toolCallId);
      started.delete(ev.toolCallId);
      if (t0 === undefined) failures.push(`${ev.toolCallId}: completed without a request`);
      else if (ev.isError || ev.result !== expected.get(ev.toolCallId))
        failures.push(`${ev.toolCallId}: answered ${JSON.stringify(ev.result)}${ev.isError ? ' (error)' : ''}`);
      else latencies.push(t1 - t0);
      expected.delete(ev.toolCallId);
    }
  });
  let n = 0;
  /** One turn of member `m`: the model calls echo, then answers `done` once the result arrived. */
  const turn = async (m) => {
    const i = ++n;
    const text = `ping ${id} ${i}`;
    const callId = `${id}-call-${i}`;
    expected.set(callId, text);
    llm.script(m, { toolCalls: [{ id: callId, name: 'echo', args: { text } }] }, { text: 'done' });
    const result = await mob.runTurn(m, `call echo ${i}`);
    if (result.text !== 'done' || result.toolCalls !== 1)
      throw new Error(
        `${id}/${m}: turn ${i} ended with ${JSON.stringify(result.text)}, ${result.toolCalls} tool calls`,
      );
  };
  return {
    mob,
    ids,
    spawnLog,
    turn,
    /** The latencies recorded since the last take (ms), after checking no call went wrong. */
    take() {
      if (failures.length > 0) throw new Error(`${id}: tool calls went wrong: ${failures.slice(0, 3).join('; ')}`);
      const out = latencies;
      latencies = [];
      return out;
    },
    async close() {
      await mob.close();
      await assertGone(spawnedPids(spawnLog), `mob ${id}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------- (a)
async function measureToolCall() {
  const mobSide = await openMob('call', 1);
  const sdkLog = join(dir, 'sdk.spawns');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [FIXTURE],
    // The same environment the hub gives a stdio server (the whole parent environment plus the server's env).
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)),
      MCP_TOOLS_SPAWN_LOG: sdkLog,
    },
    stderr: 'inherit',
  });
  const client = new Client({ name: 'bench-member-tools', version: '1.0.0' });
  try {
    await client.connect(transport);
    await client.listTools(); // what the hub does before the first call, so neither side lists inside the window
    let n = 0;
    const sdkCall = async () => {
      const text = `ping sdk ${++n}`;
      const t0 = performance.now();
      const result = await client.callTool({ name: 'echo', arguments: { text } });
      const ms = performance.now() - t0;
      if (result.isError || result.content?.[0]?.text !== text)
        throw new Error(`SDK echo answered ${JSON.stringify(result.content)}`);
      return ms;
    };
    const m = mobSide.ids[0];
    for (let i = 0; i < WARMUP; i++) {
      await mobSide.turn(m);
      await sdkCall();
    }
    mobSide.take();
    const sdk = [];
    for (let i = 0; i < CALLS; i++) {
      if (i % 2 === 0) {
        await mobSide.turn(m);
        sdk.push(await sdkCall());
      } else {
        sdk.push(await sdkCall());
        await mobSide.turn(m);
      }
    }
    const member = mobSide.take();
    if (member.length !== CALLS) throw new Error(`recorded ${member.length}/${CALLS} member tool calls`);
    // Untimed: the results really are in the member's history.
    const results = mobSide.mob.history(m).filter((x) => x.role === 'tool_results');
    if (results.length !== WARMUP + CALLS || results.at(-1).results[0].content !== `ping call ${WARMUP + CALLS}`)
      throw new Error(`the member's history holds ${results.length}/${WARMUP + CALLS} tool results`);
    const spawns = { mob: spawnedPids(mobSide.spawnLog).length, sdk: spawnedPids(sdkLog).length };
    const mobkit = stats(member);
    const baseline = stats(sdk);
    return {
      calls: CALLS,
      warmup: WARMUP,
      mobkit,
      baseline,
      ratio: round3(mobkit.medianMs / baseline.medianMs),
      spawns,
    };
  } finally {
    await client.close();
    await mobSide.close();
    await assertGone(spawnedPids(sdkLog), 'SDK client');
  }
}

// ---------------------------------------------------------------------------------------------- (b)
async function measureSharing() {
  const many = await openMob('many', MEMBERS);
  const one = await openMob('one', 1);
  try {
    const before = { many: spawnedPids(many.spawnLog).length, one: spawnedPids(one.spawnLog).length };
    const roundMany = async () => {
      const t0 = performance.now();
      await Promise.all(many.ids.map((m) => many.turn(m)));
      return (performance.now() - t0) / many.ids.length;
    };
    const roundOne = async () => {
      const t0 = performance.now();
      await one.turn(one.ids[0]);
      return performance.now() - t0;
    };
    await roundMany();
    await roundOne();
    many.take();
    one.take();
    const perCall = { many: [], one: [] };
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        perCall.many.push(await roundMany());
        perCall.one.push(await roundOne());
      } else {
        perCall.one.push(await roundOne());
        perCall.many.push(await roundMany());
      }
    }
    const latency = { many: many.take(), one: one.take() };
    if (latency.many.length !== ROUNDS * MEMBERS || latency.one.length !== ROUNDS)
      throw new Error(
        `recorded ${latency.many.length}/${ROUNDS * MEMBERS} and ${latency.one.length}/${ROUNDS} tool calls`,
      );
    const pids = { many: spawnedPids(many.spawnLog), one: spawnedPids(one.spawnLog) };
    const out = (side) => ({
      spawnsBeforeFirstCall: before[side],
      serverProcesses: pids[side].length,
      serverRssMb: pids[side].map(rssMb),
      perCall: stats(perCall[side]),
      toolCall: stats(latency[side]),
    });
    const result = { members: MEMBERS, rounds: ROUNDS, many: out('many'), one: out('one') };
    result.perCallRatio = round3(result.many.perCall.medianMs / result.one.perCall.medianMs);
    return result;
  } finally {
    await many.close();
    await one.close();
  }
}

// ---------------------------------------------------------------------------------------------- main
const metrics = {};
const errors = [];
for (const [name, measure] of [
  ['toolCall', measureToolCall],
  ['sharing', measureSharing],
]) {
  try {
    metrics[name] = await measure();
  } catch (error) {
    metrics[`${name}Error`] = error.message;
    errors.push(`${name}: ${error.message}`);
    console.error(`${name}: ${error.stack ?? error}`);
  }
}
rmSync(dir, { recursive: true, force: true });

// Rows in bench/run.mjs's shape (scenario, MobKit, baseline, ratio, target, pass, note).
const rows = [];
const a = metrics.toolCall;
if (a)
  rows.push({
    scenario: 'member tool call, stdio MCP echo (requested → result in history)',
    mobkit: `${us(a.mobkit.medianMs)} median, p95 ${us(a.mobkit.p95Ms)}`,
    baseline: `${us(a.baseline.medianMs)} median, p95 ${us(a.baseline.p95Ms)} (SDK Client.callTool, same fixture)`,
    ratio: `${a.ratio.toFixed(2)}×`,
    target: `≤ ${RATIO_TARGET}×`,
    pass: a.ratio <= RATIO_TARGET && a.spawns.mob === 1 && a.spawns.sdk === 1,
    note: `embedded mob, ScriptedLlmClient, inline mcp_servers; mob.subscribe tool_call_requested → tool_execution_completed (emitted after the result's commit); ${a.calls} calls of each, interleaved, after ${a.warmup} warm-up calls each; server processes ${a.spawns.mob} (mob) and ${a.spawns.sdk} (SDK)`,
    numbers: { mobkitMs: a.mobkit.medianMs, baselineMs: a.baseline.medianMs, ratio: a.ratio },
  });
const b = metrics.sharing;
if (b)
  rows.push({
    scenario: `${b.members} members of one profile calling echo at once (server processes)`,
    mobkit: `${b.many.serverProcesses} server process, ${msText(b.many.perCall.medianMs)}/call`,
    baseline: `${b.one.serverProcesses} server process, ${msText(b.one.perCall.medianMs)}/call (1 member)`,
    ratio: `${b.perCallRatio.toFixed(2)}× per call`,
    target: '1 process each',
    pass: b.many.serverProcesses === 1 && b.one.serverProcesses === 1,
    note: `one turn per member per round, ${b.rounds} interleaved rounds after a warm-up round each; per call = round wall time ÷ calls (median; p95 ${msText(b.many.perCall.p95Ms)} vs ${msText(b.one.perCall.p95Ms)}); tool call requested → completed ${msText(b.many.toolCall.medianMs)} vs ${msText(b.one.toolCall.medianMs)} median (p95 ${msText(b.many.toolCall.p95Ms)} vs ${msText(b.one.toolCall.p95Ms)}); server RSS ${b.many.serverRssMb.join(', ')} MB vs ${b.one.serverRssMb.join(', ')} MB; spawned before the first call: ${b.many.spawnsBeforeFirstCall} and ${b.one.spawnsBeforeFirstCall}`,
    numbers: {
      serverProcesses: b.many.serverProcesses,
      baselineServerProcesses: b.one.serverProcesses,
      perCallMs: b.many.perCall.medianMs,
      baselinePerCallMs: b.one.perCall.medianMs,
      ratio: b.perCallRatio,
    },
  });

const headers = ['scenario', 'MobKit', 'baseline (same run)', 'ratio', 'target', 'result'];
const cells = rows.map((r) => [r.scenario, r.mobkit, r.baseline, r.ratio, r.target, r.pass ? 'PASS' : 'MISS']);
for (const e of errors) cells.push([e.split(':')[0], 'not measured', '—', '—', '—', 'MISS']);
const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
console.log(`member tools (${quick ? 'quick' : 'full'} run, node ${process.version})\n`);
console.log(line(headers));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const c of cells) console.log(line(c));
console.log('');
for (const r of rows) console.log(`- ${r.scenario}: ${r.note}`);
for (const e of errors) console.log(`- failed: ${e}`);

if (errors.length > 0) process.exitCode = 1;
const output = {
  node: process.version,
  quick,
  metrics,
  rows,
  ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
};
if (json) console.log(`@@bench-json ${JSON.stringify(output)}`);
