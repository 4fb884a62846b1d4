// Scaffolding of the reference app contract test: the console test mob (fixtures/mob/console.toml, as
// the reference app's own tests use) on a REAL UnifiedRuntime with the `beacon` module, served by
// `createReferenceAppRouter` on a loopback port, with console auth off or on (HS256 test tokens).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RuntimeDecisionState, buildRuntimeDecisionState } from '@mobkit/auth-policy';
import type { MobKitConfig } from '@mobkit/core';
import { type EmbeddedMob, MobDefinition, TestClient, createEmbeddedMob } from '@mobkit/mob-adapter';
import {
  CONSOLE_TEST_EMAIL,
  type SseEvent,
  type SseStream,
  consoleTestTrustedOidc,
  fixturePath,
  readFixture,
} from '@mobkit/test-utils';
import express from 'express';
import { type CreateReferenceAppRouterOptions, createReferenceAppRouter } from '../src/http/router.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

/** The trust manifest: one real `sh` JSON-line module, `beacon` (fixtures/modules/ready.sh). */
function trustedMobkitToml(): string {
  const script = JSON.stringify(fixturePath('modules', 'ready.sh'));
  return `[[modules]]\nid = "beacon"\ncommand = "sh"\nargs = [${script}, "beacon"]\nrestart_policy = "never"\n`;
}

/** The console decision state of the tests: the `beacon` manifest, `ops@example.com` allowlisted, auth on or off. */
function consoleDecisionState(requireAppAuth: boolean): RuntimeDecisionState {
  return buildRuntimeDecisionState({
    bigquery: { dataset: 'reference_dataset', table: 'reference_table' },
    trustedMobkitToml: trustedMobkitToml(),
    auth: { defaultProvider: 'google_o_auth', emailAllowlist: [CONSOLE_TEST_EMAIL] },
    trustedOidc: consoleTestTrustedOidc(),
    console: { requireAppAuth },
    releaseMetadataJson: readFixture('auth', 'release-targets.json'),
  });
}

/** A reference app served over a real runtime whose mob is an embedded mob this test holds. */
export interface ConsoleApp {
  url: string;
  runtime: UnifiedRuntime;
  /** The runtime's mob (handed over with `MobBootstrapSpec.fromMob`), for what only the embedded mob shows. */
  mob: EmbeddedMob;
  close(): Promise<void>;
}

/** Options of {@link startConsoleApp}. */
export interface ConsoleAppOptions {
  requireAppAuth?: boolean;
  /** Start the `beacon` module (default true). */
  withModule?: boolean;
  router?: CreateReferenceAppRouterOptions;
}

/**
 * Boots the console test mob (lead-1 "Team Lead" singleton, worker-1 of group crew, worker-2 not
 * addressable by label, auditor-1 of a profile that is not externally addressable) on the TestClient
 * (replies "pong"), the `beacon` module, and the router on 127.0.0.1:0.
 */
export async function startConsoleApp(options: ConsoleAppOptions = {}): Promise<ConsoleApp> {
  const decisions = consoleDecisionState(options.requireAppAuth ?? false);
  const withModule = options.withModule ?? true;
  const mob = await createEmbeddedMob(MobDefinition.fromToml(readFixture('mob', 'console.toml')), {
    llm: new TestClient({ text: 'pong' }),
  });
  const config: MobKitConfig = {
    modules: withModule ? decisions.modules.map((m) => ({ ...m, args: [...m.args] })) : [],
    discovery: { namespace: 'console-contract', modules: withModule ? ['beacon'] : [] },
    preSpawn: [],
  };
  const runtime = await UnifiedRuntime.bootstrap(MobBootstrapSpec.fromMob(mob), config, 5_000);
  await runtime.spawnMany([
    { profile: 'lead', meerkatId: 'lead-1', labels: { display_name: 'Team Lead', singleton: 'true' } },
    { profile: 'worker', meerkatId: 'worker-1', labels: { group: 'crew' } },
    { profile: 'worker', meerkatId: 'worker-2', labels: { addressable: 'false' } },
    { profile: 'auditor', meerkatId: 'auditor-1' },
  ]);
  const app = express().use(createReferenceAppRouter(runtime, decisions, options.router));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    runtime,
    mob,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await runtime.shutdown();
    },
  };
}

/** POSTs `body` (JSON, or text as it is) to `url`. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Every event of `stream` until the server ends it (rejects if it does not end within `timeoutMs`). */
export async function readToEnd(stream: SseStream, timeoutMs = 10_000): Promise<SseEvent[]> {
  const deadline = Date.now() + timeoutMs;
  const events: SseEvent[] = [];
  for (;;) {
    try {
      events.push(await stream.next(() => true, Math.max(1, deadline - Date.now())));
    } catch (error) {
      if (error instanceof Error && error.message.endsWith('the stream ended')) return events;
      throw error;
    }
  }
}
