/**
 * True for localhost-class hosts, the only ones for which HS256 is accepted (spec §13): `localhost`,
 * `127.0.0.1`, `::1` (bracketed or not) and any `*.localhost` name. `.local` (mDNS) names are not.
 * Case-insensitive; a trailing dot is not accepted.
 */
export function isLocalhostClassHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h === '127.0.0.1' || h === '::1') return true;
  return h.endsWith('.localhost') && h.length > '.localhost'.length;
}

/** True when `url` parses and its host is localhost-class (see {@link isLocalhostClassHost}). */
export function isLocalhostClassUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return isLocalhostClassHost(parsed.hostname);
}

/** A `Host` header split into a lowercased name (IPv6 in brackets) and its port, or undefined when malformed. */
export interface HostHeader {
  name: string;
  port: number | undefined;
}

const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/;

/** Parses `name`, `name:port`, `[v6]` or `[v6]:port` (case-insensitive); undefined for anything else. */
export function parseHostHeader(value: string): HostHeader | undefined {
  const match = HOST_HEADER.exec(value.trim().toLowerCase());
  if (match === null) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  return { name: match[1] as string, port };
}

/** An `http(s)://host[:port]` origin as `URL.origin` writes it (lowercase, no default port), or undefined for anything else. */
export function normalizeOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // An origin is scheme, host and port only: no path, query, fragment or credentials.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return undefined;
  }
  return url.origin;
}
