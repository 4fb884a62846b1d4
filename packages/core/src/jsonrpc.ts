import type { z } from 'zod';
import { MobKitError, isMobKitError } from './errors/error.js';
import { parseWithSchema } from './schema.js';

/** JSON-RPC 2.0 standard error numbers. */
export const RPC_ERROR = Object.freeze({
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  SERVER_ERROR: -32000,
});

/** A JSON-RPC id: string, number or null. */
export type RpcId = string | number | null;

/** A valid JSON-RPC 2.0 request; `id` is absent for notifications. */
export interface RpcRequest {
  jsonrpc: '2.0';
  id?: RpcId;
  method: string;
  params?: unknown;
}

/** A JSON-RPC error object. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** A JSON-RPC success response. */
export interface RpcSuccessResponse {
  jsonrpc: '2.0';
  id: RpcId;
  result: unknown;
}
/** A JSON-RPC error response. */
export interface RpcErrorResponse {
  jsonrpc: '2.0';
  id: RpcId;
  error: RpcErrorObject;
}
/** Any JSON-RPC response. */
export type RpcResponse = RpcSuccessResponse | RpcErrorResponse;

/** One parsed entry: a valid request, or the error response it earns. */
export type RpcEntry = { ok: true; request: RpcRequest } | { ok: false; response: RpcErrorResponse };

/** What {@link parseRpcMessage} found: a single message or a batch of entries. */
export interface RpcMessage {
  batch: boolean;
  entries: RpcEntry[];
}

/** True when the request is a notification (no `id` member): it is executed but never answered. */
export function isNotification(request: RpcRequest): boolean {
  return !('id' in request) || request.id === undefined;
}

/** Builds a success response. */
export function rpcResult(id: RpcId, result: unknown): RpcSuccessResponse {
  return { jsonrpc: '2.0', id, result: result === undefined ? null : result };
}

/** Builds an error response. */
export function rpcError(id: RpcId, code: number, message: string, data?: unknown): RpcErrorResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/**
 * Builds the error response for anything a handler threw: a {@link MobKitError} keeps its message,
 * maps its code through the one table, and carries `{code, details}` as `data`; anything else is
 * `-32603 Internal error` (the message is kept, the stack is not).
 */
export function rpcErrorFromException(id: RpcId, error: unknown): RpcErrorResponse {
  if (isMobKitError(error)) {
    const data: Record<string, unknown> = { code: error.code };
    if (error.details !== undefined) data.details = error.details;
    return rpcError(id, error.rpcCode, error.message, data);
  }
  const message = error instanceof Error ? error.message : String(error);
  return rpcError(id, RPC_ERROR.INTERNAL_ERROR, `Internal error: ${message}`);
}

function validId(id: unknown): id is RpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function classify(value: unknown): RpcEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      response: rpcError(null, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: expected a JSON object'),
    };
  }
  const obj = value as Record<string, unknown>;
  const id: RpcId = validId(obj.id) ? obj.id : null;
  if ('id' in obj && obj.id !== undefined && !validId(obj.id)) {
    return {
      ok: false,
      response: rpcError(null, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: id must be a string, number or null'),
    };
  }
  if (obj.jsonrpc !== '2.0') {
    return { ok: false, response: rpcError(id, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"') };
  }
  if (typeof obj.method !== 'string' || obj.method.trim() === '') {
    return {
      ok: false,
      response: rpcError(id, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: method must be a non-empty string'),
    };
  }
  if (obj.params !== undefined && (obj.params === null || typeof obj.params !== 'object')) {
    return {
      ok: false,
      response: rpcError(id, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: params must be an object or an array'),
    };
  }
  const request: RpcRequest = { jsonrpc: '2.0', method: obj.method };
  if ('id' in obj && obj.id !== undefined) request.id = id;
  if (obj.params !== undefined) request.params = obj.params;
  return { ok: true, request };
}

/**
 * Parses JSON-RPC 2.0 text: a single request or a batch. Unparseable text → one `-32700 Parse error`
 * entry with id null; an empty batch → one `-32600`; each invalid member → its own `-32600`.
 */
export function parseRpcMessage(text: string): RpcMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { batch: false, entries: [{ ok: false, response: rpcError(null, RPC_ERROR.PARSE_ERROR, 'Parse error') }] };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return {
        batch: false,
        entries: [{ ok: false, response: rpcError(null, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: empty batch') }],
      };
    }
    return { batch: true, entries: value.map(classify) };
  }
  return { batch: false, entries: [classify(value)] };
}

/** Throws the `-32601 Method not found` error for `method`. */
export function methodNotFound(method: string): MobKitError {
  return new MobKitError('RpcMethodNotFound', `Method not found: ${method}`, { details: { method } });
}

/**
 * Validates JSON-RPC params with a zod schema; failure is `-32602` with the parameter path in the
 * message: `Invalid params: modules[1]: expected string, got integer`.
 */
export function parseRpcParams<S extends z.ZodType>(schema: S, params: unknown, method: string): z.output<S> {
  try {
    return parseWithSchema(schema, params ?? {}, { what: `${method} params` });
  } catch (error) {
    const e = error as MobKitError;
    const first = (e.details?.issues as Array<{ message: string }> | undefined)?.[0]?.message ?? e.message;
    throw new MobKitError('RpcInvalidParams', `Invalid params: ${first}`, { cause: e, details: e.details });
  }
}

/** A function that executes one JSON-RPC request and returns its result (or throws). */
export type RpcHandler = (request: RpcRequest) => unknown | Promise<unknown>;

/**
 * Serves one JSON-RPC text end to end: parse, run each request through `handler`, and return the
 * response text — an object, an array for batches, or `undefined` when nothing is to be sent
 * (notifications, or a batch of notifications only). Notifications are executed; their errors are
 * swallowed as the protocol demands.
 */
export async function handleRpcText(
  text: string,
  handler: RpcHandler,
): Promise<RpcResponse | RpcResponse[] | undefined> {
  const message = parseRpcMessage(text);
  const responses: RpcResponse[] = [];
  for (const entry of message.entries) {
    if (!entry.ok) {
      responses.push(entry.response);
      continue;
    }
    const { request } = entry;
    try {
      const result = await handler(request);
      if (!isNotification(request)) responses.push(rpcResult(request.id ?? null, result));
    } catch (error) {
      if (!isNotification(request)) responses.push(rpcErrorFromException(request.id ?? null, error));
    }
  }
  if (message.batch) return responses.length > 0 ? responses : undefined;
  return responses[0];
}
