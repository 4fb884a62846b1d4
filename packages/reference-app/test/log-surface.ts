// A runtime surface whose agent events go through a real event log (a @mobkit/store adapter), the way
// mobkit's referenceAppSurface does with a store: every event is appended first and delivered to live
// subscribers only after the append resolved, in seq order, carrying the log's seq. Module events are
// appended too, so an agent stream's seqs skip numbers as they do in the runtime.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventLogEntry, EventLogPort, StoreInfo } from '@mobkit/core';
import express from 'express';
import {
  type ReferenceAppRouterOptions,
  type ReferenceAppRuntimeSurface,
  type SurfaceAgentEvent,
  type SurfaceEventLog,
  type SurfaceMember,
  buildReferenceAppRouter,
} from '../src/index.js';
import { decisionState, rpcProbe } from './helpers.js';

/** One event to publish: an agent event of a member, or (without `memberId`) a module event. */
export interface PublishedEvent {
  memberId?: string;
  type: string;
  payload?: Record<string, unknown>;
}

/** Hooks around each log read of a replay (to publish while a replay is in flight). */
interface ReadHooks {
  /** Runs before the read's query (what it appends is in the read). */
  beforeQuery?: () => Promise<void>;
  /** Runs after the query answered, before the read resolves (what it appends is not in the read). */
  afterQuery?: () => Promise<void>;
}

/** A log-backed surface with a fixed roster and a `publish` that appends, then delivers. */
export interface LogSurface {
  surface: ReferenceAppRuntimeSurface;
  /** Appends `events` as one batch, then delivers the agent events among them to live subscribers. Serialized. */
  publish(events: readonly PublishedEvent[]): Promise<SurfaceAgentEvent[]>;
  hooks: ReadHooks;
  /** How many agent-event reads the log served. */
  readonly reads: number;
}

const MEMBERS = ['lead-1', 'worker-1', 'worker-2'];

function member(id: string): SurfaceMember {
  return {
    meerkatId: id,
    profile: id.replace(/-\d+$/, ''),
    state: 'active',
    sessionId: `session-${id}`,
    wiredTo: [],
    labels: {},
  };
}

function toAgentEvent(entry: EventLogEntry): SurfaceAgentEvent {
  const data = entry.data as { payload: Record<string, unknown> };
  return {
    memberId: entry.memberId as string,
    seq: entry.seq,
    timestampMs: entry.timestampMs,
    type: entry.eventType,
    payload: data.payload,
  };
}

let eventIds = 0;

/** Builds a {@link LogSurface} over `log` (the store's event log) and its `info`. */
export function logSurface(log: EventLogPort, info: StoreInfo): LogSurface {
  const listeners = new Set<{ fn: (e: SurfaceAgentEvent) => void; memberId: string | undefined }>();
  const hooks: ReadHooks = {};
  let reads = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const eventLog: SurfaceEventLog = {
    store: { kind: info.kind, location: info.location, schemaVersion: info.schemaVersion },
    async readAgentEvents({ afterSeq, memberId, limit }) {
      reads += 1;
      await hooks.beforeQuery?.();
      const entries = await log.query({
        afterSeq,
        kinds: ['agent'],
        limit,
        ...(memberId === undefined ? {} : { memberId }),
      });
      await hooks.afterQuery?.();
      return entries.map(toAgentEvent);
    },
    async bounds() {
      const { firstSeq, lastSeq } = await log.bounds();
      return { firstSeq, lastSeq };
    },
  };
  const publishNow = async (events: readonly PublishedEvent[]) => {
    const entries = await log.append(
      events.map((e) => {
        eventIds += 1;
        const payload = e.payload ?? { type: e.type };
        return {
          id: `test-event-${eventIds}`,
          timestampMs: Date.now(),
          memberId: e.memberId ?? null,
          kind: e.memberId === undefined ? 'module' : 'agent',
          eventType: e.type,
          data: { member_id: e.memberId ?? null, payload, timestamp_ms: Date.now() } as never,
        };
      }),
    );
    const agentEvents = entries.filter((e) => e.kind === 'agent').map(toAgentEvent);
    for (const e of agentEvents)
      for (const l of [...listeners]) if (l.memberId === undefined || l.memberId === e.memberId) l.fn(e);
    return agentEvents;
  };
  const surface: ReferenceAppRuntimeSurface = {
    mobId: () => 'log-test-mob',
    mobStatus: async () => 'Running',
    profiles: () =>
      ['lead', 'worker'].map((name) => ({ name, model: 'm', externalAddressable: true, peerDescription: name })),
    listMembers: async () => MEMBERS.map(member),
    getMember: async (id) => (MEMBERS.includes(id) ? member(id) : undefined),
    sendMessage: async (id) => `session-${id}`,
    loadedModules: () => [],
    isRunning: () => true,
    moduleHealthTransitions: () => [],
    events: () => [],
    subscribe: () => () => undefined,
    eventLog: () => eventLog,
    subscribeAgentEvents(fn, memberId) {
      const entry = { fn, memberId };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
  };
  return {
    surface,
    hooks,
    get reads() {
      return reads;
    },
    publish(events) {
      const next = chain.then(() => publishNow(events));
      chain = next.catch(() => undefined);
      return next;
    },
  };
}

/** A reference app router over `surface` on 127.0.0.1:0 (auth off). */
export interface LogApp {
  url: string;
  close(): Promise<void>;
}

/** Serves `surface` with the reference app router. */
export async function startLogApp(
  surface: ReferenceAppRuntimeSurface,
  options: Partial<ReferenceAppRouterOptions> = {},
): Promise<LogApp> {
  const controller = new AbortController();
  const app = express();
  app.use(
    buildReferenceAppRouter(surface, decisionState(false), {
      rpcHandler: rpcProbe(),
      signal: controller.signal,
      ...options,
    }),
  );
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      controller.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
