#!/usr/bin/env node
// Benchmark (not a test): time and memory to spawn and reconcile N members of an embedded mob with
// TestClient. Each size runs in a fresh child process so RSS is not shared between sizes.
// Run after a build: `node packages/mob-adapter/bench/roster.mjs` (imports ../dist). Exits 0 either way.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TARGET_MS = 1000;
const TARGET_RSS_MB = 200;
const DEFINITION = `
[mob]
id = "bench"
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

async function measure(n) {
  const { MobDefinition, SpawnMemberSpec, TestClient, createEmbeddedMob } = await import('../dist/index.js');
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const mob = await createEmbeddedMob(MobDefinition.fromToml(DEFINITION), { llm: new TestClient() });
  await mob.spawn(SpawnMemberSpec.fromWire('lead', 'lead', null));
  // the seed's spawn spec: every member gets a kickoff message, so every member runs one TestClient turn
  const first = Array.from({ length: n }, (_, i) =>
    SpawnMemberSpec.fromWire('worker', `w-${i}`, `You are w-${i}. Keep responses concise.`),
  );
  await mob.spawnMany(first);
  await mob.waitForIdle(60_000);
  const t1 = performance.now();
  // reconcile: keep the second half, add n/2 new members, retire the first half (and the lead)
  const desired = [
    ...first.slice(n / 2),
    ...Array.from({ length: n / 2 }, (_, i) => SpawnMemberSpec.fromWire('worker', `x-${i}`, `You are x-${i}.`)),
  ];
  const report = await mob.reconcile(desired);
  await mob.waitForIdle(60_000);
  const t2 = performance.now();
  const members = (await mob.listMembers()).length;
  await mob.close();
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  return {
    n,
    spawnMs: t1 - t0,
    reconcileMs: t2 - t1,
    totalMs: t2 - t0,
    peakRssMb,
    rssGrowthMb: (process.memoryUsage().rss - rssBefore) / 1024 / 1024,
    members,
    spawned: report.spawned.length,
    retired: report.retired.length,
  };
}

if (process.argv[2] === '--child') {
  const result = await measure(Number(process.argv[3]));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  // `--quick`: one run per size instead of the median of 3; `--runs=N`: the median of N. `--json`: also print
  // `@@bench-json {…}` at the end.
  const quick = process.argv.includes('--quick');
  const runsArg = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length));
  const reps = Number.isInteger(runsArg) && runsArg > 0 ? runsArg : quick ? 1 : 3;
  const json = process.argv.includes('--json');
  const self = fileURLToPath(import.meta.url);
  const run = (n) =>
    JSON.parse(execFileSync(process.execPath, [self, '--child', String(n)], { encoding: 'utf8' }).trim());
  run(100); // warm the file cache
  const results = [100, 1000].map((n) => {
    const runs = Array.from({ length: reps }, () => run(n));
    runs.sort((a, b) => a.totalMs - b.totalMs);
    return runs[runs.length >> 1]; // median of 3 (or of --runs, or the one run with --quick)
  });
  const [small, big] = results;
  for (const r of results) {
    console.log(
      `n=${String(r.n).padStart(4)}  spawn+kickoff ${r.spawnMs.toFixed(1).padStart(7)} ms  reconcile ${r.reconcileMs.toFixed(1).padStart(7)} ms  total ${r.totalMs.toFixed(1).padStart(7)} ms  peak RSS ${r.peakRssMb.toFixed(1)} MB  (members after reconcile ${r.members}, spawned ${r.spawned}, retired ${r.retired})`,
    );
  }
  console.log(
    `growth 100 -> 1000 (10x members): time x${(big.totalMs / small.totalMs).toFixed(2)}, peak RSS x${(big.peakRssMb / small.peakRssMb).toFixed(2)}`,
  );
  console.log(
    `${big.totalMs < TARGET_MS ? 'PASS' : 'MISS'} time: ${big.totalMs.toFixed(1)} ms to spawn and reconcile 1,000 members (target < ${TARGET_MS} ms)`,
  );
  if (json) console.log(`@@bench-json ${JSON.stringify({ node: process.version, quick, metrics: { small, big } })}`);
  console.log(
    `${big.peakRssMb < TARGET_RSS_MB ? 'PASS' : 'MISS'} memory: ${big.peakRssMb.toFixed(1)} MB peak RSS (target < ${TARGET_RSS_MB} MB)`,
  );
}
