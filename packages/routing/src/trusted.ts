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
 * Every resolution that route resolution issued, remembered as *trusted*: bounded (512 by
 * default), oldest forgotten first. It also hands out the route ids (`route-000000`, …) so that
 * ids and trust can never disagree.
 */
export class TrustedResolutions implements TrustedResolutionLookup {
  private readonly byId = new Map<string, RoutingResolution>();
  private issued = 0;
  private lastEventMs = Number.NEGATIVE_INFINITY;
  private records: RecordsPort | undefined;
  private pruning: Promise<void> = Promise.resolve();

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
   * {@link TrustedResolutions.open}ed on a store, and forgets the one that fell out of the window there
   * too; resolves at once otherwise. Resolution awaits it before answering, so a resolution a client
   * holds is still trusted after a restart (within the capacity).
   */
  async persist(resolution: RoutingResolution): Promise<void> {
    const records = this.records;
    if (records === undefined) return;
    const number = Number(resolution.routeId.slice(resolution.routeId.lastIndexOf('-') + 1));
    await records.put(TRUSTED_RESOLUTIONS_NAMESPACE, resolution.routeId, routingResolutionToWire(resolution), {
      range: number,
    });
    const forgotten = number - this.capacity;
    if (forgotten >= 0) {
      // Best effort and off the answer's path: a record left behind is ignored at the next open (only the newest `capacity` are read).
      const key = sequenceId('route', forgotten);
      this.pruning = this.pruning.then(() =>
        records.delete(TRUSTED_RESOLUTIONS_NAMESPACE, key).then(
          () => undefined,
          () => undefined,
        ),
      );
    }
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
