import { MobKitError, type MobKitErrorCode, isMobKitError } from '@mobkit/core';
import type { ErrorRequestHandler, Response } from 'express';

/** A 4xx/5xx JSON body: `{"error":"<code>"}`, optionally with a human `message`. Never a stack. */
export interface HttpErrorBody {
  error: string;
  message?: string;
}

/** `MemberNotFound` → `member_not_found`. */
export function snakeCode(code: string): string {
  return code
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * The router's own refusals by their wire name (spec §15), and the code of the one table each is
 * raised under: the answer's HTTP status is that code's `http`.
 * A refusal whose name is a code's snake_case (`member_not_found`, `invalid_agent_id`, `invalid_json`,
 * `not_externally_addressable`) is raised as a plain {@link MobKitError} with that code.
 */
const ROUTE_ERROR_CODES = {
  /** Unknown path or method under the router's prefixes, or an unknown console asset (404). */
  not_found: 'NotFound',
  /** A new stream while the router is closing (503). */
  shutting_down: 'RuntimeShuttingDown',
  /** The cap of open SSE streams is reached (503; retry later). */
  too_many_streams: 'TooManyStreams',
  /** `POST /interactions/stream` without a non-blank `member_id` (400). */
  invalid_member_id: 'InvalidInput',
  /** `POST /interactions/stream` with a blank or non-string `message` (400). */
  invalid_message: 'InvalidInput',
  /** A JSON body (`/rpc`, `/console/rpc`, `/interactions/stream`) not sent as `application/json` (415). */
  unsupported_media_type: 'UnsupportedMediaType',
  /** A state-changing request from another origin than the server's and the allowed ones (403). */
  cross_origin_refused: 'CrossOriginRefused',
  /** A `Host` that is not the bound address, a localhost name or an allowed host (403; DNS rebinding). */
  host_not_allowed: 'HostNotAllowed',
  /** An agent route on a runtime without a mob (422). */
  unsupported: 'Unsupported',
} as const satisfies Record<string, MobKitErrorCode>;

/** A refusal of the router that carries the spec's wire name (see {@link RouteError}). */
export type RouteErrorName = keyof typeof ROUTE_ERROR_CODES;

/**
 * A refusal raised by a route handler under the spec's wire name (`not_found`, `shutting_down`, …): its
 * code is one of the table's, the status the code's and the body `{"error": name, "message"?: detail}`
 * (the detail is written for the client, so it is sent at any status).
 */
export class RouteError extends MobKitError {
  /** The `error` of the body. */
  readonly wireName: RouteErrorName;
  /** The body's `message`, when the refusal has one for a person to act on. */
  readonly detail: string | undefined;

  constructor(name: RouteErrorName, detail?: string) {
    super(ROUTE_ERROR_CODES[name], detail ?? name.replace(/_/g, ' '));
    this.wireName = name;
    this.detail = detail;
  }
}

/** Sends `{"error": code, "message"?}` with `status` and `cache-control: no-store`. */
export function sendError(res: Response, status: number, error: string, message?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: HttpErrorBody = message === undefined ? { error } : { error, message };
  res.status(status).set('cache-control', 'no-store').json(body);
}

/** body-parser's failures (thrown by `express.text`), by their `type`: the wire name and a message. */
const BODY_PARSER_ERRORS: Record<string, { error: string; message?: string }> = {
  'entity.too.large': { error: 'payload_too_large', message: 'the request body is larger than this route accepts' },
  'entity.parse.failed': { error: 'invalid_json', message: 'the request body is not valid JSON' },
  'encoding.unsupported': { error: 'unsupported_encoding' },
  'charset.unsupported': { error: 'unsupported_encoding' },
  'request.aborted': { error: 'request_aborted' },
};

/**
 * Maps anything thrown to a status and error code: a {@link MobKitError} answers with its code's status
 * from the one table and its snake_case code, its message only below 500 (a {@link RouteError} with
 * its wire name and its detail, which the route wrote for the client); body-parser's failures with the status it set (413 `payload_too_large`, 400 `invalid_json`,
 * 415 `unsupported_encoding`, 400 `request_aborted`, other 4xx `bad_request`); anything else is 500
 * `internal` with no detail.
 */
export function httpErrorFor(err: unknown): { status: number; error: string; message?: string } {
  if (isMobKitError(err)) {
    const status = err.httpStatus;
    if (err instanceof RouteError) {
      // A route writes its detail for the client (`too_many_streams` says how many), so it is sent at any status.
      return err.detail === undefined
        ? { status, error: err.wireName }
        : { status, error: err.wireName, message: err.detail };
    }
    return status >= 500
      ? { status, error: snakeCode(err.code) }
      : { status, error: snakeCode(err.code), message: err.message };
  }
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status < 400 || status >= 500) return { status: 500, error: 'internal' };
  const known = typeof e?.type === 'string' ? BODY_PARSER_ERRORS[e.type] : undefined;
  return known === undefined ? { status, error: 'bad_request' } : { status, ...known };
}

/**
 * The router's one error handler: every failure becomes a JSON body with a code through
 * {@link httpErrorFor}; 5xx failures are reported to `onError`; stacks never leave the server.
 */
export function jsonErrorHandler(onError?: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const mapped = httpErrorFor(err);
    if (mapped.status >= 500) {
      try {
        onError?.(err);
      } catch {
        // a logging hook must not fail the response
      }
    }
    sendError(res, mapped.status, mapped.error, mapped.message);
  };
}
