/**
 * JSON-RPC over `POST <base>/console/rpc` for the console page: a batch of calls in one request, each
 * answered by its own result or error. The read-only methods the page uses pass without a token when
 * console auth is off; with auth on the page sends its Bearer token.
 */
import { HttpError } from './sse-client.js';

/** One call of a batch. */
export interface RpcCall {
  method: string;
  params?: Record<string, unknown>;
}

/** A JSON-RPC error answer (`code`, `message`, optional `data`). */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** The answer to one call: its result, or the error it got. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: RpcError };

interface WireAnswer {
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

/**
 * Sends `calls` as one JSON-RPC batch and answers their outcomes in order. An HTTP failure (401 without a
 * valid token, 403 for a method that needs auth, …) rejects with {@link HttpError}; a call the batch
 * answer lacks gets an error outcome.
 */
export async function rpcBatch(
  baseUrl: string,
  headers: Record<string, string>,
  calls: readonly RpcCall[],
): Promise<RpcOutcome[]> {
  if (calls.length === 0) return [];
  const body = calls.map((c, i) => ({ jsonrpc: '2.0', id: i, method: c.method, params: c.params ?? {} }));
  const res = await fetch(`${baseUrl}/console/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  let parsed: unknown;
  try {
    parsed = await res.json();
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const obj = (parsed ?? {}) as Record<string, unknown>;
    const err = obj.error;
    const text: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') text[k] = v;
    if (err !== null && typeof err === 'object' && typeof (err as WireAnswer['error'])?.message === 'string')
      text.error = String((err as { message: string }).message);
    throw new HttpError(res.status, text);
  }
  const answers: WireAnswer[] = Array.isArray(parsed) ? (parsed as WireAnswer[]) : parsed ? [parsed as WireAnswer] : [];
  const byId = new Map<number, WireAnswer>();
  for (const a of answers) if (typeof a?.id === 'number') byId.set(a.id, a);
  return calls.map((c, i) => {
    const a = byId.get(i);
    if (a === undefined) return { ok: false, error: new RpcError(-32603, `no answer to ${c.method}`) };
    if (a.error !== undefined)
      return {
        ok: false,
        error: new RpcError(
          typeof a.error.code === 'number' ? a.error.code : -32603,
          typeof a.error.message === 'string' ? a.error.message : `${c.method} failed`,
          a.error.data,
        ),
      };
    return { ok: true, result: a.result };
  });
}

/** One call; rejects with {@link RpcError} or {@link HttpError}. */
export async function rpcCall(
  baseUrl: string,
  headers: Record<string, string>,
  method: string,
  params: Record<string, unknown>,
): Promise<unknown> {
  const [outcome] = await rpcBatch(baseUrl, headers, [{ method, params }]);
  if (outcome === undefined) throw new RpcError(-32603, `no answer to ${method}`);
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}

/** A one-line description of an RPC failure for the page. */
export function describeRpcFailure(method: string, err: unknown): string {
  if (err instanceof RpcError) {
    if (err.code === -32601) return `this runtime does not serve ${method}`;
    return err.message;
  }
  if (err instanceof HttpError) return `${method}: HTTP ${err.status}${err.body.error ? ` ${err.body.error}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
