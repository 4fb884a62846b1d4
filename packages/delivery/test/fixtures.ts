import { type ManualClock, sequenceId } from '@mobkit/core';
import type { DeliveryResolution, TrustedResolutionLookup } from '../src/index.js';

/**
 * Makes `clock` advance by the length of every sleep as the sleep starts, so retries run at once
 * while their attempts still see the waited time; returns the sleep lengths, in order. (The sleep
 * itself is the ManualClock's: it resolves because the clock reached its due time.)
 */
export function advanceOnSleep(clock: ManualClock): number[] {
  const sleeps: number[] = [];
  const sleep = clock.sleep.bind(clock);
  clock.sleep = (ms, signal) => {
    sleeps.push(ms);
    const done = sleep(ms, signal);
    clock.advance(ms);
    return done;
  };
  return sleeps;
}

/**
 * A minimal stand-in for routing's trusted store (delivery depends on core only, so its unit tests
 * do not import @mobkit/routing; test/e2e-004.test.ts drives the real one).
 */
export class Issuer implements TrustedResolutionLookup {
  private readonly issued = new Map<string, DeliveryResolution>();
  private seq = 0;
  issue(fields: Partial<DeliveryResolution> & { recipient: string }): DeliveryResolution {
    const r: DeliveryResolution = Object.freeze({
      routeId: sequenceId('route', this.seq++),
      channel: 'notification',
      sink: 'memory',
      targetModule: 'delivery',
      retryMax: 1,
      backoffMs: 0,
      rateLimitPerMinute: 100,
      ...fields,
    });
    this.issued.set(r.routeId, r);
    return r;
  }
  forget(routeId: string): void {
    this.issued.delete(routeId);
  }
  get(routeId: string): DeliveryResolution | undefined {
    return this.issued.get(routeId);
  }
}

/** Resolves a promise's rejection into the MobKit code (or a marker when it did not fail). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? `not a MobKitError: ${String(error)}`;
  }
  return 'resolved';
}
