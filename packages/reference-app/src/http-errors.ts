import type { ErrorRequestHandler, Response } from 'express';
import { isMobKitError } from '@mobkit/core';

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

/** Sends `{"error": code, "message"?}` with `status` and `cache-control: no-store`. */
export function sendError(res: Response, status: number, error: string, message?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: HttpErrorBody = message === undefined ? { error } : { error, message };
  res.status(status).set('cache-control', 'no-store').json(body);
}

/** Maps anything thrown to a status and error code; unknown failures are 500 `internal` with no detail. */
export function httpErrorFor(err: unknown): { status: number; error: string; message?: string } {
  if (isMobKitError(err)) {
    const status = err.httpStatus;
    return status >= 500
      ? { status, error: snakeCode(err.code) }
      : { status, error: snakeCode(err.code), message: err.message };
  }
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown } | null;
  const type = typeof e?.type === 'string' ? e.type : undefined;
  if (type === 'entity.too.large')
    return { status: 413, error: 'payload_too_large', message: 'the request body is larger than this route accepts' };
  if (type === 'entity.parse.failed')
    return { status: 400, error: 'invalid_json', message: 'the request body is not valid JSON' };
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return { status: 415, error: 'unsupported_encoding' };
  if (type === 'request.aborted') return { status: 400, error: 'request_aborted' };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return { status, error: 'bad_request' };
  return { status: 500, error: 'internal' };
}

/**
 * The router's error handler: every failure becomes a JSON body with a code (413 `payload_too_large`,
 * 400 `invalid_json`, a MobKitError's code in snake_case, else 500 `internal`); stacks never leave the server.
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
