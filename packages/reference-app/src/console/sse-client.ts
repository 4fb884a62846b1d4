/** One parsed SSE frame (the console's `parseSseFrames`). */
export interface ParsedFrame {
  id?: string;
  event: string;
  data: string;
}

/** Splits SSE text into complete frames; returns them and the unfinished rest. Comments are skipped. */
export function parseSseFrames(text: string): { frames: ParsedFrame[]; rest: string } {
  const normalized = text.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  const frames: ParsedFrame[] = [];
  for (const block of blocks) {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0 || id !== undefined) frames.push({ id, event, data: data.join('\n') });
  }
  return { frames, rest };
}

/** A non-2xx answer, with the server's `{"error", "reason"?}` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; reason?: string; message?: string },
  ) {
    super(`HTTP ${status}: ${body.reason ?? body.error ?? 'request failed'}`);
  }
}

/**
 * Reads an SSE response through `fetch` (so the token travels as a Bearer header, not in the URL) and
 * calls `onOpen` once the stream is accepted, then `onFrame` per frame until the stream ends or `signal` aborts.
 */
export async function readSse(
  url: string,
  init: RequestInit,
  onFrame: (frame: ParsedFrame) => void,
  signal: AbortSignal,
  onOpen?: () => void,
): Promise<void> {
  const res = await fetch(url, { ...init, signal, cache: 'no-store' });
  if (!res.ok) {
    let body: Record<string, string> = {};
    try {
      body = (await res.json()) as Record<string, string>;
    } catch {
      // not JSON
    }
    throw new HttpError(res.status, body);
  }
  onOpen?.();
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const { frames, rest } = parseSseFrames(buffer);
    buffer = rest;
    for (const frame of frames) onFrame(frame);
  }
}
