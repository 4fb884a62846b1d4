import {
  ContentInputSchema,
  isMobKitError,
  normalizeSpawnSpec as normalizeCoreSpawnSpec,
  parseSpawnSpec,
  type SpawnSpecWire,
  spawnSpecToWire,
} from '@mobkit/core';
import { MobRuntimeError, invalidInput, requireMemberId } from './errors.js';
import type { LlmImage } from './llm/types.js';
import type { ContentInput, MobRuntime, SpawnMemberSpec as SpawnMemberSpecType } from './types.js';

/**
 * Text of a content input: text blocks joined by newlines. Image blocks are left out (they reach
 * the model as images: {@link contentImages}); any other block becomes `[type]`.
 */
export function contentText(content: ContentInput): string {
  if (typeof content === 'string') return content;
  return content
    .filter((b) => b.type !== 'image')
    .map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : `[${b.type}]`))
    .join('\n');
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The images of a content input, from its `{type: "image", media_type, data}` (base64) and
 * `{type: "image", url}` blocks. A malformed image block is `InvalidInput` naming it
 * (`content[1].media_type: …`).
 */
export function contentImages(content: ContentInput, field = 'content'): LlmImage[] {
  if (typeof content === 'string') return [];
  const out: LlmImage[] = [];
  content.forEach((b, i) => {
    if (b.type !== 'image') return;
    const at = `${field}[${i}]`;
    const block = b as Record<string, unknown>;
    if (block.url !== undefined) {
      if (typeof block.url !== 'string' || !/^(https?:|data:image\/)/.test(block.url))
        throw invalidInput(`${at}.url`, 'must be an http(s) URL or a data:image/… URL');
      out.push({ url: block.url });
      return;
    }
    const mediaType = block.media_type;
    if (typeof mediaType !== 'string' || !/^image\/[a-z0-9.+-]+$/i.test(mediaType))
      throw invalidInput(
        `${at}.media_type`,
        'must be an image media type such as image/png (or give url instead of data)',
      );
    if (typeof block.data !== 'string' || block.data === '' || !BASE64.test(block.data))
      throw invalidInput(`${at}.data`, 'must be the image as non-empty base64');
    out.push({ mediaType, data: block.data });
  });
  return out;
}

/** Rejects missing or empty content with core's {@link ContentInputSchema} (`InvalidInput`, naming the field). */
export function requireContent(content: unknown, field = 'content'): ContentInput {
  const parsed = ContentInputSchema.safeParse(content);
  if (parsed.success) return content as ContentInput;
  if (Array.isArray(content)) {
    const bad = content.findIndex(
      (b) => b === null || typeof b !== 'object' || typeof (b as { type?: unknown }).type !== 'string',
    );
    if (bad >= 0) throw invalidInput(`${field}[${bad}]`, 'must be a content block with a string "type"');
    throw invalidInput(field, 'must not be empty');
  }
  if (typeof content === 'string') throw invalidInput(field, 'must not be empty');
  throw invalidInput(field, 'must be text or an array of content blocks');
}

/** Runs a core spawn-spec parse, reporting its failure as the mob's `InvalidInput` (`details.mobCode`). */
function asMobError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!isMobKitError(error)) throw error;
    throw new MobRuntimeError('INVALID_INPUT', error.message, { details: error.details, cause: error });
  }
}

/** Validates a spawn spec (blank ids, wrong types; `InvalidInput` naming `field.key`) and returns a normalized copy. */
export function normalizeSpawnSpec(spec: SpawnMemberSpecType, field = 'spec'): SpawnMemberSpecType {
  return asMobError(() => normalizeCoreSpawnSpec(spec, { pathPrefix: field }));
}

/** Wire (snake_case) form of a spawn spec, as in mobkit discovery and rkat-rpc `mob/spawn` (core's `SpawnSpecWire`). */
export type SpawnMemberSpecWire = SpawnSpecWire;

/**
 * Builders for {@link SpawnMemberSpecType}: `SpawnMemberSpec.fromWire(profile, memberId, initialMessage?, context?, labels?)`
 * exactly as the seed's `SpawnMemberSpec::from_wire`; `parse` and `toWire` are the two directions of
 * core's `SpawnSpecCodec`.
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
    return normalizeSpawnSpec({ profile, meerkatId: memberId, initialMessage, context, labels } as SpawnMemberSpecType);
  },
  /** Parses the snake_case wire object (`{profile, meerkat_id, initial_message?, labels?, context?, additional_instructions?, resume_session_id?, runtime_mode?}`). */
  parse(value: unknown, field = 'spec'): SpawnMemberSpecType {
    return asMobError(() => parseSpawnSpec(value, { pathPrefix: field }));
  },
  /** The snake_case wire object. */
  toWire(spec: SpawnMemberSpecType): SpawnMemberSpecWire {
    return spawnSpecToWire(spec);
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
