import { z } from 'zod';
import { type ParseWithSchemaOptions, parseWithSchema } from './schema.js';

/** How a member runs: a keep-alive member woken by messages, or one driven turn by turn by the host. */
export const RuntimeModeSchema = z.enum(['autonomous_host', 'turn_driven']);
/** `autonomous_host` or `turn_driven`. */
export type RuntimeMode = z.output<typeof RuntimeModeSchema>;

/** A content block of a message (text or a non-text block passed through). */
export type ContentBlock = { type: 'text'; text: string } | { type: string; [key: string]: unknown };
/** Message content: text, or multimodal blocks (`[{type:"text",text}]`). */
export type ContentInput = string | ContentBlock[];

const NonBlankSchema = z.string().refine((s) => s.trim() !== '', 'must not be empty');

const ContentBlockSchema = z.looseObject({ type: z.string() });
const hasContent = (blocks: ReadonlyArray<{ type: string; text?: unknown }>) =>
  blocks.some((b) => b.type !== 'text' || String(b.text ?? '').trim() !== '');

/**
 * Message content as the host sends it: non-blank text, or a non-empty list of content blocks
 * (each with a string `type`) of which at least one carries something (non-text, or non-blank text).
 */
export const ContentInputSchema: z.ZodType<ContentInput, ContentInput> = z.union([
  NonBlankSchema,
  z
    .array(ContentBlockSchema)
    .refine((blocks) => blocks.length > 0 && hasContent(blocks as Array<{ type: string; text?: unknown }>), {
      message: 'must not be empty',
    }),
]) as unknown as z.ZodType<ContentInput, ContentInput>;

const LabelsSchema = z.record(z.string(), z.string());

/**
 * The spawn spec's wire form (mobkit discovery and RPC params; Meerkat's `mob/spawn` fields):
 * `{profile, meerkat_id, initial_message?, context?, labels?, additional_instructions?, resume_session_id?, runtime_mode?}`.
 * `null` reads as absent; unknown keys are ignored.
 */
export const SpawnSpecWireSchema = z.object({
  profile: NonBlankSchema,
  meerkat_id: NonBlankSchema,
  initial_message: ContentInputSchema.nullish(),
  context: z.unknown().optional(),
  labels: LabelsSchema.nullish(),
  additional_instructions: z.array(z.string()).nullish(),
  resume_session_id: z.string().nullish(),
  runtime_mode: RuntimeModeSchema.optional(),
});
/** A spawn spec as written on the wire. */
export type SpawnSpecWire = z.input<typeof SpawnSpecWireSchema>;

/**
 * A spawn spec (Meerkat's `SpawnMemberSpec`): what member to spawn from which profile. Validates
 * a spec built in TypeScript; absent optionals are left out, `null` reads as absent.
 */
export const SpawnSpecSchema = z.object({
  /** Profile name from the definition. */
  profile: NonBlankSchema,
  /** The member id (`meerkat_id`, Meerkat's `agent_identity`), unique in the mob. */
  meerkatId: NonBlankSchema,
  /** Kickoff message; an autonomous member runs it right after spawn. */
  initialMessage: ContentInputSchema.nullish(),
  /** Opaque application context. */
  context: z.unknown().optional(),
  labels: LabelsSchema.nullish(),
  /** Extra lines appended to the member's system prompt. */
  additionalInstructions: z.array(z.string()).nullish(),
  /** Session to resume. */
  resumeSessionId: z.string().nullish(),
  /** Overrides the profile's runtime mode. */
  runtimeMode: RuntimeModeSchema.optional(),
});

/** A normalized spawn spec: optional fields are present only when they carry something. */
export interface SpawnSpec {
  profile: string;
  meerkatId: string;
  initialMessage?: ContentInput;
  context?: unknown;
  labels?: Record<string, string>;
  additionalInstructions?: string[];
  resumeSessionId?: string;
  runtimeMode?: RuntimeMode;
}

type SpawnSpecFields = z.output<typeof SpawnSpecSchema>;

/** Drops absent and empty optionals (null, `{}` labels, `[]` instructions) and copies what is kept. */
function normalize(v: SpawnSpecFields): SpawnSpec {
  const out: SpawnSpec = { profile: v.profile, meerkatId: v.meerkatId };
  if (v.initialMessage !== undefined && v.initialMessage !== null) out.initialMessage = v.initialMessage;
  if (v.context !== undefined && v.context !== null) out.context = v.context;
  if (v.labels && Object.keys(v.labels).length > 0) out.labels = { ...v.labels };
  if (v.additionalInstructions && v.additionalInstructions.length > 0)
    out.additionalInstructions = [...v.additionalInstructions];
  if (v.resumeSessionId !== undefined && v.resumeSessionId !== null) out.resumeSessionId = v.resumeSessionId;
  if (v.runtimeMode !== undefined) out.runtimeMode = v.runtimeMode;
  return out;
}

/**
 * The one codec of spawn specs: decodes the snake_case wire form into a normalized
 * {@link SpawnSpec} (absent and empty optionals left out), and encodes one back.
 */
export const SpawnSpecCodec = z.codec(SpawnSpecWireSchema, SpawnSpecSchema, {
  decode: (w) =>
    normalize({
      profile: w.profile,
      meerkatId: w.meerkat_id,
      initialMessage: w.initial_message,
      context: w.context,
      labels: w.labels,
      additionalInstructions: w.additional_instructions,
      resumeSessionId: w.resume_session_id,
      runtimeMode: w.runtime_mode,
    }),
  encode: (value) => {
    const v = normalize(value);
    const w: z.input<typeof SpawnSpecWireSchema> = { profile: v.profile, meerkat_id: v.meerkatId };
    if (v.initialMessage !== undefined) w.initial_message = v.initialMessage;
    if (v.context !== undefined) w.context = v.context;
    if (v.labels) w.labels = v.labels;
    if (v.additionalInstructions) w.additional_instructions = v.additionalInstructions;
    if (v.resumeSessionId !== undefined) w.resume_session_id = v.resumeSessionId;
    if (v.runtimeMode !== undefined) w.runtime_mode = v.runtimeMode;
    return w;
  },
});

/** Options of {@link parseSpawnSpec} and {@link normalizeSpawnSpec}: what to call it and the path prefix. */
export type SpawnSpecParseOptions = Partial<ParseWithSchemaOptions>;

const defaults = (options: SpawnSpecParseOptions): ParseWithSchemaOptions => ({
  what: 'spawn spec',
  code: 'InvalidInput',
  ...options,
});

/**
 * Parses a wire spawn spec (`InvalidInput` naming the key path, e.g. `params.meerkat_id: must not be empty`).
 * Meerkat's `agent_identity` is read when `meerkat_id` is absent.
 */
export function parseSpawnSpec(input: unknown, options: SpawnSpecParseOptions = {}): SpawnSpec {
  let wire = input;
  if (wire !== null && typeof wire === 'object' && !Array.isArray(wire)) {
    const fields = wire as Record<string, unknown>;
    if (fields.meerkat_id === undefined && fields.agent_identity !== undefined)
      wire = { ...fields, meerkat_id: fields.agent_identity };
  }
  return parseWithSchema(SpawnSpecCodec, wire, defaults(options)) as SpawnSpec;
}

/** Validates a camelCase spawn spec built in code and returns a normalized copy (`InvalidInput` naming the key). */
export function normalizeSpawnSpec(spec: unknown, options: SpawnSpecParseOptions = {}): SpawnSpec {
  return normalize(parseWithSchema(SpawnSpecSchema, spec, defaults(options)));
}

/** The snake_case wire form of a spawn spec (absent and empty optionals left out). */
export function spawnSpecToWire(spec: SpawnSpec): SpawnSpecWire {
  return z.encode(SpawnSpecCodec, spec);
}
