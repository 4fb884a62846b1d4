/** One server-sent event as a client reads it (`: comment` lines are skipped). */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** An open SSE stream: read its events in order, then close it. */
export interface SseStream {
  /** The HTTP status and content type of the response. */
  status: number;
  contentType: string | null;
  /** The next event that satisfies `match` (earlier ones are skipped); rejects after `timeoutMs`. */
  next(match?: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Aborts the request. */
  close(): void;
}

function parseFrame(frame: string): SseEvent | undefined {
  let id: string | undefined;
  let event: string | undefined;
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return id === undefined && event === undefined && data.length === 0
    ? undefined
    : { id, event, data: data.join('\n') };
}

/**
 * Opens an SSE stream with `fetch` and parses its frames as they arrive (an SSE client, as the
 * console and the SDKs are): `const s = await openSse(url); const e = await s.next((e) => e.event === 'run_completed')`.
 */
export async function openSse(url: string, init: RequestInit = {}): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, {
    ...init,
    headers: { accept: 'text/event-stream', ...init.headers },
    signal: abort.signal,
  });
  const body = response.body;
  if (body === null) throw new Error(`${url}: the response has no body (status ${response.status})`);
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  let ended: Error | undefined;
  let wake: (() => void) | undefined;
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event) events.push(event);
        }
        wake?.();
      }
      ended = new Error(`${url}: the stream ended`);
    } catch (error) {
      ended = error instanceof Error ? error : new Error(String(error));
    }
    wake?.();
  })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    async next(match = () => true, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const at = events.findIndex(match);
        if (at >= 0) return events.splice(0, at + 1)[at] as SseEvent;
        events.length = 0;
        if (ended) throw ended;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${url}: no matching event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    close: () => abort.abort(),
  };
}
