// Benchmark for @mobkit/scheduling (not a test). Run after a build:
//   node packages/scheduling/bench/evaluate.mjs        (or: npm run bench -w @mobkit/scheduling)
// Measures: evaluating 10,000 schedules at one tick (target < 50 ms), growth 1,000 → 10,000, and the live
// scheduler's fire lateness over 100 real fires (target: every fire within 1 s), each against a baseline
// measured in the same run. Exits 0 either way.
import { performance } from 'node:perf_hooks';
import { Scheduler, compileSchedules, evaluateSchedulesAtTick } from '../dist/index.js';

const INTERVALS = [
  '*/1m',
  '*/5m',
  '*/15m',
  '*/1h',
  '*/30s',
  '*/1d',
  '*/2h',
  '*/10m',
  '* * * * *',
  '*/5 * * * *',
  '0 9 * * 1-5',
  '30 2 * * *',
  '0 */2 * * *',
  '15,45 8-18 * * *',
  '0 0 1 * *',
  '0 0 29 2 *',
  '0 12 * * 0,6',
  '*/10 9-17 * * mon-fri',
  '0 0 13 * 5',
  '5 4 * * 7',
];
const ZONES = [
  'UTC',
  'Z',
  'UTC+01:00',
  'GMT-0530',
  '+02:00',
  'Europe/Stockholm',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Sydney',
  'Europe/London',
];

function makeSchedules(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({
      scheduleId: `schedule-${i}`,
      interval: INTERVALS[i % INTERVALS.length],
      timezone: ZONES[(i * 7) % ZONES.length],
      jitterMs: i % 3 === 0 ? 0 : (i % 50) * 1000,
      enabled: i % 17 !== 0,
    });
  }
  return out;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const fmt = (ms) => `${ms.toFixed(2)} ms`;
const verdict = (ok) => (ok ? 'PASS' : 'MISS');

const tick = Date.parse('2026-03-29T01:00:00Z'); // a DST night in Europe: the slow path of IANA zones
console.log('@mobkit/scheduling benchmark (Node %s)', process.version);

// 1. Cold: first evaluation of 10,000 fresh schedule objects (interval and zone caches empty).
const ten = makeSchedules(10_000);
const t0 = performance.now();
evaluateSchedulesAtTick(ten, tick);
const cold = performance.now() - t0;

// 2. Warm: plain definition objects (validated on every call, caches warm) and pre-compiled ones.
//    1,000 and 10,000 runs are interleaved so machine noise hits both alike; medians of 21 runs.
const one = makeSchedules(1_000);
const compiledOne = compileSchedules(one);
const compiledTen = compileSchedules(ten);
const runs = { one: [], ten: [], compiledOne: [], compiledTen: [] };
let due = 0;
for (let r = 0; r < 26; r++) {
  const at = tick + r * 60_000;
  for (const [name, list] of [
    ['one', one],
    ['ten', ten],
    ['compiledOne', compiledOne],
    ['compiledTen', compiledTen],
  ]) {
    const t = performance.now();
    const n = evaluateSchedulesAtTick(list, at).dueTriggers.length;
    if (r >= 5) runs[name].push(performance.now() - t); // first 5 rounds warm the JIT
    if (name === 'ten' && r === 0) due = n;
  }
}
const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));

console.log('\n== evaluateSchedulesAtTick, one tick (medians of 21 runs)');
console.log(`baseline   1,000 schedules          ${fmt(m.one)}`);
console.log(
  `          10,000 schedules          ${fmt(m.ten)}  (${due} due at the first tick)   ${verdict(m.ten < 50)} target < 50 ms`,
);
console.log(`          10,000, first call (cold: JIT, croner parsing, Intl zones) ${fmt(cold)}   (informational)`);
console.log(`baseline   1,000 pre-compiled       ${fmt(m.compiledOne)}`);
console.log(`          10,000 pre-compiled       ${fmt(m.compiledTen)}   (compileSchedules once, evaluate many ticks)`);
console.log(
  `growth 1,000 → 10,000: ×${(m.ten / m.one).toFixed(2)} with validation, ×${(m.compiledTen / m.compiledOne).toFixed(2)} pre-compiled (linear = ×10)`,
);

// 3. Live scheduler: 100 real fires; 20 schedules of */1s with distinct jitter → ~20 wake-ups per second.
async function timerBaseline(count) {
  const lateness = [];
  for (let i = 0; i < count; i++) {
    const delay = 20 + (i % 30);
    const due = Date.now() + delay;
    await new Promise((resolve) =>
      setTimeout(() => {
        lateness.push(Date.now() - due);
        resolve();
      }, delay),
    );
  }
  return lateness;
}

async function liveLateness(target) {
  const lateness = [];
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const schedules = Array.from({ length: 20 }, (_, i) => ({
    scheduleId: `live-${i}`,
    interval: '*/1s',
    timezone: 'UTC',
    jitterMs: 999,
  }));
  const scheduler = new Scheduler({
    schedules,
    onFire: (fire) => {
      for (const late of fire.latenessMs) if (lateness.length < target) lateness.push(late);
      if (lateness.length >= target) done();
    },
  });
  const start = performance.now();
  scheduler.start();
  const timeout = setTimeout(() => done(), 55_000);
  await finished;
  clearTimeout(timeout);
  await scheduler.stop();
  return { lateness, seconds: (performance.now() - start) / 1000 };
}

const baseline = await timerBaseline(100);
const live = await liveLateness(100);
const stats = (xs) => `p50 ${percentile(xs, 50)} ms, p99 ${percentile(xs, 99)} ms, max ${Math.max(...xs)} ms`;
console.log('\n== live Scheduler fire lateness (wake-up time − due time), real timers');
console.log(`baseline   100 bare setTimeout calls:  ${stats(baseline)}`);
console.log(
  `scheduler  ${live.lateness.length} fires in ${live.seconds.toFixed(1)} s:     ${stats(live.lateness)}   ${verdict(live.lateness.length >= 100 && Math.max(...live.lateness) < 1000)} target: every fire within 1 s`,
);
const p99Ratio = (percentile(live.lateness, 99) + 1) / (percentile(baseline, 99) + 1);
console.log(`p99 vs bare timers (+1 ms each): ×${p99Ratio.toFixed(2)}`);
// `--json`: also print one machine-readable line `@@bench-json {…}` (ms) at the end, for `npm run bench`.
if (process.argv.includes('--json')) {
  const liveStats = {
    count: live.lateness.length,
    p50: percentile(live.lateness, 50),
    p99: percentile(live.lateness, 99),
    max: Math.max(...live.lateness),
  };
  const timerStats = {
    count: baseline.length,
    p50: percentile(baseline, 50),
    p99: percentile(baseline, 99),
    max: Math.max(...baseline),
  };
  console.log(
    `@@bench-json ${JSON.stringify({ node: process.version, metrics: { medians: m, coldMs: cold, dueAtFirstTick: due, liveLatenessMs: liveStats, timerLatenessMs: timerStats } })}`,
  );
}
process.exit(0);
