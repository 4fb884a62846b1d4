import { randomBytes } from 'node:crypto';
import type { MobKitStore, StoreJson } from '@mobkit/core';
import { type ClaimStore, type ScheduleClaim, ScheduleClaimSchema, claimToWire } from './claims.js';
import { CLAIM_RETENTION_MS } from './dispatch.js';
import { SchedulingError } from './errors.js';

/** The claims (and records) namespace of due-tick claims. */
export const SCHEDULE_CLAIMS_NAMESPACE = 'scheduling.claims';

/** Options of {@link StoreClaimStore}. */
export interface StoreClaimStoreOptions {
  /** Who claims (default a fresh `scheduler-<pid>-<random>`: each process its own owner). */
  owner?: string;
  /** How long a claim holds (default the dispatcher's retention, 24 h): after that its tick is never due again. */
  ttlMs?: number;
}

/**
 * Due-tick claims on a {@link MobKitStore} (the store knows nothing of schedules): each claim is
 * taken with core's claims port (`claim once`, across processes, for `ttlMs`) and its details
 * kept in a record beside it, both in one transaction, before the dispatch hook runs. A restarted
 * runtime — or a second one on the same database — loses the claim race for a tick already claimed,
 * so it never injects that tick twice. Loading reads the records back; compaction deletes the
 * records the dispatcher pruned (their claims lapse by their ttl).
 */
export class StoreClaimStore implements ClaimStore {
  /** The owner claims are taken for. */
  readonly owner: string;
  private readonly ttlMs: number;

  constructor(
    private readonly store: MobKitStore,
    options: StoreClaimStoreOptions = {},
  ) {
    this.owner = options.owner ?? `scheduler-${process.pid}-${randomBytes(6).toString('hex')}`;
    this.ttlMs = options.ttlMs ?? CLAIM_RETENTION_MS;
  }

  async load(): Promise<ScheduleClaim[]> {
    const rows = await this.store.records.list<StoreJson>(SCHEDULE_CLAIMS_NAMESPACE, { orderBy: 'range' });
    const claims: ScheduleClaim[] = [];
    for (const row of rows) {
      const parsed = ScheduleClaimSchema.safeParse(row.value);
      if (!parsed.success) {
        throw new SchedulingError(
          'ClaimLogCorrupt',
          `claim record ${JSON.stringify(row.key)} in namespace ${SCHEDULE_CLAIMS_NAMESPACE} is not a claim; delete it`,
          { details: { namespace: SCHEDULE_CLAIMS_NAMESPACE, key: row.key } },
        );
      }
      claims.push(parsed.data);
    }
    return claims;
  }

  /** Takes the claim; resolves false when another owner (an earlier run, another replica) holds it. */
  async claim(claim: ScheduleClaim): Promise<boolean> {
    try {
      return await this.store.transaction(async (tx) => {
        const result = await tx.claims.claim(SCHEDULE_CLAIMS_NAMESPACE, claim.claimKey, this.owner, {
          ttlMs: this.ttlMs,
        });
        if (!result.claimed) return false;
        await tx.records.put(SCHEDULE_CLAIMS_NAMESPACE, claim.claimKey, claimToWire(claim) as unknown as StoreJson, {
          range: claim.dueTickMs,
        });
        return true;
      });
    } catch (error) {
      throw new SchedulingError(
        'ClaimLogWriteFailed',
        `schedule claims (store): cannot claim ${claim.claimKey}: ${(error as Error).message}`,
        { cause: error, details: { namespace: SCHEDULE_CLAIMS_NAMESPACE, claim_key: claim.claimKey } },
      );
    }
  }

  async append(claim: ScheduleClaim): Promise<void> {
    if (!(await this.claim(claim))) {
      throw new SchedulingError('ClaimLogWriteFailed', `schedule claim ${claim.claimKey} is held by another owner`, {
        details: { namespace: SCHEDULE_CLAIMS_NAMESPACE, claim_key: claim.claimKey },
      });
    }
  }

  async compact(claims: readonly ScheduleClaim[]): Promise<void> {
    const keep = new Set(claims.map((c) => c.claimKey));
    const rows = await this.store.records.list(SCHEDULE_CLAIMS_NAMESPACE);
    const gone = rows.filter((r) => !keep.has(r.key));
    if (gone.length === 0) return;
    await this.store.transaction(async (tx) => {
      for (const row of gone) await tx.records.delete(SCHEDULE_CLAIMS_NAMESPACE, row.key);
    });
  }

  /** Nothing to release: the store belongs to its owner, who closes it. */
  async close(): Promise<void> {}
}
