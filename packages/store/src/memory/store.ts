import type { Clock, MobKitStore, StoreInfo, StoreTransaction } from '@mobkit/core';
import { MobKitError, systemClock } from '@mobkit/core';
import type { PortAccess } from './access.js';
import { memoryClaims, type StoredClaim } from './claims.js';
import { EventLogDraft, EventLogState } from './event-log-state.js';
import { memoryEventLog } from './event-log.js';
import { memoryLeases } from './leases.js';
import { SerialLock } from './lock.js';
import { memoryRecords, type StoredRecord } from './records.js';
import { Table, TableDraft } from './table.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock for `updatedAtMs`, claim and lease expiry and retention's default now (default: the system clock). */
  clock?: Clock;
}

function closedError(): MobKitError {
  return new MobKitError('StoreClosed', 'the memory store was closed; open a new one', {
    details: { kind: 'memory' },
  });
}

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * An in-memory {@link MobKitStore}: for tests and `--ephemeral` runs. Everything is gone when the
 * process ends; within it, the store keeps every promise of the ports — gapless seqs, compare-and-set,
 * claim and lease expiry by `clock`, transactions that land whole or not at all.
 *
 * Writes run one at a time in call order; a transaction holds the write lock while its function runs,
 * so writes through the store's own ports wait for it (and a transaction that writes through them
 * instead of its `tx` would wait for itself: use `tx`). Readers outside a transaction see only
 * committed state. Every value handed in is copied as JSON text and every value handed out is a fresh
 * copy, so a caller cannot change what is stored by mutating an object.
 *
 * @example
 * ```ts
 * const store = createMemoryStore({ clock: new ManualClock(0) });
 * await store.events.append([{ id: 'e1', timestampMs: 0, memberId: null, kind: 'runtime', eventType: 'ready', data: {} }]);
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MobKitStore {
  const clock = options.clock ?? systemClock;
  const nowMs = () => clock.nowMs();
  const lock = new SerialLock();
  const events = new EventLogState();
  const records = new Table<StoredRecord>();
  const claims = new Table<StoredClaim>();
  let closed = false;

  const guarded = <T>(fn: () => T) => (closed ? Promise.reject(closedError()) : settle(fn));
  const access: PortAccess = {
    read: guarded,
    write: (fn) => (closed ? Promise.reject(closedError()) : lock.run(() => guarded(fn))),
  };
  const info: StoreInfo = Object.freeze({ kind: 'memory', location: 'memory', schemaVersion: 0 });

  async function runTransaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    if (closed) throw closedError();
    const drafts = {
      events: new EventLogDraft(events),
      records: new TableDraft(records),
      claims: new TableDraft(claims),
    };
    let running = true;
    const txAccess: PortAccess = {
      read: (work) => (running ? guarded(work) : Promise.reject(endedError())),
      write: (work) => (running ? guarded(work) : Promise.reject(endedError())),
    };
    const tx: StoreTransaction = Object.freeze({
      events: memoryEventLog(drafts.events, txAccess, nowMs),
      records: memoryRecords(drafts.records, txAccess, nowMs),
      claims: memoryClaims(drafts.claims, txAccess, nowMs),
    });
    try {
      const result = await fn(tx);
      if (closed) throw closedError();
      drafts.events.commit();
      drafts.records.commit();
      drafts.claims.commit();
      return result;
    } finally {
      running = false;
    }
  }

  return Object.freeze({
    info,
    events: memoryEventLog(events, access, nowMs),
    records: memoryRecords(records, access, nowMs),
    claims: memoryClaims(claims, access, nowMs),
    leases: memoryLeases(access, nowMs),
    transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(closedError());
      if (typeof fn !== 'function')
        return Promise.reject(new MobKitError('InvalidInput', 'transaction expects a function'));
      return lock.run(() => runTransaction(fn));
    },
    async close(): Promise<void> {
      closed = true;
    },
  });
}

function endedError(): MobKitError {
  return new MobKitError('StoreClosed', 'this transaction has ended; write through the store or a new transaction', {
    details: { kind: 'memory', transaction: 'ended' },
  });
}
