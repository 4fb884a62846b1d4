// Shared by the runtime store and query tests: a runtime on the embedded mob, and a store wrapper
// whose event log appends can be held and made to fail.
import { type EventLogPort, MobKitError, type MobKitConfig, type MobKitStore } from '@mobkit/core';
import { MobDefinition, SpawnMemberSpec, TestClient } from '@mobkit/mob-adapter';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import type { UnifiedRuntimeBuilder } from '../src/runtime/builder.js';
import { MobBootstrapSpec } from '../src/spec.js';

const MOB_TOML = `
[mob]
id = "event-log-test"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
`;

export const NO_MODULES: MobKitConfig = { modules: [], discovery: { namespace: 't', modules: [] }, preSpawn: [] };

/** A builder over the embedded mob (TestClient answers "ok") and no modules; `configure` adds the rest. */
export function runtimeBuilder(configure: (b: UnifiedRuntimeBuilder) => UnifiedRuntimeBuilder = (b) => b) {
  const spec = MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({
    defaultLlmClient: new TestClient(),
  });
  return configure(UnifiedRuntime.builder().mobSpec(spec).moduleConfig(NO_MODULES).timeout(2_000));
}

/** Spawns `memberId` (if needed), sends it `text`, and waits until the run is over and logged. */
export async function oneTurn(runtime: UnifiedRuntime, memberId: string, text: string): Promise<void> {
  await runtime.ensureMember(SpawnMemberSpec.fromWire('worker', memberId));
  await runtime.sendMessage(memberId, text);
  await runtime.mobHandle().waitForIdle(10_000);
  if (!(await runtime.flushEventLog(10_000))) throw new Error('the event log did not flush');
}

/** A store whose event log appends wait while held, and fail as told (`before` writing, or `after` it landed). */
export function controlledStore(inner: MobKitStore) {
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const failures: Array<'before' | 'after'> = [];
  let appends = 0;
  const events: EventLogPort = {
    append: async (batch) => {
      appends += 1;
      await gate;
      const failure = failures.shift();
      if (failure === 'before') throw new MobKitError('StoreWriteFailed', 'disk full (test)');
      const entries = await inner.events.append(batch);
      if (failure === 'after') throw new MobKitError('StoreWriteFailed', 'connection lost after commit (test)');
      return entries;
    },
    query: (q) => inner.events.query(q),
    bounds: () => inner.events.bounds(),
    restore: (entries) => inner.events.restore(entries),
    prune: (retention) => inner.events.prune(retention),
    redact: (memberId, reason) => inner.events.redact(memberId, reason),
  };
  const store: MobKitStore = {
    info: inner.info,
    events,
    records: inner.records,
    claims: inner.claims,
    leases: inner.leases,
    transaction: (fn) => inner.transaction(fn),
    close: () => inner.close(),
  };
  return {
    store,
    appends: () => appends,
    hold: () => {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release: () => open(),
    failNext: (...how: Array<'before' | 'after'>) => failures.push(...how),
  };
}
