import { MobKitError, type TrustedResolutionLookup } from '@mobkit/core';
import type { DeliveryResolution } from './schema.js';

/**
 * Trust for a delivery module running in its own process: its caller (the MobKit runtime, which
 * checked the resolution against routing's trusted store) is trusted, and the first resolution
 * seen for a route id is *pinned* — a later one with the same id and other fields is then a
 * `ForgedResolution`. Bounded (oldest forgotten first).
 */
export class PinnedResolutions implements TrustedResolutionLookup {
  private readonly byId = new Map<string, DeliveryResolution>();
  constructor(readonly capacity = 4096) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new MobKitError('InvalidConfig', `trusted capacity must be a positive integer, got ${capacity}`);
  }

  /** Pins `resolution` unless its route id is already pinned. */
  pin(resolution: DeliveryResolution): void {
    if (typeof resolution?.routeId !== 'string' || this.byId.has(resolution.routeId)) return;
    this.byId.set(resolution.routeId, Object.freeze({ ...resolution }));
    while (this.byId.size > this.capacity) this.byId.delete(this.byId.keys().next().value as string);
  }

  get(routeId: string): DeliveryResolution | undefined {
    return this.byId.get(routeId);
  }
}
