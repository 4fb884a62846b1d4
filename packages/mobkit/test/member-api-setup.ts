// Shared by the member API tests: a real UnifiedRuntime over an embedded mob this test holds (the
// runtime's store is the mob's store, memory or SQLite), its JSON-RPC handler, and a call helper.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MobKitConfig, MobKitStore } from '@mobkit/core';
import {
  type EmbeddedMob,
  type LlmClient,
  MobDefinition,
  type MobRuntime,
  createEmbeddedMob,
} from '@mobkit/mob-adapter';
import { createMemoryStore, openSqliteStore } from '@mobkit/store';
import { createRpcHandler } from '../src/rpc/handler.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

/** The member API test mob: an orchestrator `lead`, `worker`s, and a `helper` profile for helper runs. */
const MEMBER_API_MOB_TOML = `
[mob]
id = "member-api-mob"
orchestrator = "lead"

[profiles.lead]
model = "gpt-5.2"
external_addressable = true
[profiles.lead.tools]
comms = true

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true

[profiles.helper]
model = "gpt-5.2"
external_addressable = true
[profiles.helper.tools]
comms = true
`;

const NO_MODULES: MobKitConfig = { modules: [], discovery: { namespace: 'member-api', modules: [] }, preSpawn: [] };

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC answers are JSON read freely by the assertions
export type Json = any;

/** A JSON-RPC answer as the tests read it. */
export interface Answer {
  result?: Json;
  error?: { code: number; message: string; data?: Json };
}

/** Which store a test runs on. */
export type StoreKind = 'memory' | 'sqlite';

/** A runtime under test, its mob, its store and an RPC caller. */
export interface MemberApiHarness {
  runtime: UnifiedRuntime;
  mob: EmbeddedMob;
  store: MobKitStore;
  call(method: string, params?: unknown): Promise<Answer>;
  close(): Promise<void>;
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  store?: StoreKind;
  llm: LlmClient;
  /** Wraps the embedded mob before the runtime gets it (e.g. to hide methods). */
  wrap?: (mob: EmbeddedMob) => MobRuntime;
}

/** Boots the harness: the embedded mob on `llm` and the store, the runtime on the same store. */
export async function startHarness(options: HarnessOptions): Promise<MemberApiHarness> {
  let dir: string | undefined;
  let store: MobKitStore;
  if (options.store === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'mobkit-member-api-'));
    store = await openSqliteStore({ path: join(dir, 'mobkit.db') });
  } else {
    store = createMemoryStore();
  }
  const mob = await createEmbeddedMob(MobDefinition.fromToml(MEMBER_API_MOB_TOML), { llm: options.llm, store });
  const runtime = await UnifiedRuntime.builder()
    .mobSpec(MobBootstrapSpec.fromMob(options.wrap ? options.wrap(mob) : mob))
    .moduleConfig(NO_MODULES)
    .timeout(5_000)
    .store(store)
    .build();
  const rpc = createRpcHandler(runtime);
  let id = 0;
  return {
    runtime,
    mob,
    store,
    call: async (method, params) => {
      id += 1;
      const request = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      return (await rpc.handleText(JSON.stringify(request))) as Answer;
    },
    close: async () => {
      await runtime.shutdown();
      await store.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
