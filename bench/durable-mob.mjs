#!/usr/bin/env node
// Benchmark (not a test) of the durable embedded mob (issue 17), each figure beside its baseline in the same run:
//   (a) restore: a SQLite store holding a mob of N members (default 1,000: a lead and N-1 workers wired to it)
//       with 20 committed messages each is restored by createEmbeddedMob, against spawning N fresh members
//       into a fresh mob on a fresh SQLite store (the in-memory spawn is printed beside it). Each measurement
//       runs in a fresh child process (cold, like an app start); the store is written once, by a setup child.
//       Targets: restore ≤ 1.5× the fresh spawn, and < 1 s.
//   (b) one turn (runTurn: host message → one model call → answer) against a loopback OpenAI-compatible server
//       (test-utils' startFakeOpenAi, built from its source with esbuild) answering after 10 ms, through the
//       real OpenAI-compatible client: the mob on a SQLite store against the same mob in memory, interleaved
//       turn by turn after a warm-up. Target ≤ 1.1× (median turn).
// Imports the built dist (`npm run build` first). Flags: --members=N, --runs=N (restore/spawn repetitions,
// median), --turns=N, --quick (fewer runs and turns), --json (a final `@@bench-json {…}` line for bench/run.mjs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const self = fileURLToPath(import.meta.url);
const arg = (name, fallback) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw === undefined ? fallback : raw;
};
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const MESSAGES_PER_MEMBER = 20;
const DELAY_MS = 10;
const RESTORE_RATIO_TARGET = 1.5;
const RESTORE_MS_TARGET = 1000;
const TURN_RATIO_TARGET = 1.1;

const DEFINITION = `
[mob]
id = "bench-durable"
orchestrator = "lead"
[profiles.lead]
model = "gpt-5.2"
external_addressable = true
tools = { comms = true }
[profiles.worker]
model = "gpt-5.2"
external_addressable = true
skills = ["work"]
tools = { comms = true }
[wiring]
auto_wire_orchestrator = true
[skills.work]
source = "inline"
content = "You are a worker. Keep responses concise."
`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const round3 = (x) => Number(x.toFixed(3));

async function load() {
  const adapter = await import('@mobkit/mob-adapter');
  const store = await import('@mobkit/store');
  return { ...adapter, openSqliteStore: store.openSqliteStore, createMemoryStore: store.createMemoryStore };
}

const specsFor = (SpawnMemberSpec, n) => [
  SpawnMemberSpec.fromWire('lead', 'lead', null),
  ...Array.from({ length: n - 1 }, (_, i) => SpawnMemberSpec.fromWire('worker', `w-${i}`, null)),
];

// ---------------------------------------------------------------------------------------------- children

/** Writes the store: N members, each given MESSAGES_PER_MEMBER committed messages (host message + answer per run). */
async function setupChild(dbPath, n) {
  const { MobDefinition, SpawnMemberSpec, TestClient, createEmbeddedMob, openSqliteStore } = await load();
  const t0 = performance.now();
  const store = await openSqliteStore({ path: dbPath });
  const mob = await createEmbeddedMob(MobDefinition.fromToml(DEFINITION), { llm: new TestClient(), store });
  await mob.spawnMany(specsFor(SpawnMemberSpec, n));
  const ids = (await mob.listMembers()).map((m) => m.meerkatId);
  for (let run = 0; run < MESSAGES_PER_MEMBER / 2; run++) {
    await Promise.all(ids.map((id) => mob.sendMessage(id, `message ${run} for ${id}`)));
    await mob.waitForIdle(600_000);
  }
  const lengths = ids.map((id) => mob.history(id).length);
  await mob.close();
  await store.close();
  return {
    members: ids.length,
    minHistory: Math.min(...lengths),
    maxHistory: Math.max(...lengths),
    setupMs: performance.now() - t0,
  };
}

/** Times createEmbeddedMob restoring the store, then checks what it restored (untimed). */
async function restoreChild(dbPath, n) {
  const { MobDefinition, TestClient, createEmbeddedMob, openSqliteStore } = await load();
  const definition = MobDefinition.fromToml(DEFINITION);
  const store = await openSqliteStore({ path: dbPath });
  const t0 = performance.now();
  const mob = await createEmbeddedMob(definition, {
    llm: new TestClient(),
    store,
    notifyOrchestratorOnResume: false,
  });
  const ms = performance.now() - t0;
  const members = await mob.listMembers();
  const lengths = members.map((m) => mob.history(m.meerkatId).length);
  const wired = members.find((m) => m.meerkatId === 'lead')?.wiredTo.length ?? 0;
  await mob.close();
  await store.close();
  if (members.length !== n || Math.min(...lengths) !== MESSAGES_PER_MEMBER || wired !== n - 1) {
    throw new Error(
      `the restore is incomplete: ${members.length}/${n} members, histories of ${lengths.length ? `${Math.min(...lengths)}–${Math.max(...lengths)}` : 'no'} messages (expected ${MESSAGES_PER_MEMBER}), lead wired to ${wired}/${n - 1}`,
    );
  }
  return { ms, members: members.length };
}

/** Times a fresh mob spawning N members, on a fresh SQLite store (`sqlite`) or in memory (`memory`). */
async function spawnChild(kind, dbPath, n) {
  const { MobDefinition, SpawnMemberSpec, TestClient, createEmbeddedMob, openSqliteStore } = await load();
  const definition = MobDefinition.fromToml(DEFINITION);
  const specs = specsFor(SpawnMemberSpec, n);
  const store = kind === 'sqlite' ? await openSqliteStore({ path: dbPath }) : undefined;
  const t0 = performance.now();
  const mob = await createEmbeddedMob(definition, { llm: new TestClient(), ...(store ? { store } : {}) });
  await mob.spawnMany(specs);
  const ms = performance.now() - t0;
  const members = (await mob.listMembers()).length;
  await mob.close();
  await store?.close();
  if (members !== n) throw new Error(`the fresh spawn made ${members}/${n} members`);
  return { ms, members };
}

/** The fake OpenAI server of test-utils, built from its TypeScript source into `dir`. */
async function loadFakeOpenAi(dir) {
  const { build } = await import('esbuild');
  const outfile = join(dir, 'fake-openai.mjs');
  await build({
    entryPoints: [join(root, 'packages/test-utils/src/openai.ts')],
    outfile,
    format: 'esm',
    platform: 'node',
    bundle: true,
    logLevel: 'silent',
  });
  return (await import(pathToFileURL(outfile).href)).startFakeOpenAi;
}

/** (b): the same turn, durable on SQLite and in memory, interleaved; the fake answers each call after DELAY_MS. */
async function turnChild(dir, turns) {
  const { MobDefinition, SpawnMemberSpec, OpenAiCompatibleClient, createEmbeddedMob, openSqliteStore } = await load();
  const startFakeOpenAi = await loadFakeOpenAi(dir);
  const fake = await startFakeOpenAi({ delayMs: DELAY_MS, answer: () => ({ text: 'done: one short answer' }) });
  const definition = MobDefinition.fromToml(DEFINITION);
  const llm = () => new OpenAiCompatibleClient({ apiKey: 'bench', baseUrl: fake.url });
  const store = await openSqliteStore({ path: join(dir, 'turn.db') });
  const mobs = {
    sqlite: await createEmbeddedMob(definition, { llm: llm(), store }),
    memory: await createEmbeddedMob(definition, { llm: llm() }),
  };
  for (const mob of Object.values(mobs)) await mob.spawn(SpawnMemberSpec.fromWire('worker', 'w-0', null));
  const times = { sqlite: [], memory: [] };
  const turn = async (kind, i) => {
    const t0 = performance.now();
    const result = await mobs[kind].runTurn('w-0', `question ${i}`);
    const ms = performance.now() - t0;
    if (result.text !== 'done: one short answer') throw new Error(`unexpected answer on ${kind}: ${result.text}`);
    return ms;
  };
  const warmup = Math.max(5, Math.round(turns / 10));
  for (let i = 0; i < warmup; i++) for (const kind of ['sqlite', 'memory']) await turn(kind, i);
  for (let i = 0; i < turns; i++) {
    const order = i % 2 === 0 ? ['sqlite', 'memory'] : ['memory', 'sqlite'];
    for (const kind of order) times[kind].push(await turn(kind, i));
  }
  for (const mob of Object.values(mobs)) await mob.close();
  // Untimed: the durable mob really kept every turn (a restore gives them back), so it is not an in-memory mob.
  const restored = await createEmbeddedMob(definition, { llm: llm(), store, notifyOrchestratorOnResume: false });
  const kept = (await restored.getMember('w-0')) === undefined ? 0 : restored.history('w-0').length;
  await restored.close();
  await store.close();
  if (kept !== 2 * (warmup + turns)) {
    throw new Error(
      `the SQLite store kept ${kept} messages of w-0 after ${warmup + turns} turns (expected ${2 * (warmup + turns)})`,
    );
  }
  const requests = fake.requests.length;
  await fake.close();
  if (requests !== 2 * (warmup + turns))
    throw new Error(`the fake answered ${requests} calls, expected ${2 * (warmup + turns)}`);
  const stats = (xs) => ({
    medianMs: round3(median(xs)),
    p90Ms: round3(percentile(xs, 90)),
    p99Ms: round3(percentile(xs, 99)),
  });
  const sqlite = stats(times.sqlite);
  const memory = stats(times.memory);
  return { turns, warmup, delayMs: DELAY_MS, sqlite, memory, ratio: round3(sqlite.medianMs / memory.medianMs) };
}

// ---------------------------------------------------------------------------------------------- main

const child = arg('child', undefined);
if (child !== undefined) {
  const n = Number(arg('members', '1000'));
  const db = arg('db', '');
  let result;
  if (child === 'setup') result = await setupChild(db, n);
  else if (child === 'restore') result = await restoreChild(db, n);
  else if (child === 'spawn') result = await spawnChild(arg('kind', 'sqlite'), db, n);
  else if (child === 'turn') result = await turnChild(arg('dir', ''), Number(arg('turns', '100')));
  else throw new Error(`unknown --child=${child}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const members = Number(arg('members', '1000'));
  const runs = Number(arg('runs', quick ? '3' : '5'));
  const turns = Number(arg('turns', quick ? '40' : '120'));
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-bench-durable-mob-'));
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  /** Runs a child and returns its JSON line; a failing child throws its own error line (not the command line). */
  const runChild = (args) => {
    try {
      const out = execFileSync(process.execPath, [self, ...args], {
        encoding: 'utf8',
        env,
        maxBuffer: 16 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return JSON.parse(out.trim().split('\n').at(-1));
    } catch (error) {
      const why = String(error.stderr ?? '')
        .split('\n')
        .find((l) => /^\w*Error\b/.test(l));
      throw new Error(`${args[0].slice('--child='.length)} child failed: ${why ?? error.message}`, { cause: error });
    }
  };

  /** (a): the store written once, then restore, fresh SQLite spawn and in-memory spawn, interleaved, each in a fresh process. */
  const measureRestore = () => {
    const db = join(dir, 'restore.db');
    const setup = runChild(['--child=setup', `--db=${db}`, `--members=${members}`]);
    console.log(
      `setup: ${setup.members} members with ${setup.minHistory}–${setup.maxHistory} committed messages each, written in ${(setup.setupMs / 1000).toFixed(1)} s`,
    );
    const restore = [];
    const spawnSqlite = [];
    const spawnMemory = [];
    for (let r = 0; r < runs; r++) {
      const steps = [
        () => restore.push(runChild(['--child=restore', `--db=${db}`, `--members=${members}`]).ms),
        () =>
          spawnSqlite.push(
            runChild(['--child=spawn', '--kind=sqlite', `--db=${join(dir, `fresh-${r}.db`)}`, `--members=${members}`])
              .ms,
          ),
        () => spawnMemory.push(runChild(['--child=spawn', '--kind=memory', `--members=${members}`]).ms),
      ];
      for (let i = 0; i < steps.length; i++) steps[(i + r) % steps.length](); // the order rotates per run
    }
    const restoreMs = median(restore);
    const spawnMs = median(spawnSqlite);
    const ratio = restoreMs / spawnMs;
    console.log(
      `restore ${members} members × ${MESSAGES_PER_MEMBER} messages: ${restoreMs.toFixed(1)} ms (median of ${runs}; ${restore.map((x) => x.toFixed(0)).join(', ')})`,
    );
    console.log(
      `spawn ${members} fresh members: ${spawnMs.toFixed(1)} ms on SQLite, ${median(spawnMemory).toFixed(1)} ms in memory`,
    );
    const pass = ratio <= RESTORE_RATIO_TARGET && restoreMs < RESTORE_MS_TARGET;
    console.log(
      `${pass ? 'PASS' : 'MISS'} restore: ${ratio.toFixed(2)}× the fresh spawn (target ≤ ${RESTORE_RATIO_TARGET}×), ${restoreMs.toFixed(0)} ms (target < ${RESTORE_MS_TARGET} ms)`,
    );
    return {
      members,
      messagesPerMember: MESSAGES_PER_MEMBER,
      runs,
      restoreMs: round3(restoreMs),
      spawnSqliteMs: round3(spawnMs),
      spawnMemoryMs: round3(median(spawnMemory)),
      ratio: round3(ratio),
      perRun: {
        restore: restore.map(round3),
        spawnSqlite: spawnSqlite.map(round3),
        spawnMemory: spawnMemory.map(round3),
      },
    };
  };

  /** (b): the durable turn against the in-memory turn, in one child. */
  const measureTurn = () => {
    const turn = runChild(['--child=turn', `--dir=${dir}`, `--turns=${turns}`]);
    console.log(
      `one turn, the fake answering after ${DELAY_MS} ms: ${turn.sqlite.medianMs.toFixed(2)} ms durable on SQLite (p90 ${turn.sqlite.p90Ms.toFixed(2)}), ${turn.memory.medianMs.toFixed(2)} ms in memory (p90 ${turn.memory.p90Ms.toFixed(2)}); median of ${turn.turns} interleaved turns after ${turn.warmup} warm-up turns each`,
    );
    console.log(
      `${turn.ratio <= TURN_RATIO_TARGET ? 'PASS' : 'MISS'} durable turn: ${turn.ratio.toFixed(3)}× the in-memory turn (target ≤ ${TURN_RATIO_TARGET}×)`,
    );
    return turn;
  };

  // Each part is measured even when the other fails; any failure is the group's error (bench/run.mjs).
  const metrics = {};
  const errors = [];
  for (const [name, measure] of [
    ['restore', measureRestore],
    ['turn', measureTurn],
  ]) {
    try {
      metrics[name] = measure();
    } catch (error) {
      metrics[`${name}Error`] = error.message;
      errors.push(`${name}: ${error.message}`);
      console.error(`${name}: ${error.stack ?? error}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (errors.length > 0) process.exitCode = 1;
  const output = { node: process.version, quick, metrics, ...(errors.length > 0 ? { error: errors.join('; ') } : {}) };
  if (json) console.log(`@@bench-json ${JSON.stringify(output)}`);
}
