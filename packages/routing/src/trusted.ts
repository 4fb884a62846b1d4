import {
  MobKitError,
  type RecordsPort,
  type TrustedResolutionLookup,
  parseRouteResolution,
  sequenceId,
} from '@mobkit/core';
import { DEFAULT_TRUSTED_CAPACITY, type RoutingResolution, routingResolutionToWire } from './schema.js';

/** The records namespace durable trusted resolutions live in (key: route id; range: its issue number). */
export const TRUSTED_RESOLUTIONS_NAMESPACE = 'routing.trusted';

/**
 * How many durable resolutions must have fallen out of the window before a prune deletes them (all
 * of them, issued together so the store commits them as one group). One prune runs at a time, so the
 * deletes pending never exceed what fell out while the previous prune ran.
 */
export const TRUSTED_PRUNE_BATCH = 64;

/**
 * Every resolution that route resolution issued, remembered as *trusted*: bounded (512 by
 * default), oldest forgotten first. It also hands out the route ids (`route-000000`, …) so that
 * ids and trust can never disagree.
 */
export class TrustedResolutions implements TrustedResolutionLookup {
  private readonly byId = new Map<string, RoutingResolution>();
  private issued = 0;
  private lastEventMs = Number.NEGATIVE_INFINITY;
  private records: RecordsPort | undefined;
  /** Lowest issue number that may still be in the store below the window (everything under it was deleted or tried). */
  private pruneFrom = 0;
  /** One past the highest issue number that fell out of the window (what the next prune deletes up to). */
  private pruneTo = 0;
  /** The prune in flight, if any (at most one). */
  private pruning: Promise<void> | undefined;

  /**
   * Trusted resolutions that survive a restart: the newest `capacity` issued ones are read back from
   * `records` (namespace {@link TRUSTED_RESOLUTIONS_NAMESPACE}), the route-id counter continues after the
   * highest issued number (so an id is never handed out twice), and {@link TrustedResolutions.persist}
   * writes each new one. Without this a restart forgets every resolution, and `route-000000` is issued
   * again for another recipient.
   */
  static async open(records: RecordsPort, capacity: number = DEFAULT_TRUSTED_CAPACITY): Promise<TrustedResolutions> {
    const trusted = new TrustedResolutions(capacity);
    const newest = await records.list(TRUSTED_RESOLUTIONS_NAMESPACE, {
      orderBy: 'range',
      order: 'desc',
      limit: capacity,
    });
    for (const record of newest.reverse()) {
      const resolution = Object.freeze(
        parseRouteResolution(record.value, `${TRUSTED_RESOLUTIONS_NAMESPACE}/${record.key}`),
      );
      trusted.byId.set(resolution.routeId, resolution);
      trusted.issued = Math.max(trusted.issued, (record.range ?? 0) + 1);
    }
    // What lies beyond the window (a run that died, or stopped, before its last prune): deleted now.
    const oldest = newest[0]?.range;
    if (newest.length === capacity && oldest !== undefined) {
      const stale = await records.list(TRUSTED_RESOLUTIONS_NAMESPACE, { orderBy: 'range', rangeMax: oldest });
      await deleteAll(
        records,
        stale.map((r) => r.key),
      );
    }
    // Everything below the oldest kept record is gone; the next prune starts there.
    trusted.pruneFrom = oldest ?? trusted.issued;
    trusted.pruneTo = Math.max(trusted.pruneFrom, trusted.issued - capacity);
    trusted.records = records;
    return trusted;
  }

  /** @param capacity how many resolutions to remember (≥ 1). */
  constructor(readonly capacity: number = DEFAULT_TRUSTED_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new MobKitError(
        'InvalidConfig',
        `TrustedResolutions: capacity must be a positive integer, got ${capacity}`,
        { details: { field: 'capacity' } },
      );
    }
  }

  /** Assigns the next route id to `fields`, remembers the frozen result and returns it. */
  issue(fields: Omit<RoutingResolution, 'routeId'>): RoutingResolution {
    const resolution: RoutingResolution = Object.freeze({
      routeId: sequenceId('route', this.issued++),
      recipient: fields.recipient,
      channel: fields.channel,
      sink: fields.sink,
      targetModule: fields.targetModule,
      retryMax: fields.retryMax,
      backoffMs: fields.backoffMs,
      rateLimitPerMinute: fields.rateLimitPerMinute,
    });
    this.byId.set(resolution.routeId, resolution);
    while (this.byId.size > this.capacity) {
      const oldest = this.byId.keys().next().value as string;
      this.byId.delete(oldest);
    }
    return resolution;
  }

  /**
   * Makes `resolution` (just {@link TrustedResolutions.issue}d) durable when this instance was
   * {@link TrustedResolutions.open}ed on a store; resolves at once otherwise. Resolution awaits it
   * before answering, so a resolution a client holds is still trusted after a restart (within the
   * capacity). The records that fell out of the window are deleted off the answer's path, in bounded
   * prunes (see {@link TRUSTED_PRUNE_BATCH}); what a prune leaves behind is deleted at the next open.
   */
  async persist(resolution: RoutingResolution): Promise<void> {
    const records = this.records;
    if (records === undefined) return;
    const number = Number(resolution.routeId.slice(resolution.routeId.lastIndexOf('-') + 1));
    await records.put(TRUSTED_RESOLUTIONS_NAMESPACE, resolution.routeId, routingResolutionToWire(resolution), {
      range: number,
    });
    this.pruneTo = Math.max(this.pruneTo, number - this.capacity + 1);
    if (this.pruning === undefined && this.pruneTo - this.pruneFrom >= TRUSTED_PRUNE_BATCH) this.prune(records);
  }

  /**
   * Deletes every record that fell out of the window since the last prune, together (best effort: a
   * failed delete is left for the next open, which deletes what lies beyond the window), then starts
   * the next prune if enough fell out meanwhile.
   */
  private prune(records: RecordsPort): void {
    const from = this.pruneFrom;
    const to = this.pruneTo;
    this.pruneFrom = to;
    const keys: string[] = [];
    for (let n = from; n < to; n++) keys.push(sequenceId('route', n));
    this.pruning = deleteAll(records, keys).then(() => {
      this.pruning = undefined;
      if (this.pruneTo - this.pruneFrom >= TRUSTED_PRUNE_BATCH) this.prune(records);
    });
  }

  /** Resolves once no prune is running (e.g. before closing the store, so none fails on a closed store). */
  async settled(): Promise<void> {
    while (this.pruning !== undefined) await this.pruning;
  }

  /** The trusted resolution under `routeId`, if still remembered. */
  get(routeId: string): RoutingResolution | undefined {
    return this.byId.get(routeId);
  }

  /** How many resolutions are remembered now. */
  get size(): number {
    return this.byId.size;
  }

  /** How many route ids were ever issued (the next id's number). */
  get issuedCount(): number {
    return this.issued;
  }

  /** @internal Monotonic timestamp for the next `router/resolved` event. */
  nextEventTimestamp(candidateMs: number): number {
    const ts = Math.max(candidateMs, this.lastEventMs);
    this.lastEventMs = ts;
    return ts;
  }
}

/** Deletes `keys` of the namespace, issued together; never rejects (a record left behind is pruned later). */
async function deleteAll(records: RecordsPort, keys: readonly string[]): Promise<void> {
  await Promise.all(
    keys.map((key) =>
      records.delete(TRUSTED_RESOLUTIONS_NAMESPACE, key).then(
        () => undefined,
        () => undefined,
      ),
    ),
  );
}
