import { MobKitError } from '@mobkit/core';

/** How a request to the BigQuery REST API is made. */
export interface BigQueryRequest {
  method: 'GET' | 'POST';
  url: string;
  accessToken: string;
  body?: unknown;
  timeoutMs: number;
}

/** Cuts an answer body for an error message. */
function cut(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Sends one JSON request with the bearer token over the global `fetch` and resolves with the JSON
 * answer (`{}` for an empty body). Unreachable, aborted or timed out ⇒ `BigQueryHttp`; a non-2xx
 * status ⇒ `BigQueryApi` with the status and the answer; a body that is not JSON ⇒
 * `BigQueryInvalidResponse`. The token is never put in a message.
 */
export async function bigQueryRequest(request: BigQueryRequest): Promise<unknown> {
  const where = `${request.method} ${request.url}`;
  let status: number;
  let text: string;
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: {
        authorization: `Bearer ${request.accessToken}`,
        accept: 'application/json',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(request.timeoutMs),
      redirect: 'error',
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    const timedOut = (error as Error | null)?.name === 'TimeoutError';
    const reason = timedOut
      ? `no answer within ${request.timeoutMs} ms`
      : `${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ''}`;
    throw new MobKitError('BigQueryHttp', `BigQuery request ${where} failed: ${reason}`, {
      cause: error,
      details: { url: request.url, ...(timedOut ? { timeout_ms: request.timeoutMs } : {}) },
    });
  }
  if (status < 200 || status > 299) {
    throw new MobKitError('BigQueryApi', `BigQuery API request ${where} failed (status ${status}): ${cut(text)}`, {
      details: { url: request.url, status },
    });
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MobKitError('BigQueryInvalidResponse', `BigQuery answer to ${where} is not JSON: ${cut(text, 200)}`, {
      cause: error,
      details: { url: request.url },
    });
  }
}
