import { MobKitError, sequenceId, systemClock, type Clock, type EventEnvelope, type ModuleEvent } from '@mobkit/core';
import { FileLedger, type DeliveryLedger, type LedgerEntry } from './ledger.js';
import {
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_HISTORY_PAGE,
  DELIVERY_TARGET_MODULE,
  DeliveryRecordSchema,
  DeliveryResolutionSchema,
  RATE_WINDOW_MS,
  canonicalJson,
  deliveryRecordToWire,
  deliveryResolutionToWire,
  type DeliveryAttempt,
  type DeliveryAttemptWire,
  type DeliveryHistoryQuery,
  type DeliveryRecord,
  type DeliveryResolution,
  type DeliveryResolutionWire,
  type DeliverySendRequest,
} from './schema.js';
import type { SinkAdapter, SinkMessage, SinkOutcome } from './sinks/types.js';

/**
 * Where delivery looks up the resolutions route resolution issued. `@mobkit/routing`'s
 * `TrustedResolutions` satisfies it structurally; the unified runtime passes it in.
 */
export interface TrustedResolutionLookup {
  /** The issued resolution under `routeId`, or `undefined` if never issued or forgotten. */
  get(routeId: string): DeliveryResolution | undefined;
}

/** Payload of the `delivery/send` event. */
export interface DeliverySendEventPayload {
  delivery_id: string;
  route_id: string;
  recipient: string;
  sink: string;
  status: string;
  attempts: DeliveryAttemptWire[];
}

/** The `delivery/send` event announcing a finished delivery. */
export type DeliverySendEvent = EventEnvelope<ModuleEvent<DeliverySendEventPayload>>;

/** Options of {@link DeliveryService}. */
export interface DeliveryServiceOptions {
  /** Sink adapters by sink name (the resolution's `sink`). */
  sinks: Record<string, SinkAdapter> | Map<string, SinkAdapter>;
  /**
   * Adapter for every sink with no adapter of its own in `sinks` (e.g. the unified runtime hands
   * them to the `delivery` module). Without it such sinks fail with `UnknownSink`.
   */
  fallbackSink?: SinkAdapter;
  /** Issued resolutions to check against (routing's trusted store). */
  trusted: TrustedResolutionLookup;
  /** Time source for attempts and rate windows (default the system clock). */
  clock?: Clock;
  /** Waits between attempts (default a real timer). With a `ManualClock`, pass one that advances it. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Durable record store. Without one, records and keys live only in this object's memory;
   * {@link DeliveryService.open} opens a {@link FileLedger} from a path; {@link MemoryLedger} is the
   * injectable in-memory one (for tests).
   */
  ledger?: DeliveryLedger;
  /** Records kept (and idempotency keys honoured); default 200. */
  historyLimit?: number;
  /** Longest wait between attempts (default 30 000 ms); backoff doubles per attempt up to this. */
  maxBackoffMs?: number;
  /** A duplicate of an in-flight send waits for it (`wait`, default) or fails with `IdempotencyInFlight`. */
  inFlight?: 'wait' | 'reject';
  /** Loaded module ids; when given, `delivery` must be among them (`DeliveryModuleNotLoaded`). */
  loadedModules?: Iterable<string> | (() => Iterable<string>);
  /** Receives the `delivery/send` event. */
  emit?: (event: DeliverySendEvent) => void;
  /** Latest timestamp in the merged event stream; events are never stamped before it. */
  latestEventMs?: () => number;
}

interface KnownKey {
  record: DeliveryRecord;
  resolution: DeliveryResolution;
  payloadJson: string;
}

interface InFlight {
  payloadJson: string;
  done: Promise<DeliveryRecord>;
}

const RESOLUTION_FIELDS = [
  ['recipient', 'recipient'],
  ['channel', 'channel'],
  ['sink', 'sink'],
  ['targetModule', 'target_module'],
  ['retryMax', 'retry_max'],
  ['backoffMs', 'backoff_ms'],
  ['rateLimitPerMinute', 'rate_limit_per_minute'],
] as const;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function freezeRecord(record: DeliveryRecord): DeliveryRecord {
  for (const attempt of record.attempts) Object.freeze(attempt);
  Object.freeze(record.attempts);
  return Object.freeze(record);
}

/**
 * Sends payloads along issued resolutions (spec §8, with real attempts): checks the resolution
 * (`UnknownRouteId`, `ForgedResolution`, `InvalidRouteTarget`) and the key, replays known
 * idempotency keys, enforces the per-minute rate limit of `(route, recipient, sink)`, makes real
 * attempts through the sink adapter with growing backoff, records every attempt, keeps the newest
 * 200 records, writes everything to the ledger and emits `delivery/send`.
 */
export class DeliveryService {
  private readonly sinks: Map<string, SinkAdapter>;
  private readonly trusted: TrustedResolutionLookup;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly ledger: DeliveryLedger | undefined;
  private readonly historyLimit: number;
  private readonly maxBackoffMs: number;
  private readonly inFlightMode: 'wait' | 'reject';
  private readonly options: DeliveryServiceOptions;
  private readonly startedAtMs: number;

  private readonly records: DeliveryRecord[] = [];
  private readonly keys = new Map<string, KnownKey>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly rateUsed = new Map<string, { windowStart: number; count: number }>();
  private readonly ratePending = new Map<string, number>();
  private nextSeq = 0;
  private lastEventMs = Number.NEGATIVE_INFINITY;
  private lastPrunedWindow = -1;

  constructor(options: DeliveryServiceOptions) {
    this.options = options;
    this.sinks = options.sinks instanceof Map ? new Map(options.sinks) : new Map(Object.entries(options.sinks));
    this.trusted = options.trusted;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
    this.ledger = options.ledger;
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(this.historyLimit) || this.historyLimit < 1) {
      throw new MobKitError('InvalidConfig', `historyLimit: must be a positive integer, got ${this.historyLimit}`);
    }
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.inFlightMode = options.inFlight ?? 'wait';
    this.startedAtMs = this.clock.nowMs();
    if (this.ledger !== undefined) this.replay(this.ledger.replay());
  }

  /**
   * Creates a service whose ledger is the JSONL file at `ledgerPath` (replaying what an earlier
   * run wrote), or in memory when no path is given.
   */
  static async open(
    options: Omit<DeliveryServiceOptions, 'ledger'> & { ledgerPath?: string; ledger?: DeliveryLedger },
  ): Promise<DeliveryService> {
    const { ledgerPath, ...rest } = options;
    const ledger = rest.ledger ?? (ledgerPath === undefined ? undefined : await FileLedger.open(ledgerPath));
    return new DeliveryService({ ...rest, ...(ledger === undefined ? {} : { ledger }) });
  }

  /** Sink names this service can deliver to. */
  sinkNames(): string[] {
    return [...this.sinks.keys()].sort();
  }

  /**
   * Delivers `payload` along `resolution`. Checks, in order: the resolution's route id was issued
   * (`InvalidRouteId` when blank, `UnknownRouteId`), every field equals the issued one
   * (`ForgedResolution`), it targets `delivery` (`InvalidRouteTarget`), the idempotency key is not
   * blank (`InvalidIdempotencyKey`). A known `route_id:key` returns the same record without a new
   * attempt (`IdempotencyPayloadMismatch` for another payload); a duplicate of an in-flight send
   * waits for it. Then the sink must exist (`UnknownSink`) and the rate limit must allow it
   * (`RateLimited`).
   */
  send(request: DeliverySendRequest): Promise<DeliveryRecord> {
    try {
      return this.admit(request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private admit(request: DeliverySendRequest): Promise<DeliveryRecord> {
    this.checkModuleLoaded();
    if (request === null || typeof request !== 'object')
      throw new MobKitError('InvalidInput', 'send: expected {resolution, payload, idempotencyKey?}');
    const resolution = request.resolution;
    if (resolution === null || typeof resolution !== 'object') {
      throw new MobKitError('InvalidInput', 'resolution: required; pass the resolution that routing issued', {
        details: { field: 'resolution' },
      });
    }
    const routeId = typeof resolution.routeId === 'string' ? resolution.routeId.trim() : '';
    if (routeId === '') {
      throw new MobKitError('InvalidRouteId', 'resolution.route_id: must be a non-blank route id issued by routing', {
        details: { field: 'resolution.route_id' },
      });
    }
    const rawKey = request.idempotencyKey;
    if (rawKey !== undefined && rawKey !== null && typeof rawKey !== 'string') {
      throw new MobKitError('InvalidIdempotencyKey', 'idempotency_key: expected a string', {
        details: { field: 'idempotency_key' },
      });
    }
    const key = typeof rawKey === 'string' ? rawKey.trim() : undefined;
    const scopedKey = key === undefined || key === '' ? undefined : `${routeId}:${key}`;
    const stored = scopedKey === undefined ? undefined : this.keys.get(scopedKey);
    // Route ids restart with a restarted router; a stored key only counts for the same resolution.
    const current = this.trusted.get(routeId);
    const known =
      stored !== undefined && (current === undefined || sameResolution(current, stored.resolution))
        ? stored
        : undefined;

    // 1. Issued? (A key that outlived the trusted cache keeps a canonical copy of its resolution.)
    const issued = current ?? known?.resolution;
    if (issued === undefined) {
      throw new MobKitError(
        'UnknownRouteId',
        `resolution.route_id ${JSON.stringify(routeId)} was not issued by routing (or was forgotten); resolve the recipient again`,
        {
          details: { route_id: routeId },
        },
      );
    }
    // 2. Every field as issued.
    const forged = RESOLUTION_FIELDS.filter(
      ([camel]) => (resolution as unknown as Record<string, unknown>)[camel] !== issued[camel],
    ).map(([, wire]) => wire);
    if (forged.length > 0) {
      throw new MobKitError(
        'ForgedResolution',
        `resolution ${routeId} differs from the issued one in ${forged.join(', ')}; send the resolution exactly as routing issued it`,
        {
          details: { route_id: routeId, fields: forged },
        },
      );
    }
    // 3. Target.
    if (issued.targetModule !== DELIVERY_TARGET_MODULE) {
      throw new MobKitError(
        'InvalidRouteTarget',
        `resolution ${routeId} targets module ${JSON.stringify(issued.targetModule)}, not "delivery"; send it through that module`,
        {
          details: { route_id: routeId, target_module: issued.targetModule },
        },
      );
    }
    // 4. Key.
    if (key === '') {
      throw new MobKitError(
        'InvalidIdempotencyKey',
        'idempotency_key: must not be blank; omit it or give a non-blank key',
        { details: { field: 'idempotency_key' } },
      );
    }
    if (request.payload === undefined)
      throw new MobKitError('InvalidInput', 'payload: required (any JSON value)', { details: { field: 'payload' } });
    // The record keeps its own copy (JSON semantics, key order kept), so later caller edits cannot change it.
    let text: string | undefined;
    try {
      text = JSON.stringify(request.payload);
    } catch (error) {
      throw new MobKitError('InvalidInput', `payload: must be JSON-serialisable (${(error as Error).message})`, {
        cause: error,
        details: { field: 'payload' },
      });
    }
    if (text === undefined)
      throw new MobKitError('InvalidInput', 'payload: must be a JSON value (not a function or symbol)', {
        details: { field: 'payload' },
      });
    const payload: unknown = JSON.parse(text);
    // The key-order-independent form is only needed to compare payloads under an idempotency key.
    const payloadJson = scopedKey === undefined ? '' : canonicalJson(payload);

    // Idempotent replay.
    if (scopedKey !== undefined) {
      if (known !== undefined) {
        if (known.payloadJson !== payloadJson) throw mismatch(routeId, key as string);
        return Promise.resolve(known.record);
      }
      const running = this.inFlight.get(scopedKey);
      if (running !== undefined) {
        if (running.payloadJson !== payloadJson) throw mismatch(routeId, key as string);
        if (this.inFlightMode === 'reject') {
          throw new MobKitError(
            'IdempotencyInFlight',
            `a delivery with idempotency key ${JSON.stringify(key)} on ${routeId} is still in flight; retry later`,
            {
              details: { route_id: routeId, idempotency_key: key },
            },
          );
        }
        return running.done;
      }
    }

    const adapter = this.sinks.get(issued.sink) ?? this.options.fallbackSink;
    if (adapter === undefined) {
      throw new MobKitError(
        'UnknownSink',
        `no sink adapter named ${JSON.stringify(issued.sink)} is configured (configured: ${this.sinkNames().join(', ') || 'none'})`,
        {
          details: { sink: issued.sink, configured: this.sinkNames() },
        },
      );
    }

    // Rate limit: per (route, recipient, sink) and 60 s window; in-flight sends hold a reservation.
    const elapsed = Math.max(0, this.clock.nowMs() - this.startedAtMs);
    const windowStart = elapsed - (elapsed % RATE_WINDOW_MS);
    this.pruneRateWindows(windowStart);
    const rateKey = `${routeId}\u0000${issued.recipient}\u0000${issued.sink}`;
    const pendingKey = `${rateKey}\u0000${windowStart}`;
    const usedEntry = this.rateUsed.get(rateKey);
    const used =
      (usedEntry?.windowStart === windowStart ? usedEntry.count : 0) + (this.ratePending.get(pendingKey) ?? 0);
    if (used >= issued.rateLimitPerMinute) {
      throw new MobKitError(
        'RateLimited',
        `rate limit exceeded for sink '${issued.sink}' at window ${windowStart} (limit=${issued.rateLimitPerMinute})`,
        {
          details: {
            sink: issued.sink,
            window_start_ms: windowStart,
            limit: issued.rateLimitPerMinute,
            route_id: routeId,
            recipient: issued.recipient,
            retry_after_ms: windowStart + RATE_WINDOW_MS - elapsed,
          },
        },
      );
    }
    this.ratePending.set(pendingKey, (this.ratePending.get(pendingKey) ?? 0) + 1);

    const deliveryId = sequenceId('delivery', this.nextSeq++);
    const settle = (record: DeliveryRecord | undefined) => {
      const left = (this.ratePending.get(pendingKey) ?? 1) - 1;
      if (left <= 0) this.ratePending.delete(pendingKey);
      else this.ratePending.set(pendingKey, left);
      if (record?.status === 'sent') this.charge(rateKey, windowStart);
      if (scopedKey !== undefined) this.inFlight.delete(scopedKey);
    };
    const done = this.deliver(deliveryId, issued, adapter, payload, key, scopedKey, payloadJson).then(
      (record) => {
        settle(record);
        return record;
      },
      (error: unknown) => {
        settle(undefined);
        throw error;
      },
    );
    if (scopedKey !== undefined) this.inFlight.set(scopedKey, { payloadJson, done });
    return done;
  }

  /** Forgets counters older than the previous window (at most two windows are kept, as in the original). */
  private pruneRateWindows(windowStart: number): void {
    if (windowStart === this.lastPrunedWindow) return;
    this.lastPrunedWindow = windowStart;
    for (const [key, entry] of this.rateUsed)
      if (entry.windowStart < windowStart - RATE_WINDOW_MS) this.rateUsed.delete(key);
  }

  /** Number of `(route, recipient, sink)` rate counters held (for diagnostics and tests). */
  get rateCounterCount(): number {
    return this.rateUsed.size;
  }

  private charge(rateKey: string, windowStart: number): void {
    const entry = this.rateUsed.get(rateKey);
    if (entry === undefined || entry.windowStart < windowStart) this.rateUsed.set(rateKey, { windowStart, count: 1 });
    else if (entry.windowStart === windowStart) entry.count += 1;
  }

  private async deliver(
    deliveryId: string,
    resolution: DeliveryResolution,
    adapter: SinkAdapter,
    payload: unknown,
    idempotencyKey: string | undefined,
    scopedKey: string | undefined,
    payloadJson: string,
  ): Promise<DeliveryRecord> {
    const ledger = this.ledger;
    const resolutionWire = ledger === undefined ? undefined : deliveryResolutionToWire(resolution);
    await ledger?.append({
      kind: 'begin',
      delivery_id: deliveryId,
      resolution: resolutionWire as DeliveryResolutionWire,
      payload,
      ...(idempotencyKey === undefined ? {} : { idempotency_key: idempotencyKey }),
      at_ms: this.clock.nowMs(),
    });
    const attempts: DeliveryAttempt[] = [];
    const total = resolution.retryMax + 1;
    let status: DeliveryRecord['status'] = 'failed';
    for (let n = 1; n <= total; n++) {
      const atMs = this.clock.nowMs();
      const message: SinkMessage = {
        deliveryId,
        routeId: resolution.routeId,
        recipient: resolution.recipient,
        channel: resolution.channel,
        sink: resolution.sink,
        payload,
        attempt: n,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      };
      let outcome: SinkOutcome;
      try {
        outcome = await adapter.send(message);
      } catch (error) {
        const retryable = (error as { retryable?: unknown })?.retryable;
        outcome = {
          ok: false,
          retryable: retryable === false ? false : true,
          error: (error as Error)?.message ?? String(error),
        };
      }
      if (outcome.ok) {
        attempts.push({ attempt: n, status: 'sent', atMs, backoffMs: 0 });
        status = 'sent';
        break;
      }
      if (!outcome.retryable || n === total) {
        attempts.push({ attempt: n, status: 'failed', atMs, backoffMs: 0, error: outcome.error });
        break;
      }
      const wait = Math.min(resolution.backoffMs * 2 ** (n - 1), this.maxBackoffMs);
      attempts.push({ attempt: n, status: 'transient_failure', atMs, backoffMs: wait, error: outcome.error });
      if (wait > 0) await this.sleep(wait);
    }
    const record: DeliveryRecord = {
      deliveryId,
      routeId: resolution.routeId,
      recipient: resolution.recipient,
      sink: resolution.sink,
      targetModule: resolution.targetModule,
      payload,
      status,
      attempts,
      firstAttemptMs: attempts[0]?.atMs ?? this.clock.nowMs(),
      finalAttemptMs: attempts[attempts.length - 1]?.atMs ?? this.clock.nowMs(),
      sinkAdapter: adapter.adapter,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    };
    freezeRecord(record);
    this.remember(record, resolution, scopedKey, payloadJson);
    this.emit(record);
    if (ledger !== undefined)
      await ledger.append({
        kind: 'record',
        record: deliveryRecordToWire(record),
        resolution: resolutionWire as DeliveryResolutionWire,
      });
    return record;
  }

  private remember(
    record: DeliveryRecord,
    resolution: DeliveryResolution,
    scopedKey: string | undefined,
    payloadJson: string,
  ): void {
    this.records.push(record);
    if (scopedKey !== undefined) this.keys.set(scopedKey, { record, resolution, payloadJson });
    while (this.records.length > this.historyLimit) {
      const evicted = this.records.shift() as DeliveryRecord;
      if (evicted.idempotencyKey !== undefined) {
        const evictedKey = `${evicted.routeId}:${evicted.idempotencyKey}`;
        if (this.keys.get(evictedKey)?.record === evicted) this.keys.delete(evictedKey);
      }
    }
  }

  private emit(record: DeliveryRecord): void {
    if (this.options.emit === undefined) return;
    const ts = Math.max(
      record.finalAttemptMs,
      this.lastEventMs,
      this.options.latestEventMs?.() ?? Number.NEGATIVE_INFINITY,
    );
    this.lastEventMs = ts;
    const wire = deliveryRecordToWire(record);
    this.options.emit({
      eventId: `evt-${record.deliveryId}`,
      source: 'module',
      timestampMs: ts,
      event: {
        kind: 'module',
        module: 'delivery',
        eventType: 'send',
        payload: {
          delivery_id: wire.delivery_id,
          route_id: wire.route_id,
          recipient: wire.recipient,
          sink: wire.sink,
          status: wire.status,
          attempts: wire.attempts,
        },
      },
    });
  }

  /** The newest `limit` (default 20) records matching `recipient`/`sink`, oldest first. */
  history(query: DeliveryHistoryQuery = {}): DeliveryRecord[] {
    const limit = query.limit ?? DEFAULT_HISTORY_PAGE;
    if (!Number.isInteger(limit) || limit < 1)
      throw new MobKitError('InvalidInput', `limit: must be a positive integer, got ${limit}`, {
        details: { field: 'limit' },
      });
    const out: DeliveryRecord[] = [];
    for (let i = this.records.length - 1; i >= 0 && out.length < limit; i--) {
      const r = this.records[i] as DeliveryRecord;
      if (query.recipient !== undefined && r.recipient !== query.recipient) continue;
      if (query.sink !== undefined && r.sink !== query.sink) continue;
      out.push(r);
    }
    return out.reverse();
  }

  /** Waits for in-flight sends and closes the ledger and the sinks. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
    await this.ledger?.close();
    for (const sink of new Set([
      ...this.sinks.values(),
      ...(this.options.fallbackSink ? [this.options.fallbackSink] : []),
    ]))
      await sink.close?.();
  }

  private checkModuleLoaded(): void {
    const mods = this.options.loadedModules;
    if (mods === undefined) return;
    const loaded = new Set(typeof mods === 'function' ? mods() : mods);
    if (!loaded.has('delivery')) {
      throw new MobKitError(
        'DeliveryModuleNotLoaded',
        'delivery needs the "delivery" module loaded; add it to the runtime modules',
        { details: { module_id: 'delivery' } },
      );
    }
  }

  /** Rebuilds records, idempotency keys and the id sequence from ledger entries. */
  private replay(entries: Iterable<LedgerEntry>): void {
    const open = new Map<string, Extract<LedgerEntry, { kind: 'begin' }>>();
    let maxSeq = -1;
    const seqOf = (id: string) => {
      const m = /^delivery-(\d+)$/.exec(id);
      if (m) maxSeq = Math.max(maxSeq, Number(m[1]));
    };
    for (const entry of entries) {
      if (entry.kind === 'begin') {
        open.set(entry.delivery_id, entry);
        seqOf(entry.delivery_id);
        continue;
      }
      const record = freezeRecord(DeliveryRecordSchema.parse(entry.record));
      const resolution = DeliveryResolutionSchema.parse(entry.resolution);
      open.delete(record.deliveryId);
      seqOf(record.deliveryId);
      const scoped = record.idempotencyKey === undefined ? undefined : `${record.routeId}:${record.idempotencyKey}`;
      this.remember(record, resolution, scoped, scoped === undefined ? '' : canonicalJson(record.payload));
    }
    // Started but never finished (the process died mid-delivery): record it as failed rather than
    // risk a second send of a payload that may already have been handed over.
    for (const begin of open.values()) {
      const resolution = DeliveryResolutionSchema.parse(begin.resolution);
      const record = freezeRecord({
        deliveryId: begin.delivery_id,
        routeId: resolution.routeId,
        recipient: resolution.recipient,
        sink: resolution.sink,
        targetModule: resolution.targetModule,
        payload: begin.payload,
        status: 'failed',
        attempts: [
          {
            attempt: 1,
            status: 'failed',
            atMs: begin.at_ms,
            backoffMs: 0,
            error: 'interrupted: the runtime stopped before this delivery finished; it was not retried',
          },
        ],
        firstAttemptMs: begin.at_ms,
        finalAttemptMs: begin.at_ms,
        ...(begin.idempotency_key === undefined ? {} : { idempotencyKey: begin.idempotency_key }),
      } satisfies DeliveryRecord);
      const scoped = record.idempotencyKey === undefined ? undefined : `${record.routeId}:${record.idempotencyKey}`;
      this.remember(record, resolution, scoped, scoped === undefined ? '' : canonicalJson(record.payload));
      void this.ledger
        ?.append({ kind: 'record', record: deliveryRecordToWire(record), resolution: begin.resolution })
        .catch(() => undefined);
    }
    this.nextSeq = maxSeq + 1;
  }
}

function sameResolution(a: DeliveryResolution, b: DeliveryResolution): boolean {
  return a.routeId === b.routeId && RESOLUTION_FIELDS.every(([camel]) => a[camel] === b[camel]);
}

function mismatch(routeId: string, key: string): MobKitError {
  return new MobKitError(
    'IdempotencyPayloadMismatch',
    `idempotency key ${JSON.stringify(key)} on ${routeId} was already used with another payload; use a new key for a new payload`,
    {
      details: { route_id: routeId, idempotency_key: key },
    },
  );
}
