import {
  type Clock,
  type EventEnvelope,
  MobKitError,
  type MobKitStore,
  type UnifiedEvent,
  toMobKitError,
} from '@mobkit/core';
import {
  DeliveryService,
  type DeliveryHistoryQuery as HistoryQuery,
  type DeliveryRecord,
  type DeliverySendRequest,
  MobMemberSink,
  type SinkAdapter,
  type SinkMessage,
  type SinkOutcome,
  parseDeliverySendRequest,
} from '@mobkit/delivery';
import { type TrustedResolutionLookup, routingResolutionToWire } from '@mobkit/routing';
import type { ModuleRuntime } from '@mobkit/supervisor';
import type { EventHub } from './events.js';
import type { MobHandle } from './mob.js';

/** A delivery send request (`{ resolution, payload, idempotencyKey? }`). */
export type DeliverySendInput = DeliverySendRequest;
/** A delivery record. */
export type DeliveryRecordView = DeliveryRecord;
/** A history filter (`{ recipient?, sink?, limit = 20 }`). */
export type DeliveryHistoryQuery = HistoryQuery;

/** Parses `mobkit/delivery/send` params (`{resolution, payload, idempotency_key?}`), `-32602` on bad input. */
export function parseDeliverySendParams(params: unknown): DeliverySendRequest {
  try {
    return parseDeliverySendRequest(params ?? {});
  } catch (error) {
    const e = toMobKitError(error);
    throw new MobKitError('RpcInvalidParams', `Invalid params: ${e.message}`, { cause: e, details: e.details });
  }
}

/** The text a member receives for a delivered payload: a string as is, else `message`/`text`, else JSON. */
export function payloadText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  if (payload && typeof payload === 'object') {
    const { message, text } = payload as { message?: unknown; text?: unknown };
    if (typeof message === 'string' && message.trim() !== '') return message;
    if (typeof text === 'string' && text.trim() !== '') return text;
  }
  return JSON.stringify(payload);
}

/** What `delivery.attempt` answers (the module's one attempt). */
interface AttemptAnswer {
  ok?: unknown;
  retryable?: unknown;
  error?: unknown;
  adapter?: unknown;
}

/**
 * A sink that hands the attempt to the `delivery` MCP module (`delivery.send` on its kept session),
 * which owns the real adapters (SMTP, webhooks…). The module's answer is final: `force_fail` or a
 * `failed` status is a permanent failure; a call that fails (timeout, crash, tool error) is retryable.
 * The idempotency key sent is the runtime's, or the delivery id, so a retried call is never a second send.
 */
class DeliveryModuleSink implements SinkAdapter {
  readonly adapter = 'delivery_module';
  constructor(
    private readonly modules: ModuleRuntime,
    private readonly trusted: TrustedResolutionLookup,
    private readonly timeoutMs: number,
    /** Only execute attempts (`delivery.attempt`): the runtime owns the ledger, keys, rates and retries. */
    private readonly executeOnly: boolean,
  ) {}

  async send(message: SinkMessage): Promise<SinkOutcome> {
    const resolution = this.trusted.get(message.routeId);
    if (!resolution) return { ok: false, retryable: false, error: `route ${message.routeId} is no longer trusted` };
    if (!this.modules.loadedModules().includes('delivery'))
      return { ok: false, retryable: true, error: 'the delivery module is not loaded' };
    // A delivery module that predates `delivery.attempt` (the original's, a user's) still gets `delivery.send`:
    // it then keeps its own ledger too, and the runtime's idempotency key (or delivery id) travels with it.
    if (this.executeOnly && this.modules.moduleStatus('delivery')?.tools.includes('delivery.attempt'))
      return this.attempt(message, resolution);
    try {
      const result = await this.modules.callTool(
        'delivery',
        'delivery.send',
        {
          resolution: routingResolutionToWire(resolution),
          payload: message.payload,
          idempotency_key: message.idempotencyKey ?? message.deliveryId,
        },
        this.timeoutMs,
      );
      const answer = (result.payload ?? {}) as { force_fail?: unknown; status?: unknown; adapter?: unknown };
      if (answer.force_fail === true || answer.status === 'failed') {
        return {
          ok: false,
          retryable: false,
          error: `the delivery module reported a failed send${typeof answer.adapter === 'string' ? ` (adapter ${answer.adapter})` : ''}`,
        };
      }
      return { ok: true };
    } catch (error) {
      return { ok: false, retryable: true, error: toMobKitError(error).message };
    }
  }

  /**
   * One attempt through `delivery.attempt`, under the runtime's delivery id and attempt number (the
   * sink sees the same `webhook-id` on every retry). A call that fails (timeout, crash) is retryable:
   * the module may have made the attempt, and the sink can tell the retry by its id.
   */
  private async attempt(
    message: SinkMessage,
    resolution: NonNullable<ReturnType<TrustedResolutionLookup['get']>>,
  ): Promise<SinkOutcome> {
    try {
      const result = await this.modules.callTool(
        'delivery',
        'delivery.attempt',
        {
          delivery_id: message.deliveryId,
          resolution: routingResolutionToWire(resolution),
          payload: message.payload,
          ...(message.idempotencyKey === undefined ? {} : { idempotency_key: message.idempotencyKey }),
          attempt: message.attempt,
        },
        this.timeoutMs,
      );
      const answer = (result.payload ?? {}) as AttemptAnswer;
      if (answer.ok === true) return { ok: true };
      const adapter = typeof answer.adapter === 'string' ? ` (adapter ${answer.adapter})` : '';
      return {
        ok: false,
        retryable: answer.retryable !== false,
        error: `${typeof answer.error === 'string' ? answer.error : 'the delivery module reported a failed attempt'}${adapter}`,
      };
    } catch (error) {
      return { ok: false, retryable: true, error: toMobKitError(error).message };
    }
  }
}

/**
 * Wires {@link DeliveryService} into the unified runtime: trust from routing, `mob_member` to the
 * mob, other sinks to the delivery module. With a `store`, this service is the ONE owner of every
 * delivery — the durable ledger, idempotency keys, rate limits and retries, on the store's records —
 * and the module only executes single attempts (`delivery.attempt`, under this delivery id; a module
 * without that tool gets `delivery.send` with the runtime's key, as before).
 * Without one, state stays in memory and the module's `delivery.send` is called, as before.
 */
export class DeliveryBridge {
  private readonly service: DeliveryService;

  constructor(deps: {
    trusted: TrustedResolutionLookup;
    modules: ModuleRuntime;
    mob: MobHandle;
    hub: EventHub;
    clock: Clock;
    timeoutMs: number;
    /** The runtime's durable store: the ledger, keys and history live in it (the runtime closes it). */
    store?: MobKitStore;
  }) {
    this.service = new DeliveryService({
      // `mob_member` goes to the mob in process; every other sink is the delivery module's.
      sinks: {
        mob_member: new MobMemberSink(async (memberId, payload) => {
          await deps.mob.sendMessage(memberId, payloadText(payload));
        }),
      },
      fallbackSink: new DeliveryModuleSink(deps.modules, deps.trusted, deps.timeoutMs, deps.store !== undefined),
      ...(deps.store === undefined ? {} : { store: deps.store }),
      trusted: deps.trusted,
      clock: deps.clock,
      loadedModules: () => deps.modules.loadedModules(),
      emit: (event) => deps.hub.publish(event as EventEnvelope<UnifiedEvent>),
      latestEventMs: () => deps.hub.latestTimestampMs(),
    });
  }

  send(request: DeliverySendRequest): Promise<DeliveryRecord> {
    return this.service.send(request);
  }

  /** The newest records in memory (with a store: warmed from it at start and written through). */
  history(query: HistoryQuery): DeliveryRecord[] {
    return this.service.history(query);
  }

  /** The history read from the store when there is one (it includes earlier runs), else from memory. */
  queryHistory(query: HistoryQuery): Promise<DeliveryRecord[]> {
    return this.service.queryHistory(query);
  }

  /** Resolves once the store's ledger was read (sends wait for it anyway). */
  ready(): Promise<void> {
    return this.service.ready();
  }

  close(): Promise<void> {
    return this.service.close();
  }
}
