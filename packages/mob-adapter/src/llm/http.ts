import { MobRuntimeError } from '../errors.js';
import { type SseEvent, parseSse } from './sse.js';

/** POSTs JSON and returns the SSE events of the response, or throws a `ProviderError` naming the status. */
export async function postSse(
  provider: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
  fetchImpl: typeof fetch,
): Promise<AsyncIterable<SseEvent>> {
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw new MobRuntimeError('CANCELLED', `${provider} request cancelled`, { cause: error });
    throw new MobRuntimeError('PROVIDER_ERROR', `${provider}: request to ${url} failed: ${(error as Error).message}`, {
      cause: error,
      retryable: true,
      details: { provider, url },
    });
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    const hint = response.status === 401 || response.status === 403 ? ' (check the API key)' : '';
    throw new MobRuntimeError('PROVIDER_ERROR', `${provider}: HTTP ${response.status}${hint}: ${text.slice(0, 300)}`, {
      retryable: response.status === 429 || response.status >= 500,
      details: { provider, url, status: response.status },
    });
  }
  return cancellable(provider, parseSse(response.body as unknown as AsyncIterable<Uint8Array>), signal);
}

/** Turns a body read that fails because `signal` aborted into a `CANCELLED` error. */
async function* cancellable<T>(provider: string, source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  try {
    yield* source;
  } catch (error) {
    if (signal.aborted) throw new MobRuntimeError('CANCELLED', `${provider} stream cancelled`, { cause: error });
    throw new MobRuntimeError('PROVIDER_ERROR', `${provider}: stream broke: ${(error as Error).message}`, {
      cause: error,
      retryable: true,
    });
  }
}

/** Parses one SSE data payload as JSON or throws a `ProviderError` (stream parse error). */
export function parseSseJson(provider: string, data: string): Record<string, unknown> {
  try {
    const value = JSON.parse(data) as unknown;
    if (value === null || typeof value !== 'object') throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new MobRuntimeError(
      'PROVIDER_ERROR',
      `${provider}: stream parse error: ${JSON.stringify(data.slice(0, 200))}`,
      { cause: error },
    );
  }
}

/** Parses accumulated tool-call argument JSON (empty means `{}`). */
export function parseToolArgs(provider: string, name: string, text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MobRuntimeError(
      'PROVIDER_ERROR',
      `${provider}: tool call ${name} has arguments that are not JSON: ${JSON.stringify(text.slice(0, 200))}`,
      {
        cause: error,
      },
    );
  }
}
