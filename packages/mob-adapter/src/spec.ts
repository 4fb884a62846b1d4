import { invalidInput, requireMemberId } from './errors.js';
import type { ContentInput, MobRuntime, SpawnMemberSpec as SpawnMemberSpecType } from './types.js';

/** Text of a content input (text blocks joined by newlines; other blocks become `[type]`). */
export function contentText(content: ContentInput): string {
  if (typeof content === 'string') return content;
  return content.map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : `[${b.type}]`)).join('\n');
}

/** Rejects missing or empty content (`InvalidInput`, naming the field). */
export function requireContent(content: unknown, field = 'content'): ContentInput {
  if (typeof content === 'string') {
    if (content.trim() === '') throw invalidInput(field, 'must not be empty');
    return content;
  }
  if (Array.isArray(content)) {
    if (content.length === 0) throw invalidInput(field, 'must not be empty');
    content.forEach((b, i) => {
      if (b === null || typeof b !== 'object' || typeof (b as { type?: unknown }).type !== 'string') {
        throw invalidInput(`${field}[${i}]`, 'must be a content block with a string "type"');
      }
    });
    const hasSomething = content.some(
      (b) => (b as { type: string }).type !== 'text' || String((b as { text?: unknown }).text ?? '').trim() !== '',
    );
    if (!hasSomething) throw invalidInput(field, 'must not be empty');
    return content as ContentInput;
  }
  throw invalidInput(field, 'must be text or an array of content blocks');
}

function checkLabels(labels: unknown, field: string): Record<string, string> | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (typeof labels !== 'object' || Array.isArray(labels))
    throw invalidInput(field, 'must be an object of string values');
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string') throw invalidInput(`${field}.${k}`, 'must be a string');
  }
  return { ...(labels as Record<string, string>) };
}

/** Validates a spawn spec (blank ids, wrong types) and returns a normalized copy. */
export function normalizeSpawnSpec(spec: SpawnMemberSpecType, field = 'spec'): SpawnMemberSpecType {
  if (spec === null || typeof spec !== 'object') throw invalidInput(field, 'must be an object');
  const out: SpawnMemberSpecType = {
    profile: requireMemberId(spec.profile, `${field}.profile`),
    meerkatId: requireMemberId(spec.meerkatId, `${field}.meerkat_id`),
  };
  if (spec.initialMessage !== undefined && spec.initialMessage !== null)
    out.initialMessage = requireContent(spec.initialMessage, `${field}.initial_message`);
  if (spec.context !== undefined && spec.context !== null) out.context = spec.context;
  const labels = checkLabels(spec.labels, `${field}.labels`);
  if (labels && Object.keys(labels).length > 0) out.labels = labels;
  if (spec.additionalInstructions && spec.additionalInstructions.length > 0) {
    if (!Array.isArray(spec.additionalInstructions) || spec.additionalInstructions.some((s) => typeof s !== 'string')) {
      throw invalidInput(`${field}.additional_instructions`, 'must be an array of strings');
    }
    out.additionalInstructions = [...spec.additionalInstructions];
  }
  if (spec.resumeSessionId !== undefined) out.resumeSessionId = spec.resumeSessionId;
  if (spec.runtimeMode !== undefined) {
    if (spec.runtimeMode !== 'autonomous_host' && spec.runtimeMode !== 'turn_driven') {
      throw invalidInput(
        `${field}.runtime_mode`,
        `must be autonomous_host or turn_driven, got ${JSON.stringify(spec.runtimeMode)}`,
      );
    }
    out.runtimeMode = spec.runtimeMode;
  }
  return out;
}

/** Wire (snake_case) form of a spawn spec, as in mobkit discovery and rkat-rpc `mob/spawn`. */
export interface SpawnMemberSpecWire {
  profile: string;
  meerkat_id: string;
  initial_message?: ContentInput;
  context?: unknown;
  labels?: Record<string, string>;
  additional_instructions?: string[];
  resume_session_id?: string;
  runtime_mode?: 'autonomous_host' | 'turn_driven';
}

/**
 * Builders for {@link SpawnMemberSpecType}: `SpawnMemberSpec.fromWire(profile, memberId, initialMessage?, context?, labels?)`
 * exactly as the seed's `SpawnMemberSpec::from_wire`.
 */
export const SpawnMemberSpec = Object.freeze({
  /** The seed's `SpawnMemberSpec::from_wire(profile, member_id, initial_message, context, labels)`. */
  fromWire(
    profile: string,
    memberId: string,
    initialMessage?: ContentInput | null,
    context?: unknown,
    labels?: Record<string, string> | null,
  ): SpawnMemberSpecType {
    const spec: SpawnMemberSpecType = { profile, meerkatId: memberId };
    if (initialMessage !== undefined && initialMessage !== null) spec.initialMessage = initialMessage;
    if (context !== undefined && context !== null) spec.context = context;
    if (labels) spec.labels = labels;
    return normalizeSpawnSpec(spec);
  },
  /** Parses the snake_case wire object (`{profile, meerkat_id, labels?, context?, additional_instructions?, resume_session_id?}`). */
  parse(value: unknown, field = 'spec'): SpawnMemberSpecType {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw invalidInput(field, 'must be an object');
    const w = value as Record<string, unknown>;
    return normalizeSpawnSpec(
      {
        profile: w.profile as string,
        meerkatId: (w.meerkat_id ?? w.agent_identity) as string,
        initialMessage: w.initial_message as ContentInput | undefined,
        context: w.context,
        labels: w.labels as Record<string, string> | undefined,
        additionalInstructions: w.additional_instructions as string[] | undefined,
        resumeSessionId: w.resume_session_id as string | undefined,
        runtimeMode: w.runtime_mode as SpawnMemberSpecType['runtimeMode'],
      },
      field,
    );
  },
  /** The snake_case wire object. */
  toWire(spec: SpawnMemberSpecType): SpawnMemberSpecWire {
    const w: SpawnMemberSpecWire = { profile: spec.profile, meerkat_id: spec.meerkatId };
    if (spec.initialMessage !== undefined) w.initial_message = spec.initialMessage;
    if (spec.context !== undefined) w.context = spec.context;
    if (spec.labels && Object.keys(spec.labels).length > 0) w.labels = { ...spec.labels };
    if (spec.additionalInstructions && spec.additionalInstructions.length > 0)
      w.additional_instructions = [...spec.additionalInstructions];
    if (spec.resumeSessionId !== undefined) w.resume_session_id = spec.resumeSessionId;
    if (spec.runtimeMode !== undefined) w.runtime_mode = spec.runtimeMode;
    return w;
  },
});

/**
 * The seed's `send_message_on_mob(handle, member_id, message)`: a host send that resolves with the
 * accepting session id. Blank id or empty message → InvalidInput.
 */
export async function sendMessageOnMob(handle: MobRuntime, memberId: string, message: ContentInput): Promise<string> {
  requireMemberId(memberId);
  requireContent(message, 'message');
  return handle.sendMessage(memberId, message);
}
