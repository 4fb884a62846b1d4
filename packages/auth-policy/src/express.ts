/**
 * @mobkit/auth-policy/express — Express middleware for the console policy and for plain bearer-token routes.
 * Express is a peer dependency and is imported (as types only) nowhere else in this package.
 * @packageDocumentation
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type ConsoleAuthConfig,
  type ConsoleAuthReason,
  type ConsoleAuthenticatorOptions,
  type ConsoleIdentity,
  createConsoleAuthenticator,
  reasonForTokenError,
  unauthorizedBody,
} from './console.js';
import { JwksError, TokenError } from './errors.js';
import type { ValidatedJwt } from './jwt.js';

declare global {
  // Express merges these into `req` and `res.locals`.
  namespace Express {
    interface Request {
      /** The verified console caller, set by `requireConsoleAuth` (absent when the console policy does not require auth). */
      mobkitIdentity?: ConsoleIdentity;
      /** The verified token, set by `requireJwt`. */
      mobkitJwt?: ValidatedJwt;
    }
    interface Locals {
      /** Same as `req.mobkitIdentity`. */
      mobkitIdentity?: ConsoleIdentity;
      /** Same as `req.mobkitJwt`. */
      mobkitJwt?: ValidatedJwt;
    }
  }
}

/** Where a request's token came from. */
export type TokenSource = 'bearer' | 'query';

/**
 * The request's token: `Authorization: Bearer <token>` first, else the `auth_token` query parameter (when
 * `allowQuery`, default true). Returns undefined when neither is present.
 */
export function extractRequestToken(
  req: Request,
  allowQuery = true,
  queryParam = 'auth_token',
): { token: string; source: TokenSource } | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
    if (match?.[1] !== undefined) return { token: match[1], source: 'bearer' };
  }
  if (!allowQuery) return undefined;
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const value = new URLSearchParams(url.slice(q + 1)).get(queryParam);
  return value === null || value === '' ? undefined : { token: value, source: 'query' };
}

function sendUnauthorized(res: Response, reason: ConsoleAuthReason): void {
  res
    .status(401)
    .set({ 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="mobkit"' })
    .json(unauthorizedBody(reason));
}

/** Options of {@link requireConsoleAuth}. */
export interface RequireConsoleAuthOptions extends ConsoleAuthenticatorOptions {
  /** Accept `?auth_token=` as well as `Authorization: Bearer` (default true, as the original). */
  allowQueryToken?: boolean;
  /** Called with every refusal (for logging); must not throw. */
  onRefused?: (req: Request, reason: ConsoleAuthReason, error: Error) => void;
}

/**
 * Console route guard over a runtime decision state (spec §13): with `console.requireAppAuth` false every request
 * passes; otherwise the token (`Authorization: Bearer` or `?auth_token=`) must verify against the trusted OIDC
 * config and pass {@link enforceConsoleRouteAccess}. The identity is put on `req.mobkitIdentity` and
 * `res.locals.mobkitIdentity`. Refusals are 401 `{"error":"unauthorized","reason":<code>}`, never a 500.
 */
export function requireConsoleAuth(
  decisionState: ConsoleAuthConfig,
  options: RequireConsoleAuthOptions = {},
): RequestHandler {
  const authenticator = createConsoleAuthenticator(decisionState, options);
  const allowQuery = options.allowQueryToken ?? true;
  const requireAuth = decisionState.console.requireAppAuth;
  return function mobkitConsoleAuth(req: Request, res: Response, next: NextFunction): void {
    if (!requireAuth) {
      next();
      return;
    }
    const found = extractRequestToken(req, allowQuery);
    authenticator.authenticate(found?.token).then(
      (result) => {
        if (result.ok) {
          if (result.identity !== undefined) {
            req.mobkitIdentity = result.identity;
            res.locals.mobkitIdentity = result.identity;
          }
          next();
          return;
        }
        try {
          options.onRefused?.(req, result.reason, result.error);
        } catch {
          // a logging hook must not turn a 401 into a 500
        }
        sendUnauthorized(res, result.reason);
      },
      () => sendUnauthorized(res, 'policy_denied'),
    );
  };
}

/** Anything that verifies a token, such as a {@link JwksCache} or a {@link KeySet} wrapper. */
export interface TokenVerifier {
  verify(token: string): Promise<ValidatedJwt>;
}

/** Options of {@link requireJwt}. */
export interface RequireJwtOptions {
  /** Accept `?auth_token=` as well (default false: bearer only, as the original's `auth_middleware`). */
  allowQueryToken?: boolean;
}

/**
 * Bearer-token guard (spec §13 `auth_middleware`): `Authorization: Bearer <token>` is required and must verify with
 * `verifier` (e.g. a {@link JwksCache}); the claims go on `req.mobkitJwt` and `res.locals.mobkitJwt`. A missing or
 * bad token is 401 `{"error":"unauthorized","reason":…}`; an unreachable key set is 503
 * `{"error":"unavailable","reason":"jwks_unavailable"}`. Never a 500.
 */
export function requireJwt(verifier: TokenVerifier, options: RequireJwtOptions = {}): RequestHandler {
  const allowQuery = options.allowQueryToken ?? false;
  return function mobkitJwtAuth(req: Request, res: Response, next: NextFunction): void {
    const found = extractRequestToken(req, allowQuery);
    if (found === undefined) {
      sendUnauthorized(res, 'missing_credentials');
      return;
    }
    verifier.verify(found.token).then(
      (jwt) => {
        req.mobkitJwt = jwt;
        res.locals.mobkitJwt = jwt;
        next();
      },
      (error: unknown) => {
        if (error instanceof JwksError) {
          res
            .status(503)
            .set({ 'cache-control': 'no-store', 'retry-after': '5' })
            .json({ error: 'unavailable', reason: 'jwks_unavailable' });
          return;
        }
        sendUnauthorized(res, error instanceof TokenError ? reasonForTokenError(error) : 'invalid_token');
      },
    );
  };
}

/** Re-exported for middleware users: the identity put on the request and the 401 reason codes. */
export type { ConsoleIdentity, ConsoleAuthReason } from './console.js';
