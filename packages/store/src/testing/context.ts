import type { EventLogInput, MobKitError, MobKitStore, StoreJson } from '@mobkit/core';
import { isMobKitError } from '@mobkit/core';
import { expect } from 'vitest';
import type { StoreConformanceTarget } from './target.js';

/** What every case group gets: the target, stores that are closed after each case, and time. */
export interface SuiteContext {
  readonly target: StoreConformanceTarget;
  /** A fresh store from `target.open()`, closed after the case. */
  open(): Promise<MobKitStore>;
  /** Closes `store` and opens its data again through `target.reopen` (closed after the case). */
  reopen(store: MobKitStore): Promise<MobKitStore>;
  /** The TTL of expiry cases. */
  readonly ttlMs: number;
  /** Lets `ms` pass on the stores' clock (advances the target's clock, or waits in real time). */
  elapse(ms: number): Promise<void>;
  /** Lets a TTL of {@link ttlMs} lapse. */
  expire(): Promise<void>;
}

/** Builds the context for one `describeStoreConformance` run; `closeAll` runs after each case. */
export function createContext(target: StoreConformanceTarget): SuiteContext & { closeAll(): Promise<void> } {
  const opened: MobKitStore[] = [];
  const track = (store: MobKitStore) => {
    opened.push(store);
    return store;
  };
  const clock = target.clock;
  const ttlMs = clock ? 60_000 : (target.realTtlMs ?? 500);
  const elapse = async (ms: number) => {
    if (clock) await clock.advance(ms);
    else await new Promise((resolve) => setTimeout(resolve, ms + 20));
  };
  return {
    target,
    ttlMs,
    elapse,
    expire: () => elapse(ttlMs + 1),
    open: async () => track(await target.open()),
    async reopen(store) {
      if (!target.reopen) throw new Error('the target has no reopen()');
      await store.close();
      return track(await target.reopen(store));
    },
    async closeAll() {
      const stores = opened.splice(0);
      await Promise.allSettled(stores.map((store) => store.close()));
    },
  };
}

let counter = 0;

/** An event to append: `id`, a timestamp, and the rest defaulted (override any field). */
export function event(id: string, fields: Partial<EventLogInput> = {}): EventLogInput {
  counter += 1;
  return {
    id,
    timestampMs: 1_700_000_000_000 + counter,
    memberId: 'member-a',
    kind: 'agent',
    eventType: 'run_started',
    data: { id, nested: { n: counter, list: [1, 'two', null, true] } } as StoreJson,
    ...fields,
  };
}

/** `n` events with ids `${prefix}-0` … */
export function events(prefix: string, n: number, fields: Partial<EventLogInput> = {}): EventLogInput[] {
  return Array.from({ length: n }, (_, i) => event(`${prefix}-${i}`, fields));
}

/** Asserts that `promise` rejects with a `MobKitError` (with `code`, when given) and returns it. */
export async function expectStoreError(promise: Promise<unknown>, code?: string): Promise<MobKitError> {
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    settled = { ok: true, value: await promise };
  } catch (error) {
    settled = { ok: false, error };
  }
  if (settled.ok) throw new Error(`expected a MobKitError${code ? ` ${code}` : ''}, the call resolved`);
  const error = settled.error;
  if (!isMobKitError(error)) {
    throw new Error(`expected a MobKitError${code ? ` ${code}` : ''}, got ${String(error)}`, { cause: error });
  }
  if (code !== undefined) expect(error.code, error.message).toBe(code);
  return error;
}

/** The seqs of `entries`. */
export function seqs(entries: readonly { seq: number }[]): number[] {
  return entries.map((entry) => entry.seq);
}

/** `[from, from + 1, …, to]`. */
export function span(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
