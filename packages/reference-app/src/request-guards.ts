import type { Request, RequestHandler } from 'express';
import { type HostHeader, parseHostHeader } from '@mobkit/auth-policy';
import { RouteError } from './http-errors.js';

/** Host names that always mean this machine (with the bound port). `*.localhost` is not among them. */
const LOCALHOST_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The socket's local address as a Host name: IPv4 as is (also when IPv4-mapped), IPv6 in brackets. */
function boundName(req: Request): string | undefined {
  const address = req.socket.localAddress;
  if (address === undefined) return undefined;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice('::ffff:'.length);
  return address.includes(':') ? `[${address.toLowerCase()}]` : address;
}

/**
 * Refuses (403 `host_not_allowed`) a request whose `Host` is not the address the request reached
 * (the socket's local address), a localhost name (`localhost`, `127.0.0.1`, `[::1]`) — both with the
 * bound port — or one of `allowedHosts` (`name` with any port, `name:port` with that one). A page on
 * an attacker's domain that rebinds its DNS to 127.0.0.1 sends its own name as `Host`, so it never
 * reads an answer. Bound to 0.0.0.0 or behind a proxy, list the public names in `allowedHosts`.
 */
export function hostGuard(allowedHosts: readonly HostHeader[]): RequestHandler {
  return (req, _res, next) => {
    const raw = req.headers.host;
    const host = raw === undefined ? undefined : parseHostHeader(raw);
    if (host !== undefined && hostAllowed(req, host, allowedHosts)) {
      next();
      return;
    }
    throw new RouteError(
      'host_not_allowed',
      `Host ${raw === undefined ? '(none)' : JSON.stringify(raw)} is not this server's address; allow it with [http] allowed_hosts in mobkit.toml (router option allowedHosts)`,
    );
  };
}

function hostAllowed(req: Request, host: HostHeader, allowedHosts: readonly HostHeader[]): boolean {
  if (allowedHosts.some((a) => a.name === host.name && (a.port === undefined || a.port === host.port))) return true;
  if (!LOCALHOST_NAMES.has(host.name) && host.name !== boundName(req)) return false;
  return (host.port ?? 80) === req.socket.localPort;
}

/** The methods that change nothing: every other one is guarded by {@link originGuard}. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses (403 `cross_origin_refused`) a state-changing request (any method but GET, HEAD, OPTIONS)
 * whose `Origin` is neither this server's (`http://` or `https://` plus the request's `Host`, which
 * {@link hostGuard} already checked) nor one of `allowedOrigins`. A request without `Origin` (curl,
 * SDKs, same-origin GETs) passes; the opaque `null` origin (sandboxed frames, `file:` pages) does not.
 */
export function originGuard(allowedOrigins: ReadonlySet<string>): RequestHandler {
  return (req, _res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined || SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const normalized = origin.trim().toLowerCase();
    const host = req.headers.host?.trim().toLowerCase();
    const same = host !== undefined && (normalized === `http://${host}` || normalized === `https://${host}`);
    if (same || allowedOrigins.has(normalized)) {
      next();
      return;
    }
    throw new RouteError(
      'cross_origin_refused',
      `requests from origin ${JSON.stringify(origin)} are refused; allow it with [http] allowed_origins in mobkit.toml (router option allowedOrigins)`,
    );
  };
}

/**
 * Refuses (415 `unsupported_media_type`) a body that is not sent as `Content-Type: application/json`
 * (parameters such as `charset` allowed). A cross-site page can send `text/plain` or a form without
 * asking the server first; `application/json` needs a CORS preflight, which this server never grants.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const type = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  if (type === 'application/json') {
    next();
    return;
  }
  throw new RouteError(
    'unsupported_media_type',
    'the request body must be JSON sent as Content-Type: application/json',
  );
};
