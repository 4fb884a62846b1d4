import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RuntimeDecisionState, buildRuntimeDecisionState } from '@mobkit/auth-policy';
import { MobKitError, type MobKitConfig, agentEventPayloadToWire, handleRpcText } from '@mobkit/core';
import { type EmbeddedMob, type LlmClient, MobDefinition, TestClient, createEmbeddedMob } from '@mobkit/mob-adapter';
import { type ModuleRuntime, startModuleRuntime } from '@mobkit/supervisor';
import { fixturePath, readFixture } from '@mobkit/test-utils';
import express from 'express';
import { SignJWT } from 'jose';
import {
  type ReferenceAppRouterOptions,
  type ReferenceAppRpcHandler,
  type ReferenceAppRuntimeSurface,
  type SurfaceAgentEvent,
  buildReferenceAppRouter,
} from '../src/index.js';

/** A lead and two workers wired to it (orchestrator auto-wiring); `auditor` is not externally addressable. */
const TEST_MOB_TOML = `
[mob]
id = "console-test-mob"
orchestrator = "lead"

[profiles.lead]
model = "gpt-5.2"
peer_description = "Leads"
external_addressable = true
tools = { comms = true }

[profiles.worker]
model = "gpt-5.2"
peer_description = "Works"
external_addressable = true
tools = { comms = true }

[profiles.auditor]
model = "gpt-5.2"
peer_description = "Audits, host may not talk to it"
tools = { comms = true }

[wiring]
auto_wire_orchestrator = true
`;

/** The trust manifest of the tests: one real `sh` JSON-line module (`ready.sh`). */
function trustedMobkitToml(): string {
  return `[[modules]]\nid = "beacon"\ncommand = "sh"\nargs = [${JSON.stringify(fixturePath('modules', 'ready.sh'))}, "beacon"]\nrestart_policy = "never"\n`;
}

const ISSUER = 'http://127.0.0.1:9';
const HS_SECRET = 'reference-app-test-secret-with-enough-entropy-0123456789';
const ALLOWED_EMAIL = 'ops@example.com';

/** A decision state with the test trust manifest; auth on or off; a localhost-class HS256 trusted OIDC config. */
export function decisionState(requireAppAuth: boolean): RuntimeDecisionState {
  const k = Buffer.from(HS_SECRET).toString('base64url');
  return buildRuntimeDecisionState({
    bigquery: { dataset: 'reference_dataset', table: 'reference_table' },
    trustedMobkitToml: trustedMobkitToml(),
    auth: { defaultProvider: 'google_o_auth', emailAllowlist: [ALLOWED_EMAIL] },
    trustedOidc: {
      discoveryJson: JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/.well-known/jwks.json` }),
      jwksJson: JSON.stringify({ keys: [{ kid: 'hs-1', kty: 'oct', alg: 'HS256', k }] }),
      audience: 'meerkat-console',
    },
    console: { requireAppAuth },
    releaseMetadataJson: readFixture('auth', 'release-targets.json'),
  });
}

/** An HS256 console token for `email`, valid for 5 minutes or until `expiresAt` (epoch seconds). */
export function signToken(
  email = ALLOWED_EMAIL,
  extra: Record<string, unknown> = {},
  expiresAt: number | string = '5m',
): Promise<string> {
  return new SignJWT({ email, provider: 'google_oauth', ...extra })
    .setProtectedHeader({ alg: 'HS256', kid: 'hs-1' })
    .setIssuer(ISSUER)
    .setAudience('meerkat-console')
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(HS_SECRET));
}

/** Adapts a real embedded mob and a real module runtime to the reference app's surface (like mobkit's `referenceAppSurface`). */
function surfaceOf(mob: EmbeddedMob, modules: ModuleRuntime): ReferenceAppRuntimeSurface {
  return {
    mobId: () => mob.mobId,
    mobStatus: () => mob.status(),
    profiles: () =>
      Object.values(mob.definition.profiles).map((p) => ({
        name: p.name,
        model: p.model,
        externalAddressable: p.externalAddressable,
        peerDescription: p.peerDescription,
      })),
    listMembers: () => mob.listMembers(),
    getMember: (id) => mob.getMember(id),
    sendMessage: (id, text) => mob.sendMessage(id, text),
    loadedModules: () => modules.loadedModules(),
    isRunning: () => modules.isRunning(),
    moduleHealthTransitions: () => modules.healthTransitions(),
    events: () => modules.mergedEvents(),
    subscribe: (listener) => modules.subscribe(listener),
    subscribeAgentEvents: (listener, memberId) =>
      mob.subscribe(
        (event) => {
          if (event.kind !== 'agent') return;
          const out: SurfaceAgentEvent = {
            memberId: event.memberId,
            seq: event.seq,
            timestampMs: event.timestampMs,
            type: event.event.type,
            payload: agentEventPayloadToWire(event.event),
          };
          listener(out);
        },
        memberId === undefined ? {} : { member: memberId },
      ),
  };
}

/** The one method the {@link RpcProbe} does not know: it answers JSON-RPC error -32601. */
export const PROBE_UNKNOWN_METHOD = 'probe/unknown';

/** A request as the {@link RpcProbe} received it. */
interface ProbeCall {
  id: string | number | null | undefined;
  method: string;
  params: unknown;
}

/**
 * A JSON-RPC handler that is a transport probe, not an imitation of the runtime: it records every
 * request the router hands it and answers each with `{ echo: { method, params } }` (an error -32601 for
 * {@link PROBE_UNKNOWN_METHOD}), so a test sees exactly what went through the HTTP layer. What the
 * runtime's methods answer is tested against the real `UnifiedRuntime` in mobkit's contract test.
 */
export interface RpcProbe extends ReferenceAppRpcHandler {
  readonly calls: ProbeCall[];
}

/** One JSON-RPC answer of the {@link RpcProbe}, as a test reads it. */
export interface ProbeAnswer {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: { echo: { method: string; params: unknown } };
  error?: { code: number; message: string; data?: unknown };
}

/** A new {@link RpcProbe} with no calls yet. */
export function rpcProbe(): RpcProbe {
  const calls: ProbeCall[] = [];
  return {
    calls,
    handleText: (text) =>
      handleRpcText(text, (request) => {
        calls.push({ id: request.id, method: request.method, params: request.params });
        if (request.method === PROBE_UNKNOWN_METHOD) {
          throw new MobKitError('RpcMethodNotFound', `method not found: ${request.method}`);
        }
        return { echo: { method: request.method, params: request.params ?? null } };
      }),
  };
}

/** A running reference app over a real mob and module runtime. */
export interface TestApp {
  url: string;
  server: Server;
  mob: EmbeddedMob;
  modules: ModuleRuntime;
  surface: ReferenceAppRuntimeSurface;
  decisions: RuntimeDecisionState;
  /** The router's RPC handler: a transport probe recording every request. */
  rpc: RpcProbe;
  /** Aborts the router (closes its streams). */
  controller: AbortController;
  close(): Promise<void>;
}

/** Options of {@link startTestApp}. */
export interface TestAppOptions {
  requireAppAuth?: boolean;
  router?: Partial<ReferenceAppRouterOptions>;
  llm?: LlmClient;
  /** Start the `beacon` module (default true). */
  withModule?: boolean;
}

/** Boots a mob (lead-1, worker-1, worker-2, auditor-1 with labels), the module runtime and the router on 127.0.0.1:0. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const decisions = decisionState(options.requireAppAuth ?? false);
  const mob = await createEmbeddedMob(MobDefinition.fromToml(TEST_MOB_TOML), {
    llm: options.llm ?? new TestClient({ text: 'pong' }),
  });
  await mob.spawnMany([
    { profile: 'lead', meerkatId: 'lead-1', labels: { display_name: 'Team Lead', singleton: 'true' } },
    { profile: 'worker', meerkatId: 'worker-1', labels: { group: 'crew' } },
    { profile: 'worker', meerkatId: 'worker-2', labels: { addressable: 'false' } },
    { profile: 'auditor', meerkatId: 'auditor-1' },
  ]);
  const withModule = options.withModule ?? true;
  const config: MobKitConfig = {
    modules: withModule ? decisions.modules.map((m) => ({ ...m, args: [...m.args] })) : [],
    discovery: { namespace: 'phase0', modules: withModule ? ['beacon'] : [] },
    preSpawn: [],
  };
  const modules = await startModuleRuntime(config, { timeoutMs: 5000, options: { shutdownGraceMs: 500 } });
  const surface = surfaceOf(mob, modules);
  const controller = new AbortController();
  const rpc = rpcProbe();
  const app = express();
  app.use(
    buildReferenceAppRouter(surface, decisions, {
      rpcHandler: rpc,
      signal: controller.signal,
      ...options.router,
    }),
  );
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    mob,
    modules,
    surface,
    decisions,
    rpc,
    controller,
    async close() {
      controller.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await modules.shutdown();
      await mob.close();
    },
  };
}

/** One SSE frame as a test reads it. */
export interface TestFrame {
  id?: string;
  event: string;
  data: string;
}

/** Reads an SSE response incrementally; `next(pred)` waits for a frame matching `pred` (rejects on timeout). */
export class SseReader {
  readonly frames: TestFrame[] = [];
  comments: string[] = [];
  private buffer = '';
  private ended = false;
  private waiters: Array<() => void> = [];
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  constructor(readonly response: Response) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    const reader = (this.response.body as ReadableStream<Uint8Array>).getReader();
    this.reader = reader;
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        for (let i = this.buffer.indexOf('\n\n'); i >= 0; i = this.buffer.indexOf('\n\n')) {
          const block = this.buffer.slice(0, i);
          this.buffer = this.buffer.slice(i + 2);
          const frame: TestFrame = { event: 'message', data: '' };
          const data: string[] = [];
          let hasField = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              this.comments.push(line.slice(1).trim());
              continue;
            }
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') frame.id = value;
            else if (field === 'event') frame.event = value;
            else if (field === 'data') data.push(value);
            else continue;
            hasField = true;
          }
          frame.data = data.join('\n');
          if (hasField && (data.length > 0 || frame.id !== undefined)) this.frames.push(frame);
          this.wake();
        }
      }
    } catch {
      // aborted
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Stops reading and closes the response. */
  cancel(): void {
    void this.reader?.cancel().catch(() => undefined);
  }

  /** True once the server ended the stream. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Waits until `pred` holds (checked after every frame), up to `timeoutMs`. */
  async until(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Waits for the first frame (from index 0) matching `pred`. */
  async frame(pred: (f: TestFrame) => boolean, timeoutMs = 5000): Promise<TestFrame> {
    await this.until(() => this.frames.some(pred), timeoutMs, 'frame');
    return this.frames.find(pred) as TestFrame;
  }

  /** Waits for the end of the stream. */
  async end(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.ended, timeoutMs, 'end of stream');
  }
}
