import { MobKitError, type TrustedResolutionLookup, sequenceId } from '@mobkit/core';
import { DEFAULT_TRUSTED_CAPACITY, type RoutingResolution } from './schema.js';

/**
 * Every resolution that route resolution issued, remembered as *trusted*: bounded (512 by
 * default), oldest forgotten first. It also hands out the route ids (`route-000000`, …) so that
 * ids and trust can never disagree.
 */
export class TrustedResolutions implements TrustedResolutionLookup {
  private readonly byId = new Map<string, RoutingResolution>();
  private issued = 0;
  private lastEventMs = Number.NEGATIVE_INFINITY;

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
