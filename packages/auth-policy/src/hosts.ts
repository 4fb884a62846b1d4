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
