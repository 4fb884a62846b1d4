import {
  type Clock,
  type EventEnvelope,
  type MobKitStore,
  MobKitError,
  type ModuleEvent,
  type TrustedResolutionLookup,
  systemClock,
} from '@mobkit/core';
import { attemptDelivery } from './attempts.js';
import { checkIssued, checkKey, copyPayload, readRequestKeys } from './checks.js';
import { DeliveryIdSource } from './delivery-id.js';
import { IdempotencyIndex, scopedKeyOf } from './idempotency.js';
import { type DeliveryLedger, FileLedger, type LedgerBeginEntry, type LedgerEntry } from './ledger.js';
import { freezeRecord, interruptedRecord, readLedger } from './ledger-replay.js';
import { RateLimiter } from './rate-limit.js';
import { StoreLedger } from './store-ledger.js';
import {
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_HISTORY_PAGE,
  DEFAULT_IDEMPOTENCY_KEY_LIMIT,
  DEFAULT_IDEMPOTENCY_KEY_TTL_MS,
  type DeliveryAttemptWire,
  type DeliveryHistoryQuery,
  type DeliveryRecord,
  DeliveryRecordSchema,
  type DeliveryResolution,
  type DeliveryResolutionWire,
  type DeliverySendRequest,
  recordWire,
  registerRecord,
  canonicalJson,
  deliveryResolutionToWire,
} from './schema.js';
import type { SinkAdapter } from './sinks/types.js';

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
  /** Issued resolutions to check against (routing's trusted store; core's `TrustedResolutionLookup`). */
  trusted: TrustedResolutionLookup;
  /**
   * The time seam: attempt times and rate windows read it, and the waits between attempts are
   * `clock.sleep(ms)` (default the system clock). Tests pass core's `ManualClock` and advance it.
   */
  clock?: Clock;
  /**
   * Durable record store. Without one, records and keys live only in this object's memory;
   * {@link DeliveryService.open} opens a {@link FileLedger} from a path; {@link MemoryLedger} is the
   * injectable in-memory one (for tests).
   */
  ledger?: DeliveryLedger;
  /**
   * A durable store (core's `MobKitStore`) to keep the ledger, the idempotency keys and the history
   * in, through a {@link StoreLedger} (instead of `ledger`): keys hold across restarts, a delivery
   * begun when the process died is in doubt and never attempted again, and {@link
   * DeliveryService.queryHistory} reads the store. The store is read before the first send (sends
   * wait for it; {@link DeliveryService.ready}); closing the service leaves the store open.
   */
  store?: MobKitStore;
  /** Records kept in the history; default 200 (idempotency keys have their own retention). */
  historyLimit?: number;
  /**
   * Finished idempotency keys honoured (the oldest leave first); default 10 000, independent of
   * `historyLimit`. A key that left is a new delivery when it is used again.
   */
  idempotencyKeyLimit?: number;
  /** How long a finished idempotency key is honoured after its delivery (ms); default 24 h. */
  idempotencyKeyTtlMs?: number;
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

/** The sink a send goes to and the idempotency bookkeeping it carries from admission to its end. */
interface Admitted {
  deliveryId: string;
  issued: DeliveryResolution;
  adapter: SinkAdapter;
  payload: unknown;
  key: string | undefined;
  scopedKey: string | undefined;
  payloadJson: string;
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
  private ledger: DeliveryLedger | undefined;
  /** Set while a store-backed ledger is being read; sends wait for it. */
  private loading: Promise<void> | undefined;
  private readonly historyLimit: number;
  private readonly maxBackoffMs: number;
  private readonly options: DeliveryServiceOptions;
  private readonly rateLimiter: RateLimiter;
  private readonly idempotency: IdempotencyIndex;

  private readonly records: DeliveryRecord[] = [];
  private readonly ids = new DeliveryIdSource();
  private lastEventMs = Number.NEGATIVE_INFINITY;

  constructor(options: DeliveryServiceOptions) {
    this.options = options;
    this.sinks = options.sinks instanceof Map ? new Map(options.sinks) : new Map(Object.entries(options.sinks));
    this.trusted = options.trusted;
    this.clock = options.clock ?? systemClock;
    this.ledger = options.ledger;
    this.historyLimit = positiveOption('historyLimit', options.historyLimit, DEFAULT_HISTORY_LIMIT);
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.idempotency = new IdempotencyIndex(options.inFlight ?? 'wait', {
      limit: positiveOption('idempotencyKeyLimit', options.idempotencyKeyLimit, DEFAULT_IDEMPOTENCY_KEY_LIMIT),
      ttlMs: positiveOption('idempotencyKeyTtlMs', options.idempotencyKeyTtlMs, DEFAULT_IDEMPOTENCY_KEY_TTL_MS),
    });
    this.rateLimiter = new RateLimiter(this.clock.nowMs());
    if (options.store !== undefined && options.ledger !== undefined)
      throw new MobKitError('InvalidConfig', 'delivery: pass either `store` or `ledger`, not both');
    if (this.ledger !== undefined) this.replay(this.ledger.replay());
    if (options.store !== undefined) {
      this.loading = this.openStore(options.store);
      this.loading.catch(() => undefined); // sends and ready() still see the rejection
    }
  }

  private async openStore(store: MobKitStore): Promise<void> {
    const ledger = await StoreLedger.open(store, {
      historyLimit: this.historyLimit,
      idempotencyKeyLimit: this.idempotency.retention.limit,
      idempotencyKeyTtlMs: this.idempotency.retention.ttlMs,
      nowMs: () => this.clock.nowMs(),
    });
    this.ledger = ledger;
    this.replay(ledger.replay());
    this.loading = undefined;
  }

  /** Resolves once the store (if any) was read; rejects with what reading it failed with. */
  async ready(): Promise<void> {
    await this.loading;
  }

  /**
   * Creates a service whose ledger is the JSONL file at `ledgerPath` (replaying what an earlier
   * run wrote), or in memory when no path is given.
   */
  static async open(
    options: Omit<DeliveryServiceOptions, 'ledger'> & { ledgerPath?: string; ledger?: DeliveryLedger },
  ): Promise<DeliveryService> {
    const { ledgerPath, ...rest } = options;
    if (ledgerPath !== undefined && rest.store !== undefined)
      throw new MobKitError('InvalidConfig', 'delivery: pass either `store` or `ledgerPath`, not both');
    const ledger = rest.ledger ?? (ledgerPath === undefined ? undefined : await FileLedger.open(ledgerPath));
    const service = new DeliveryService({ ...rest, ...(ledger === undefined ? {} : { ledger }) });
    await service.ready();
    return service;
  }

  /** Sink names this service can deliver to. */
  sinkNames(): string[] {
    return [...this.sinks.keys()].sort();
  }

  /** Number of `(route, recipient, sink)` rate counters held (for diagnostics and tests). */
  get rateCounterCount(): number {
    return this.rateLimiter.counterCount;
  }

  /**
   * Delivers `payload` along `resolution`. Checks, in order: the resolution's route id was issued
   * (`InvalidRouteId` when blank, `UnknownRouteId`), every field equals the issued one
   * (`ForgedResolution`), it targets `delivery` (`InvalidRouteTarget`), the idempotency key is not
   * blank (`InvalidIdempotencyKey`). A known `route_id:key` returns the same record without a new
   * attempt (`IdempotencyPayloadMismatch` for another payload); a duplicate of an in-flight send
   * waits for it. Then the sink must exist (`UnknownSink`) and the rate limit must allow it
   * (`RateLimited`). The record's wire form is built once, when the send finishes:
   * `deliveryRecordToWire(record)` returns that same object (the event and the ledger carry it too).
   */
  send(request: DeliverySendRequest): Promise<DeliveryRecord> {
    if (this.loading !== undefined) return this.loading.then(() => this.admit(request));
    try {
      return this.admit(request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private admit(request: DeliverySendRequest): Promise<DeliveryRecord> {
    this.checkModuleLoaded();
    const { routeId, key } = readRequestKeys(request);
    const scopedKey = key === undefined || key === '' ? undefined : scopedKeyOf(routeId, key);
    const current = this.trusted.get(routeId);
    const known = scopedKey === undefined ? undefined : this.idempotency.known(scopedKey, current, this.clock.nowMs());
    // A key that outlived the trusted cache keeps a canonical copy of its resolution.
    const issued = checkIssued(request.resolution, routeId, current ?? known?.resolution);
    checkKey(key);
    const payload = copyPayload(request.payload);
    // The key-order-independent form is only needed to compare payloads under an idempotency key.
    const payloadJson = scopedKey === undefined ? '' : canonicalJson(payload);
    if (scopedKey !== undefined) {
      const replayed = this.idempotency.replay(scopedKey, known, payloadJson, routeId, key as string);
      if (replayed !== undefined) return replayed;
    }
    const adapter = this.adapterFor(issued.sink);
    const reservation = this.rateLimiter.reserve(issued, this.clock.nowMs());
    const admitted: Admitted = {
      deliveryId: this.ids.next(this.clock.nowMs()),
      issued,
      adapter,
      payload,
      key,
      scopedKey,
      payloadJson,
    };
    const done = this.deliver(admitted).then(
      (record) => {
        reservation.settle(record.status === 'sent');
        if (scopedKey !== undefined) this.idempotency.settled(scopedKey);
        return record;
      },
      (error: unknown) => {
        reservation.settle(false);
        if (scopedKey !== undefined) this.idempotency.settled(scopedKey);
        throw error;
      },
    );
    if (scopedKey !== undefined) this.idempotency.track(scopedKey, payloadJson, done);
    return done;
  }

  private adapterFor(sink: string): SinkAdapter {
    const adapter = this.sinks.get(sink) ?? this.options.fallbackSink;
    if (adapter === undefined) {
      throw new MobKitError(
        'UnknownSink',
        `no sink adapter named ${JSON.stringify(sink)} is configured (configured: ${this.sinkNames().join(', ') || 'none'})`,
        { details: { sink, configured: this.sinkNames() } },
      );
    }
    return adapter;
  }

  /**
   * Writes `begin`, makes the attempts, writes the finished record (its wire form built once), and
   * only once that line is durable remembers, announces and returns it. If the record line cannot be
   * written, the send is not acknowledged (`LedgerWriteFailed`) and is remembered as the ledger has
   * it — begun, never finished, so failed and never sent again — exactly what a restart replays.
   */
  private async deliver(send: Admitted): Promise<DeliveryRecord> {
    const { deliveryId, issued, adapter, payload, key } = send;
    const ledger = this.ledger;
    const resolutionWire = ledger === undefined ? undefined : deliveryResolutionToWire(issued);
    const begin: LedgerBeginEntry = {
      kind: 'begin',
      delivery_id: deliveryId,
      resolution: resolutionWire as DeliveryResolutionWire,
      payload,
      ...(key === undefined ? {} : { idempotency_key: key }),
      at_ms: this.clock.nowMs(),
    };
    await ledger?.append(begin);
    const message = {
      deliveryId,
      routeId: issued.routeId,
      recipient: issued.recipient,
      channel: issued.channel,
      sink: issued.sink,
      payload,
      ...(key === undefined ? {} : { idempotencyKey: key }),
    };
    const policy = { retryMax: issued.retryMax, backoffMs: issued.backoffMs, maxBackoffMs: this.maxBackoffMs };
    const { status, attempts } = await attemptDelivery(adapter, message, policy, this.clock);
    const record = freezeRecord({
      deliveryId,
      routeId: issued.routeId,
      recipient: issued.recipient,
      sink: issued.sink,
      targetModule: issued.targetModule,
      payload,
      status,
      attempts,
      firstAttemptMs: attempts[0]?.atMs ?? this.clock.nowMs(),
      finalAttemptMs: attempts[attempts.length - 1]?.atMs ?? this.clock.nowMs(),
      sinkAdapter: adapter.adapter,
      ...(key === undefined ? {} : { idempotencyKey: key }),
    });
    registerRecord(record); // its wire form is built once, by the first of the ledger, the event or a caller
    if (ledger !== undefined) {
      try {
        await ledger.append({ kind: 'record', record: recordWire(record), resolution: begin.resolution });
      } catch (error) {
        this.remember(interruptedRecord(begin, issued), issued, send.scopedKey, send.payloadJson);
        throw new MobKitError(
          'LedgerWriteFailed',
          `delivery ${deliveryId} ended ${status} at the sink, but its record could not be written to the ledger (${(error as Error).message}); it is kept as failed and will not be sent again`,
          { cause: error, details: { delivery_id: deliveryId, route_id: issued.routeId, sink_status: status } },
        );
      }
    }
    this.remember(record, issued, send.scopedKey, send.payloadJson);
    this.emit(record);
    return record;
  }

  private remember(
    record: DeliveryRecord,
    resolution: DeliveryResolution,
    scopedKey: string | undefined,
    payloadJson: string,
  ): void {
    this.records.push(record);
    if (scopedKey !== undefined)
      this.idempotency.remember(scopedKey, { record, resolution, payloadJson, atMs: record.finalAttemptMs });
    // Trimmed in batches (the history reads only the newest `historyLimit`): one splice per `historyLimit` sends.
    if (this.records.length >= 2 * this.historyLimit) this.records.splice(0, this.records.length - this.historyLimit);
  }

  private emit(record: DeliveryRecord): void {
    if (this.options.emit === undefined) return;
    const wire = recordWire(record);
    const ts = Math.max(
      record.finalAttemptMs,
      this.lastEventMs,
      this.options.latestEventMs?.() ?? Number.NEGATIVE_INFINITY,
    );
    this.lastEventMs = ts;
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
    const limit = historyPage(query);
    const out: DeliveryRecord[] = [];
    const oldest = Math.max(0, this.records.length - this.historyLimit);
    for (let i = this.records.length - 1; i >= oldest && out.length < limit; i--) {
      const r = this.records[i] as DeliveryRecord;
      if (query.recipient !== undefined && r.recipient !== query.recipient) continue;
      if (query.sink !== undefined && r.sink !== query.sink) continue;
      out.push(r);
    }
    return out.reverse();
  }

  /**
   * The newest `limit` (default 20) records matching `recipient`/`sink`, oldest first, like
   * {@link history} — read from the store when the service has one (so it includes what earlier runs
   * sent), else from memory.
   */
  async queryHistory(query: DeliveryHistoryQuery = {}): Promise<DeliveryRecord[]> {
    const limit = historyPage(query);
    await this.loading;
    if (!(this.ledger instanceof StoreLedger)) return this.history(query);
    const wires = await this.ledger.history({ ...query, limit });
    return wires.reverse().map((wire) => freezeRecord(DeliveryRecordSchema.parse(wire)));
  }

  /** Waits for in-flight sends and closes the ledger and the sinks (a `store` stays open: its owner closes it). */
  async close(): Promise<void> {
    await this.loading?.catch(() => undefined);
    await Promise.allSettled(this.idempotency.inFlight());
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

  /** Rebuilds records and idempotency keys from ledger entries (see {@link readLedger}). */
  private replay(entries: Iterable<LedgerEntry>): void {
    const deliveries = readLedger(entries);
    for (const { record, resolution, interrupted } of deliveries) {
      registerRecord(record);
      const scoped =
        record.idempotencyKey === undefined ? undefined : scopedKeyOf(record.routeId, record.idempotencyKey);
      this.remember(record, resolution, scoped, scoped === undefined ? '' : canonicalJson(record.payload));
      if (interrupted) {
        void this.ledger
          ?.append({
            kind: 'record',
            record: recordWire(record),
            resolution: deliveryResolutionToWire(resolution),
          })
          .catch(() => undefined);
      }
    }
  }
}

/** The page size of a history query (default 20); `InvalidInput` unless a positive integer. */
function historyPage(query: DeliveryHistoryQuery): number {
  const limit = query.limit ?? DEFAULT_HISTORY_PAGE;
  if (!Number.isInteger(limit) || limit < 1)
    throw new MobKitError('InvalidInput', `limit: must be a positive integer, got ${limit}`, {
      details: { field: 'limit' },
    });
  return limit;
}

/** A positive integer option, or its default; `InvalidConfig` naming the option otherwise. */
function positiveOption(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new MobKitError('InvalidConfig', `${name}: must be a positive integer, got ${n}`);
  return n;
}
