import { z } from 'zod';

/** Token usage of one LLM call or a whole run (wire: `{input_tokens, output_tokens}`). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** Why the model stopped (Meerkat's `StopReason`). */
export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'content_filter' | 'cancelled';

/** Agent events with Meerkat's names (`AgentEvent`, snake_case `type`), camelCase fields. */
export type AgentEventPayload =
  | { type: 'run_started'; sessionId: string; prompt: string }
  | { type: 'turn_started'; turnNumber: number }
  | { type: 'text_delta'; delta: string }
  | { type: 'text_complete'; content: string }
  | {
      /** The model asked for a tool. `id` is the original's name for `toolCallId` (both are sent). */
      type: 'tool_call_requested';
      id: string;
      toolCallId?: string;
      name: string;
      args: unknown;
      /** The MCP server the tool belongs to, if any. */
      server?: string;
      /** The supervised module the tool belongs to, if any. */
      module?: string;
    }
  | {
      /** A tool call finished (`isError` for an error result, which the run goes on with). */
      type: 'tool_execution_completed';
      id: string;
      toolCallId?: string;
      name: string;
      result: string;
      isError: boolean;
      durationMs: number;
      server?: string;
      module?: string;
    }
  | { type: 'turn_completed'; stopReason: StopReason; usage: TokenUsage }
  | { type: 'run_completed'; sessionId: string; result: string; usage: TokenUsage }
  | { type: 'run_failed'; sessionId: string; errorClass: string; error: string }
  | { type: 'peer_content_ingested'; peer: string }
  | { type: 'retrying'; attempt: number; delayMs: number; error: string }
  | {
      /** Older turns of the session were summarised by the member's model; the full history stays in the store. */
      type: 'compacted';
      sessionId: string;
      /** Messages the summary replaces in what the model sees. */
      summarizedMessages: number;
      /** Estimated prompt tokens before and after. */
      tokensBefore: number;
      tokensAfter: number;
    }
  | { type: 'other'; raw: unknown };

/** Names of {@link AgentEventPayload} types. */
export type AgentEventType = AgentEventPayload['type'];

/** An agent event payload on the wire: snake_case keys, `type` first (`{type: "run_completed", session_id, result, usage: {input_tokens, output_tokens}}`). */
export type AgentEventPayloadWire = { type: string } & Record<string, unknown>;

type PayloadOf<T extends AgentEventType> = Extract<AgentEventPayload, { type: T }>;

// ---- value schemas: the camelCase shape of each type; their keys also drive the encoder ------------

const text = z.string();
const count = z.number();
const UsageValue = z.object({ inputTokens: count, outputTokens: count });
const StopReasonValue = z.custom<StopReason>((v) => typeof v === 'string');

const VALUE_SHAPES = {
  run_started: { sessionId: text, prompt: text },
  turn_started: { turnNumber: count },
  text_delta: { delta: text },
  text_complete: { content: text },
  tool_call_requested: {
    id: text,
    toolCallId: text.optional(),
    name: text,
    args: z.unknown(),
    server: text.optional(),
    module: text.optional(),
  },
  tool_execution_completed: {
    id: text,
    toolCallId: text.optional(),
    name: text,
    result: text,
    isError: z.boolean(),
    durationMs: count,
    server: text.optional(),
    module: text.optional(),
  },
  turn_completed: { stopReason: StopReasonValue, usage: UsageValue },
  run_completed: { sessionId: text, result: text, usage: UsageValue },
  run_failed: { sessionId: text, errorClass: text, error: text },
  peer_content_ingested: { peer: text },
  retrying: { attempt: count, delayMs: count, error: text },
  compacted: { sessionId: text, summarizedMessages: count, tokensBefore: count, tokensAfter: count },
} as const satisfies Record<Exclude<AgentEventType, 'other'>, z.ZodRawShape>;

type KnownType = keyof typeof VALUE_SHAPES;

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Per type: the value's keys and their wire names, in the value's key order. Derived once from the shapes. */
const KEY_MAP: Readonly<Record<KnownType, ReadonlyArray<readonly [string, string]>>> = Object.freeze(
  Object.fromEntries(
    Object.entries(VALUE_SHAPES).map(([type, shape]) => [
      type,
      Object.keys(shape).map((key) => [key, snake(key)] as const),
    ]),
  ) as unknown as Record<KnownType, ReadonlyArray<readonly [string, string]>>,
);

function usageToWire(usage: TokenUsage): { input_tokens: number; output_tokens: number } {
  return { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens };
}

/**
 * The wire form of an agent event payload: each key in snake_case (`sessionId` → `session_id`),
 * `usage` as `{input_tokens, output_tokens}`; tool `args` and `result` untouched; `other` as
 * `{type: "other", raw}`. This is the encode direction of {@link AgentEventPayloadCodec} without
 * zod's validation pass: one walk over a key map derived from the codec's value shapes, for the
 * per-event SSE path (measured ≈ 0.2 µs per event against ≈ 9 µs for `z.encode` of the codec;
 * `packages/mob-adapter/bench/agent-event.mjs` measures both).
 */
export function agentEventPayloadToWire(payload: AgentEventPayload): AgentEventPayloadWire {
  if (payload.type === 'other') return { type: 'other', raw: payload.raw };
  const keys = KEY_MAP[payload.type];
  const source = payload as unknown as Record<string, unknown>;
  const out: AgentEventPayloadWire = { type: payload.type };
  for (const [key, wireKey] of keys) {
    const value = source[key];
    if (value === undefined) continue;
    out[wireKey] = key === 'usage' ? usageToWire(value as TokenUsage) : value;
  }
  return out;
}

// ---- wire schemas and decoders: lenient, as Meerkat's events vary by version -------------------

const loose = z.unknown().optional();
const WireUsage = z.looseObject({ input_tokens: loose, output_tokens: loose }).optional();

const str = (v: unknown, fallback = ''): string => (v === undefined || v === null ? fallback : String(v));
const num = (v: unknown): number => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};
/** A tool event's `server` / `module` (only the ones present, as strings). */
const origin = (w: { server?: unknown; module?: unknown }): { server?: string; module?: string } => {
  const out: { server?: string; module?: string } = {};
  if (typeof w.server === 'string') out.server = w.server;
  if (typeof w.module === 'string') out.module = w.module;
  return out;
};
const usageFromWire = (u: z.output<typeof WireUsage>): TokenUsage => ({
  inputTokens: num(u?.input_tokens),
  outputTokens: num(u?.output_tokens),
});

function wireObject<T extends KnownType, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.looseObject({ type: z.literal(type), ...shape });
}

/** One codec per known type: the wire object (lenient), the value object, decode, and encode by the key map. */
function typeCodec<T extends KnownType, S extends z.ZodRawShape>(
  type: T,
  wireShape: S,
  decode: (wire: z.output<ReturnType<typeof wireObject<T, S>>>) => PayloadOf<T>,
) {
  const value = z.object({ type: z.literal(type), ...VALUE_SHAPES[type] });
  return z.codec(wireObject(type, wireShape), value, {
    decode: (w) => decode(w) as never,
    encode: (v) => agentEventPayloadToWire(v as unknown as AgentEventPayload) as never,
  });
}

const KnownAgentEventCodec = z.discriminatedUnion('type', [
  typeCodec('run_started', { session_id: loose, prompt: loose }, (w) => ({
    type: 'run_started',
    sessionId: str(w.session_id),
    prompt: typeof w.prompt === 'string' ? w.prompt : JSON.stringify(w.prompt ?? ''),
  })),
  typeCodec('turn_started', { turn_number: loose }, (w) => ({ type: 'turn_started', turnNumber: num(w.turn_number) })),
  typeCodec('text_delta', { delta: loose }, (w) => ({ type: 'text_delta', delta: str(w.delta) })),
  typeCodec('text_complete', { content: loose }, (w) => ({ type: 'text_complete', content: str(w.content) })),
  typeCodec(
    'tool_call_requested',
    { id: loose, tool_call_id: loose, name: loose, args: loose, server: loose, module: loose },
    (w) => {
      const id = str(w.tool_call_id ?? w.id);
      return {
        type: 'tool_call_requested',
        id,
        ...(w.tool_call_id === undefined ? {} : { toolCallId: id }),
        name: str(w.name),
        args: w.args,
        ...origin(w),
      };
    },
  ),
  // Meerkat names the result `content`; our own wire (and older servers) `result`.
  typeCodec(
    'tool_execution_completed',
    {
      id: loose,
      tool_call_id: loose,
      name: loose,
      content: loose,
      result: loose,
      is_error: loose,
      duration_ms: loose,
      server: loose,
      module: loose,
    },
    (w) => {
      const result = w.content ?? w.result;
      const id = str(w.tool_call_id ?? w.id);
      return {
        type: 'tool_execution_completed',
        id,
        ...(w.tool_call_id === undefined ? {} : { toolCallId: id }),
        name: str(w.name),
        ...origin(w),
        result: typeof result === 'string' ? result : JSON.stringify(result ?? null),
        isError: w.is_error === true,
        durationMs: num(w.duration_ms),
      };
    },
  ),
  typeCodec('turn_completed', { stop_reason: loose, usage: WireUsage }, (w) => ({
    type: 'turn_completed',
    stopReason: (typeof w.stop_reason === 'string' ? w.stop_reason : 'end_turn') as StopReason,
    usage: usageFromWire(w.usage),
  })),
  typeCodec('run_completed', { session_id: loose, result: loose, usage: WireUsage }, (w) => ({
    type: 'run_completed',
    sessionId: str(w.session_id),
    result: str(w.result),
    usage: usageFromWire(w.usage),
  })),
  // Meerkat reports `error_report: {class, message}`; our own wire flattens it to `error_class`, `error`.
  typeCodec(
    'run_failed',
    {
      session_id: loose,
      error_class: loose,
      error: loose,
      error_report: z.looseObject({ class: loose, message: loose }).optional(),
    },
    (w) => ({
      type: 'run_failed',
      sessionId: str(w.session_id),
      errorClass: str(w.error_report?.class ?? w.error_class, 'unknown'),
      error: str(w.error_report?.message ?? w.error),
    }),
  ),
  typeCodec('peer_content_ingested', { peer: loose }, (w) => ({ type: 'peer_content_ingested', peer: str(w.peer) })),
  typeCodec('retrying', { attempt: loose, delay_ms: loose, error: loose }, (w) => ({
    type: 'retrying',
    attempt: num(w.attempt),
    delayMs: num(w.delay_ms),
    error: str(w.error),
  })),
  typeCodec(
    'compacted',
    { session_id: loose, summarized_messages: loose, tokens_before: loose, tokens_after: loose },
    (w) => ({
      type: 'compacted',
      sessionId: str(w.session_id),
      summarizedMessages: num(w.summarized_messages),
      tokensBefore: num(w.tokens_before),
      tokensAfter: num(w.tokens_after),
    }),
  ),
]);

/** Any other type (Meerkat has ~40): kept whole as `raw`; our own `{type: "other", raw}` reads back as itself. */
const OtherAgentEventCodec = z.codec(
  z.looseObject({ type: z.string() }),
  z.object({ type: z.literal('other'), raw: z.unknown() }),
  {
    decode: (w) => ({ type: 'other' as const, raw: w.type === 'other' && 'raw' in w ? w.raw : w }),
    encode: (v) => ({ type: 'other', raw: v.raw }),
  },
);

/**
 * The one codec of agent event payloads: decodes Meerkat's and our own snake_case wire form into
 * {@link AgentEventPayload} (missing fields get neutral defaults; an unknown `type` becomes
 * `{type: "other", raw}`), and encodes back to the snake_case form. Use
 * {@link agentEventPayloadFromWire} and {@link agentEventPayloadToWire} on hot paths.
 */
export const AgentEventPayloadCodec = z.union([KnownAgentEventCodec, OtherAgentEventCodec]);

const SESSION_TYPES: ReadonlySet<unknown> = new Set(
  Object.entries(VALUE_SHAPES)
    .filter(([, shape]) => 'sessionId' in shape)
    .map(([type]) => type),
);

/**
 * Decodes one agent event payload from the wire (the decode direction of
 * {@link AgentEventPayloadCodec}). Never throws: a payload that is not an object, or a known type
 * whose fields cannot be read, becomes `{type: "other", raw}`. `fallbackSessionId` fills
 * `session_id` when the payload leaves it out (Meerkat puts it on the envelope's `source`).
 */
export function agentEventPayloadFromWire(wire: unknown, fallbackSessionId?: string): AgentEventPayload {
  if (wire === null || typeof wire !== 'object' || Array.isArray(wire)) return { type: 'other', raw: wire };
  const fields = wire as Record<string, unknown>;
  const input =
    fallbackSessionId !== undefined && fields.session_id === undefined && SESSION_TYPES.has(fields.type)
      ? { ...fields, session_id: fallbackSessionId }
      : wire;
  const result = AgentEventPayloadCodec.safeDecode(input as z.input<typeof AgentEventPayloadCodec>);
  return result.success ? (result.data as AgentEventPayload) : { type: 'other', raw: wire };
}
