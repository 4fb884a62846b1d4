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

/**
 * Bounds every JSON-RPC message is held to at parse time, on every transport: its size in UTF-8
 * bytes, and how deep it nests (a request object is level 1, its `params` value level 2; each
 * member of a batch is measured on its own).
 */
export interface RpcLimits {
  /** The deepest nesting a request may have; deeper is `-32602` (in params) or `-32600` (elsewhere). */
  maxDepth: number;
  /** The largest message, in UTF-8 bytes; larger is `-32600` before the text is parsed. */
  maxMessageBytes: number;
}

/** The limits {@link parseRpcMessage} and {@link handleRpcText} apply unless told otherwise: 64 levels, 1 MiB. */
export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({ maxDepth: 64, maxMessageBytes: 1024 * 1024 });

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
  return rpcError(id, RPC_ERROR.INTERNAL_ERROR, `Internal error: ${describeThrown(error)}`);
}

/** The message of anything thrown; a value whose `toString` itself throws is described by its type. */
function describeThrown(error: unknown): string {
  if (error instanceof Error) return String(error.message);
  try {
    return String(error);
  } catch {
    return `a thrown ${typeof error} that has no string form`;
  }
}

/** The error response of a code from the one table, `data` carrying `{code, details}` like any other. */
function framingError(
  id: RpcId,
  code: 'RpcMessageTooLarge' | 'RpcNestingTooDeep' | 'RpcParamsTooDeep',
  message: string,
  details: object,
) {
  const error = new MobKitError(code, message, { details: { ...details } });
  return rpcError(id, error.rpcCode, message, { code, details: error.details });
}

/**
 * How deep `value` nests (a scalar is 0, `[]` and `{}` are 1), counted with an explicit stack so a
 * value of any depth is measured without recursion; stops as soon as the depth passes `limit`.
 */
function nestingDepth(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  const stack: Array<[object, number]> = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** True when `text` is longer than `maxBytes` in UTF-8 (a UTF-16 unit is 1 to 3 bytes, so most texts are decided by length). */
function exceedsBytes(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(text, 'utf8') > maxBytes;
}

function validId(id: unknown): id is RpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/** {@link classifyShape}, then the depth bound: in params `-32602`, anywhere else `-32600`. */
function classify(value: unknown, maxDepth: number): RpcEntry {
  const entry = classifyShape(value);
  if (!entry.ok || nestingDepth(value, maxDepth) <= maxDepth) return entry;
  const { request } = entry;
  const id = request.id ?? null;
  const inParams = nestingDepth(request.params, maxDepth) + 1 > maxDepth;
  const message = `${inParams ? 'Invalid params' : 'Invalid Request'}: request nesting deeper than ${maxDepth} levels`;
  const code = inParams ? 'RpcParamsTooDeep' : 'RpcNestingTooDeep';
  return { ok: false, response: framingError(id, code, message, { max_depth: maxDepth }) };
}

function classifyShape(value: unknown): RpcEntry {
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
 * Parses JSON-RPC 2.0 text: a single request or a batch. Text over `limits.maxMessageBytes` → one
 * `-32600` naming the limit, not parsed; unparseable text → one `-32700 Parse error` entry with id
 * null; an empty batch → one `-32600`; each invalid member → its own `-32600`; a member nesting
 * deeper than `limits.maxDepth` → `-32602` (the depth is in its params) or `-32600`, naming the limit.
 */
export function parseRpcMessage(text: string, limits: RpcLimits = DEFAULT_RPC_LIMITS): RpcMessage {
  if (exceedsBytes(text, limits.maxMessageBytes)) {
    const { maxMessageBytes } = limits;
    const message = `Invalid Request: message larger than ${maxMessageBytes} bytes`;
    const response = framingError(null, 'RpcMessageTooLarge', message, { max_bytes: maxMessageBytes });
    return { batch: false, entries: [{ ok: false, response }] };
  }
  const classifyEntry = (value: unknown) => classify(value, limits.maxDepth);
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
    return { batch: true, entries: value.map(classifyEntry) };
  }
  return { batch: false, entries: [classifyEntry(value)] };
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

/** The `-32603` a response is replaced by when `JSON.stringify` cannot write it. */
function unserializable(id: unknown): RpcErrorResponse {
  const safeId: RpcId = typeof id === 'string' || typeof id === 'number' ? id : null;
  return rpcError(safeId, RPC_ERROR.INTERNAL_ERROR, 'Internal error: the response could not be serialized', {
    code: 'RpcResponseUnserializable',
  });
}

/**
 * The wire text of what {@link handleRpcText} returned (a response or a batch of them), serialized
 * once. A response that `JSON.stringify` cannot write — a cyclic, too deep or bigint result, a
 * throwing `toJSON` — is replaced by `-32603` for its id (in a batch, only that member), so no
 * handler result or error can crash a transport's writer. Every transport writes through this.
 */
export function stringifyRpcResponses(out: unknown): string {
  try {
    return JSON.stringify(out);
  } catch {
    const one = (response: unknown): string => {
      try {
        return JSON.stringify(response);
      } catch {
        return JSON.stringify(unserializable((response as { id?: unknown } | null)?.id));
      }
    };
    return Array.isArray(out) ? `[${out.map(one).join(',')}]` : one(out);
  }
}

/**
 * Serves one JSON-RPC text end to end: parse (within `limits`), run each request through `handler`,
 * and return the responses — an object, an array for batches, or `undefined` when nothing is to be
 * sent (notifications, or a batch of notifications only). Notifications are executed; their errors
 * are swallowed as the protocol demands. Write the answer with {@link stringifyRpcResponses}, which
 * replaces a response that cannot be serialized by `-32603`.
 */
export async function handleRpcText(
  text: string,
  handler: RpcHandler,
  limits: RpcLimits = DEFAULT_RPC_LIMITS,
): Promise<RpcResponse | RpcResponse[] | undefined> {
  const message = parseRpcMessage(text, limits);
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
