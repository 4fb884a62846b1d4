import { MobKitError } from '@mobkit/core';
import type { DeliveryRecord, DeliveryResolution } from './schema.js';

/** A finished delivery under an idempotency key: its record, the resolution it went along, its payload's canonical JSON. */
interface KnownKey {
  record: DeliveryRecord;
  resolution: DeliveryResolution;
  payloadJson: string;
  /** When the key was remembered (clock ms); it is honoured until `atMs + ttlMs`. */
  atMs: number;
}

/** How long finished idempotency keys are honoured: at most `limit` keys (oldest leave first), each for `ttlMs`. */
export interface KeyRetention {
  limit: number;
  ttlMs: number;
}

/** The fields a resolution is compared on (camelCase name, wire name for messages). */
export const RESOLUTION_FIELDS = [
  ['recipient', 'recipient'],
  ['channel', 'channel'],
  ['sink', 'sink'],
  ['targetModule', 'target_module'],
  ['retryMax', 'retry_max'],
  ['backoffMs', 'backoff_ms'],
  ['rateLimitPerMinute', 'rate_limit_per_minute'],
] as const;

/** True when `a` and `b` are the same resolution (same route id and every field). */
function sameResolution(a: DeliveryResolution, b: DeliveryResolution): boolean {
  return a.routeId === b.routeId && RESOLUTION_FIELDS.every(([camel]) => a[camel] === b[camel]);
}

/** The key idempotency is scoped by: `route_id:key`. */
export function scopedKeyOf(routeId: string, idempotencyKey: string): string {
  return `${routeId}:${idempotencyKey}`;
}

function mismatch(routeId: string, key: string): MobKitError {
  return new MobKitError(
    'IdempotencyPayloadMismatch',
    `idempotency key ${JSON.stringify(key)} on ${routeId} was already used with another payload; use a new key for a new payload`,
    { details: { route_id: routeId, idempotency_key: key } },
  );
}

/**
 * The idempotency index of a delivery service: finished deliveries by `route_id:key` (as long as
 * their record is kept) and the sends still in flight, so a repeated send returns the same record
 * (or joins the running one) and never makes a second attempt.
 */
export class IdempotencyIndex {
  private readonly keys = new Map<string, KnownKey>();
  /**
   * The remembered keys oldest first, from `head` on (an entry whose key was remembered again since is
   * stale and skipped). Eviction reads it instead of iterating `keys` from its start: a Map that is
   * used as a queue keeps its deleted entries at the front until it is rehashed, and every such
   * iteration walks over them (thousands per send once the key limit is reached).
   */
  private order: Array<{ scopedKey: string; entry: KnownKey }> = [];
  private head = 0;
  private readonly running = new Map<string, { payloadJson: string; done: Promise<DeliveryRecord> }>();

  /**
   * @param inFlightMode a duplicate of an in-flight send waits for it, or fails with `IdempotencyInFlight`.
   * @param retention how many finished keys are kept and for how long (independent of the history).
   */
  constructor(
    private readonly inFlightMode: 'wait' | 'reject',
    readonly retention: KeyRetention,
  ) {}

  /**
   * The finished delivery under `scopedKey`, if it went along the resolution currently trusted
   * under its route id (`current`; route ids restart with a restarted router) or nothing is
   * trusted there any more (the key keeps its own copy of the resolution).
   */
  known(scopedKey: string, current: DeliveryResolution | undefined, nowMs: number): KnownKey | undefined {
    let stored = this.keys.get(scopedKey);
    if (stored !== undefined && nowMs - stored.atMs > this.retention.ttlMs) {
      this.keys.delete(scopedKey);
      stored = undefined;
    }
    return stored !== undefined && (current === undefined || sameResolution(current, stored.resolution))
      ? stored
      : undefined;
  }

  /**
   * What a send under a key must return instead of a new delivery: the known record (same payload),
   * or the in-flight send's promise; `undefined` when the send should go ahead. Throws
   * `IdempotencyPayloadMismatch` for another payload and, in `reject` mode, `IdempotencyInFlight`.
   */
  replay(
    scopedKey: string,
    known: KnownKey | undefined,
    payloadJson: string,
    routeId: string,
    key: string,
  ): Promise<DeliveryRecord> | undefined {
    if (known !== undefined) {
      if (known.payloadJson !== payloadJson) throw mismatch(routeId, key);
      return Promise.resolve(known.record);
    }
    const running = this.running.get(scopedKey);
    if (running === undefined) return undefined;
    if (running.payloadJson !== payloadJson) throw mismatch(routeId, key);
    if (this.inFlightMode === 'reject') {
      throw new MobKitError(
        'IdempotencyInFlight',
        `a delivery with idempotency key ${JSON.stringify(key)} on ${routeId} is still in flight; retry later`,
        { details: { route_id: routeId, idempotency_key: key } },
      );
    }
    return running.done;
  }

  /** Marks a send under `scopedKey` in flight until `done` settles. */
  track(scopedKey: string, payloadJson: string, done: Promise<DeliveryRecord>): void {
    this.running.set(scopedKey, { payloadJson, done });
  }

  /** The send under `scopedKey` ended (its record, if any, was remembered first). */
  settled(scopedKey: string): void {
    this.running.delete(scopedKey);
  }

  /**
   * Remembers a finished delivery under its key (as the newest key), then forgets the oldest keys
   * beyond the retention limit and those older than its ttl, as of `entry.atMs`.
   */
  remember(scopedKey: string, entry: KnownKey): void {
    this.keys.delete(scopedKey);
    this.keys.set(scopedKey, entry);
    this.order.push({ scopedKey, entry });
    while (this.head < this.order.length) {
      const oldest = this.order[this.head] as { scopedKey: string; entry: KnownKey };
      const live = this.keys.get(oldest.scopedKey) === oldest.entry;
      if (live && this.keys.size <= this.retention.limit && entry.atMs - oldest.entry.atMs <= this.retention.ttlMs)
        break;
      if (live) this.keys.delete(oldest.scopedKey);
      this.head++;
    }
    // Drop what was evicted, and stale entries, once they outnumber the live keys.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    if (this.order.length - this.head > 2 * this.keys.size + 1024) {
      this.order = this.order.slice(this.head).filter((o) => this.keys.get(o.scopedKey) === o.entry);
      this.head = 0;
    }
  }

  /** Number of finished keys honoured now (for diagnostics and tests). */
  get size(): number {
    return this.keys.size;
  }

  /** The promises of the sends still in flight. */
  inFlight(): Promise<DeliveryRecord>[] {
    return [...this.running.values()].map((r) => r.done);
  }
}
