import { MobRuntimeError, invalidInput } from './errors.js';
import type { ContentInput } from './types.js';

/** The default bound of one message at ingress: 1 MiB of UTF-8. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** UTF-8 bytes of a content input: the text itself, or a block list as JSON (so image data counts too). */
export function contentBytes(content: ContentInput): number {
  return Buffer.byteLength(typeof content === 'string' ? content : JSON.stringify(content), 'utf8');
}

/** Where a message came from, for the error: the member it was for and the field that carried it. */
export interface MessageSource {
  memberId: string;
  field: string;
}

/** `MessageTooLarge`, naming the member, the size and the limit (Meerkat wire code `INVALID_INPUT`). */
function messageTooLarge(source: MessageSource, sizeBytes: number, limitBytes: number): MobRuntimeError {
  return new MobRuntimeError(
    'INVALID_INPUT',
    `${source.field} for member ${source.memberId} is ${sizeBytes} bytes, over the limit of ${limitBytes} bytes (max_message_bytes); send it in smaller parts or raise the limit`,
    { code: 'MessageTooLarge', details: { ...source, sizeBytes, limitBytes } },
  );
}

/** Throws {@link messageTooLarge} when `content` is over `limitBytes`; returns its size otherwise. */
export function requireMessageSize(content: ContentInput, limitBytes: number, source: MessageSource): number {
  const size = contentBytes(content);
  if (size > limitBytes) throw messageTooLarge(source, size, limitBytes);
  return size;
}

/** `value` when it is a positive safe integer, `fallback` when undefined; anything else is `InvalidInput` naming `field`. */
export function positiveLimit(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw invalidInput(field, `must be a positive integer, got ${value}`);
  return value;
}

/** The first `limitBytes` UTF-8 bytes of `bytes` or fewer, ending on a character boundary. */
function utf8Prefix(bytes: Buffer, limitBytes: number): string {
  let end = Math.min(limitBytes, bytes.length);
  while (end > 0 && end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // not inside a character
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * `text` cut to at most `limitBytes` UTF-8 bytes, on a character boundary, ending with a note that
 * says how large it was (when the limit leaves room for it); `text` itself when it fits.
 */
export function truncateUtf8(text: string, limitBytes: number): string {
  const size = Buffer.byteLength(text, 'utf8');
  if (size <= limitBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  const note = `\n…[truncated: ${size} bytes, over the limit of ${limitBytes} bytes]`;
  const noteBytes = Buffer.byteLength(note, 'utf8');
  if (noteBytes >= limitBytes) return utf8Prefix(bytes, limitBytes);
  return `${utf8Prefix(bytes, limitBytes - noteBytes)}${note}`;
}
