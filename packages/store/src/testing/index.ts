/**
 * `@mobkit/store/testing` — the conformance suite every storage adapter passes. Run it from a vitest
 * test file with {@link describeStoreConformance}; vitest is an optional peer dependency of the package.
 * @packageDocumentation
 */
import { afterEach, describe } from 'vitest';
import { claimAndLeaseCases } from './cases/claims-leases.js';
import { eventLogCases } from './cases/event-log.js';
import { lifecycleCases } from './cases/lifecycle.js';
import { processCases } from './cases/processes.js';
import { recordCases } from './cases/records.js';
import { transactionCases } from './cases/transactions.js';
import { createContext } from './context.js';
import type { StoreConformanceTarget } from './target.js';

export type { StoreConformanceTarget } from './target.js';

/**
 * Declares the storage conformance suite (a vitest `describe` named `name`) against `target`: the
 * event log (ordering, gapless seqs, idempotent ids, 20 concurrent appenders, every query filter,
 * bounds, retention, restore), records (versions, compare-and-set incl. concurrent writers, list,
 * search, namespaces), claims, leases, transactions, close, and — when the target allows — reopen,
 * claims held across two processes and a child SIGKILLed mid-write. Every case opens fresh stores
 * through `target.open()`; the suite closes them after each case and then calls `target.cleanup`.
 *
 * @example
 * ```ts
 * import { ManualClock } from '@mobkit/core';
 * import { createMemoryStore } from '@mobkit/store';
 * import { describeStoreConformance } from '@mobkit/store/testing';
 *
 * const clock = new ManualClock(1_000_000);
 * describeStoreConformance('memory store', { open: async () => createMemoryStore({ clock }), clock });
 * ```
 */
export function describeStoreConformance(name: string, target: StoreConformanceTarget): void {
  describe(name, () => {
    const ctx = createContext(target);
    afterEach(async () => {
      await ctx.closeAll();
      await target.cleanup?.();
    });
    eventLogCases(ctx);
    recordCases(ctx);
    claimAndLeaseCases(ctx);
    transactionCases(ctx);
    lifecycleCases(ctx);
    processCases(ctx);
  });
}
