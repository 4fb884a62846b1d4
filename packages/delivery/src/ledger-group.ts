import { isMobKitError, type MobKitStore, type RecordPutOptions, type StoreJson } from '@mobkit/core';

/** One record write of a ledger entry. */
export interface LedgerPut {
  readonly namespace: string;
  readonly key: string;
  readonly value: StoreJson;
  readonly options: RecordPutOptions;
}

/**
 * What one ledger append writes, in order. Only the FIRST put may carry a compare-and-set that is
 * expected to fail (it then writes nothing, and only this entry fails, inside the shared
 * transaction); any failure after it has written something sends the group back without the entry.
 */
export interface LedgerWrite {
  readonly puts: readonly LedgerPut[];
  /** Runs once the commit holding the write has resolved, before the caller's promise resolves. */
  readonly committed?: () => void;
}

/** Why one entry of a group failed: the put that failed (its index in `puts`) and the store's error. */
export interface EntryFailure {
  readonly put: LedgerPut;
  readonly putIndex: number;
  readonly error: unknown;
}

interface Pending {
  readonly write: LedgerWrite;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** A failure that belongs to one entry of the running group (thrown out of the transaction to roll it back). */
class EntryFailed extends Error {
  constructor(
    readonly pending: Pending,
    readonly failure: EntryFailure,
  ) {
    super('a ledger entry of the group failed');
  }
}

/** The most entries one group transaction carries, so that one commit's latency stays bounded. */
const MAX_LEDGER_GROUP = 256;

/**
 * How many ledger group transactions may be in flight at once by default. Two lets the begins of some
 * sends and the finished records of others reach the store's own group commit together (measured on
 * SQLite with 64 senders: ~15% more sends/s than one at a time; more than two gained nothing clear).
 */
const LEDGER_GROUPS_IN_FLIGHT = 2;

/** Error codes that speak of the store as a whole (every entry of the group failed with it), not of one entry. */
const STORE_LEVEL_CODES = new Set(['StoreWriteFailed', 'StoreUnavailable', 'StoreClosed', 'StoreCorrupt']);

/** True when `error` belongs to the one write that raised it (a refused compare-and-set, bad input). */
function isEntryError(error: unknown): boolean {
  return isMobKitError(error) && !STORE_LEVEL_CODES.has(error.code);
}

/**
 * Group commit of ledger writes: appends that arrive while a group transaction is in flight go out
 * together in the next ONE `store.transaction` (at most {@link MAX_LEDGER_GROUP} of them), so
 * concurrent sends share a commit instead of committing one by one.
 *
 * Every entry is resolved on its own. A compare-and-set refused on an entry's first put wrote
 * nothing, so only that caller is rejected (through `refuse`) and the rest commit in the same
 * transaction. Any other failure of one entry's put (a later put refused, bad input) rolls the whole
 * transaction back; that entry's caller is rejected and the group runs again without it. A failure
 * of the store itself (write failed, closed, the commit lost) rejects every entry of the group: none
 * is acknowledged. A caller's promise resolves only after the transaction holding its write resolved.
 */
export class LedgerGroupWriter {
  private readonly queue: Pending[] = [];
  private readonly running = new Set<Promise<void>>();
  private scheduled = false;

  constructor(
    private readonly store: MobKitStore,
    /** The caller's error for an entry that failed on its own. */
    private readonly refuse: (write: LedgerWrite, failure: EntryFailure) => unknown,
    /** The callers' error when the group's transaction failed as a whole. */
    private readonly failed: (error: unknown) => unknown,
    /**
     * How many group transactions may be in flight at once (the store orders or overlaps them; the
     * entries of two groups are independent: a finished record is appended only after its begin committed).
     */
    private readonly inFlight = LEDGER_GROUPS_IN_FLIGHT,
  ) {}

  /** Queues `write` for the next group; resolves once the transaction holding it committed. */
  submit(write: LedgerWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.scheduled || this.running.size >= this.inFlight) return;
      // Let the callers of this tick queue theirs before the group starts.
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.pump();
      });
    });
  }

  /** Resolves once every queued write has settled (starting the ones still waiting for their tick). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.running.size === 0 && this.queue.length > 0) this.pump();
      if (this.running.size === 0) return;
      await Promise.all(this.running);
    }
  }

  /** Starts a group on every free slot while writes are queued. */
  private pump(): void {
    while (this.running.size < this.inFlight && this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_LEDGER_GROUP);
      const running: Promise<void> = this.runGroup(group)
        // Not reached unless a bug: settle every caller rather than leave one hanging.
        .catch((error: unknown) => {
          for (const p of group) p.reject(this.failed(error));
        })
        .finally(() => {
          this.running.delete(running);
          this.pump();
        });
      this.running.add(running);
    }
  }

  /** Commits `group` as one transaction, dropping (and rejecting) entries that fail on their own. */
  private async runGroup(group: Pending[]): Promise<void> {
    let members = group;
    while (members.length > 0) {
      let refused: Map<Pending, EntryFailure>;
      try {
        refused = await this.store.transaction((tx) => writeGroup(tx.records, members));
      } catch (error) {
        if (error instanceof EntryFailed && isEntryError(error.failure.error)) {
          error.pending.reject(this.refuse(error.pending.write, error.failure));
          members = members.filter((p) => p !== error.pending);
          continue;
        }
        const failure = this.failed(error instanceof EntryFailed ? error.failure.error : error);
        for (const p of members) p.reject(failure);
        return;
      }
      for (const p of members) {
        const failure = refused.get(p);
        if (failure !== undefined) {
          p.reject(this.refuse(p.write, failure));
          continue;
        }
        p.write.committed?.();
        p.resolve();
      }
      return;
    }
  }
}

/**
 * Writes every member's puts in one transaction, in rounds: the first put of every member, then the
 * second put of every member whose first one landed, … Each round's puts are issued together without
 * waiting for one another (in member order), so an adapter that pipelines statements (PostgreSQL) sends
 * a round in one round trip; they touch distinct rows, except a key two members both claim, and then
 * the first in order wins. A compare-and-set refused on a member's first put (nothing written) is that
 * member's outcome; any other failure is thrown as {@link EntryFailed} (the first in member order: on
 * PostgreSQL a failed statement makes every later one fail too) so the transaction rolls back.
 */
async function writeGroup(
  records: MobKitStore['records'],
  members: readonly Pending[],
): Promise<Map<Pending, EntryFailure>> {
  const refused = new Map<Pending, EntryFailure>();
  let writing = members;
  for (let round = 0; writing.length > 0; round++) {
    const outcomes = await Promise.all(
      writing.map(async (pending) => {
        const put = pending.write.puts[round] as LedgerPut;
        try {
          await records.put(put.namespace, put.key, put.value, put.options);
          return undefined;
        } catch (error) {
          return { put, putIndex: round, error } satisfies EntryFailure;
        }
      }),
    );
    const next: Pending[] = [];
    for (const [i, pending] of writing.entries()) {
      const failure = outcomes[i];
      if (failure === undefined) {
        if (pending.write.puts.length > round + 1) next.push(pending);
      } else if (round === 0 && isMobKitError(failure.error) && failure.error.code === 'VersionConflict') {
        refused.set(pending, failure);
      } else throw new EntryFailed(pending, failure);
    }
    writing = next;
  }
  return refused;
}
