import { type Clock, MobKitError, systemClock } from '@mobkit/core';
import { JwksError, TokenError } from './errors.js';
import {
  type JwksDocument,
  type JwtAlgorithm,
  type OidcDiscoveryDocument,
  SUPPORTED_ALGORITHMS,
  parseJwksDocument,
  parseOidcDiscoveryDocument,
} from './jwk.js';
import { type ValidatedJwt, decodeTokenHeader } from './jwt.js';
import { KeySet } from './keyset.js';
import { isLocalhostClassUrl } from './hosts.js';

/** The `fetch` subset the cache uses; inject one to observe or fake HTTP. */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string>; redirect: 'error' },
) => Promise<Response>;

/** Configuration of a {@link JwksCache} (spec §13 `JwksCacheConfig`, camelCase, durations in ms). */
export interface JwksCacheConfig {
  /** The OIDC discovery URL (`…/.well-known/openid-configuration`). */
  discoveryUrl: string;
  /** Refresh the key set when it is older than this (default 3 600 000 ms = 1 h). */
  refreshIntervalMs?: number;
  /** Timeout of each HTTP request (default 10 000 ms). */
  httpTimeoutMs?: number;
  /** After any refresh, an unknown `kid` triggers no new refresh for this long (default 30 000 ms). */
  refreshCooldownMs?: number;
  /** Expected `iss`; default: the discovery document's `issuer`. */
  issuer?: string;
  /** Expected audience; unchecked when absent. */
  audience?: string;
  /** Clock leeway for `exp`/`nbf` in seconds (default 60). */
  leewaySeconds?: number;
  /** Accepted algorithms (default HS256, RS256, ES256, EdDSA). */
  algorithms?: readonly JwtAlgorithm[];
  /**
   * HS256 through a published key set: `'localhost-only'` (default) accepts it only when the issuer and the
   * `jwks_uri` hosts are localhost-class, as the console does; `'allow'` always; `'deny'` never.
   */
  hs256?: 'localhost-only' | 'allow' | 'deny';
  /** Refuse tokens without `exp` (default false). */
  requireExpiry?: boolean;
  /** Largest accepted discovery or JWKS response in bytes (default 1 MiB). */
  maxResponseBytes?: number;
  /** Verified tokens remembered per key set, so a repeated token skips signature work (default 1024, 0 disables; claims are always re-checked). */
  verifiedTokenCacheSize?: number;
  /** Time source (default the system clock). */
  clock?: Clock;
  /** HTTP client (default global `fetch`). */
  fetch?: FetchLike;
}

/** What the cache has done so far; for tests and metrics. */
export interface JwksCacheStats {
  /** GETs of the discovery document. */
  discoveryRequests: number;
  /** GETs of `jwks_uri`. */
  jwksRequests: number;
  /** Completed refreshes. */
  refreshes: number;
  /** Refreshes that failed. */
  failedRefreshes: number;
  /** Refreshes forced by an unknown `kid`. */
  kidMissRefreshes: number;
  /** When the key set was last fetched successfully (epoch ms), if ever. */
  lastRefreshAtMs?: number;
}

interface Snapshot {
  discovery: OidcDiscoveryDocument;
  keys: KeySet;
  fetchedAtMs: number;
}

/**
 * A JWKS fetched through OIDC discovery (GET discovery → GET `jwks_uri`) and kept fresh: it refreshes on first
 * use, when older than `refreshIntervalMs`, and once when a token names an unknown `kid` (key rotation) — but
 * never more than once per `refreshCooldownMs`, however many bad tokens arrive. Concurrent refreshes share one
 * request. When a refresh fails after a good one, the last good keys keep serving. Header `jku`/`x5u`/`jwk`
 * members are never used: keys come only from the configured discovery URL.
 */
export class JwksCache {
  private readonly config: Required<Omit<JwksCacheConfig, 'issuer' | 'audience' | 'fetch' | 'clock'>> &
    Pick<JwksCacheConfig, 'issuer' | 'audience'>;
  private readonly clock: Clock;
  private readonly fetchImpl: FetchLike;
  private snapshot: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private lastAttemptAtMs: number | undefined;
  private lastError: unknown;
  private readonly counters: JwksCacheStats = {
    discoveryRequests: 0,
    jwksRequests: 0,
    refreshes: 0,
    failedRefreshes: 0,
    kidMissRefreshes: 0,
  };

  constructor(config: JwksCacheConfig) {
    let url: URL;
    try {
      url = new URL(config.discoveryUrl);
    } catch (error) {
      throw new MobKitError(
        'InvalidConfig',
        `JwksCache: discoveryUrl ${JSON.stringify(config.discoveryUrl)} is not a URL`,
        { cause: error, details: { field: 'discoveryUrl' } },
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new MobKitError('InvalidConfig', `JwksCache: discoveryUrl must be http(s), got ${url.protocol}`, {
        details: { field: 'discoveryUrl' },
      });
    }
    for (const field of [
      'refreshIntervalMs',
      'httpTimeoutMs',
      'refreshCooldownMs',
      'leewaySeconds',
      'maxResponseBytes',
      'verifiedTokenCacheSize',
    ] as const) {
      const value = config[field];
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
        throw new MobKitError('InvalidConfig', `JwksCache: ${field} must be a number >= 0, got ${String(value)}`, {
          details: { field },
        });
      }
    }
    this.config = {
      discoveryUrl: config.discoveryUrl,
      refreshIntervalMs: config.refreshIntervalMs ?? 3_600_000,
      httpTimeoutMs: config.httpTimeoutMs ?? 10_000,
      refreshCooldownMs: config.refreshCooldownMs ?? 30_000,
      leewaySeconds: config.leewaySeconds ?? 60,
      algorithms: config.algorithms ?? SUPPORTED_ALGORITHMS,
      hs256: config.hs256 ?? 'localhost-only',
      requireExpiry: config.requireExpiry ?? false,
      maxResponseBytes: config.maxResponseBytes ?? 1024 * 1024,
      verifiedTokenCacheSize: config.verifiedTokenCacheSize ?? 1024,
      issuer: config.issuer,
      audience: config.audience,
    };
    this.clock = config.clock ?? systemClock;
    this.fetchImpl = config.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Request counts and refresh history. */
  stats(): JwksCacheStats {
    return { ...this.counters };
  }

  /** The discovery document and key set currently held, if any. */
  current(): { discovery: OidcDiscoveryDocument; jwks: JwksDocument; fetchedAtMs: number } | undefined {
    const s = this.snapshot;
    return s === undefined ? undefined : { discovery: s.discovery, jwks: s.keys.jwks, fetchedAtMs: s.fetchedAtMs };
  }

  private async getJson(url: string, what: string, code: 'OidcDiscoveryFailed' | 'JwksFetchFailed'): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        signal: AbortSignal.timeout(this.config.httpTimeoutMs),
        headers: { accept: 'application/json' },
        redirect: 'error',
      });
    } catch (error) {
      throw new JwksError(code, `${what}: GET ${url} failed: ${(error as Error).message}`, {
        cause: error,
        details: { url },
      });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new JwksError(code, `${what}: GET ${url} answered HTTP ${response.status}`, {
        details: { url, status: response.status },
      });
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > this.config.maxResponseBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new JwksError(
        code,
        `${what}: GET ${url} is ${declared} bytes; at most ${this.config.maxResponseBytes} are accepted`,
        { details: { url } },
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new JwksError(code, `${what}: reading ${url} failed: ${(error as Error).message}`, {
        cause: error,
        details: { url },
      });
    }
    if (text.length > this.config.maxResponseBytes) {
      throw new JwksError(code, `${what}: ${url} is larger than ${this.config.maxResponseBytes} bytes`, {
        details: { url },
      });
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new JwksError(
        code === 'OidcDiscoveryFailed' ? 'InvalidDiscoveryDocument' : 'InvalidJwks',
        `${what} at ${url} is not valid JSON`,
        { cause: error, details: { url } },
      );
    }
  }

  private async fetchSnapshot(): Promise<Snapshot> {
    this.counters.discoveryRequests++;
    const discoveryJson = await this.getJson(this.config.discoveryUrl, 'OIDC discovery', 'OidcDiscoveryFailed');
    let discovery: OidcDiscoveryDocument;
    try {
      discovery = parseOidcDiscoveryDocument(discoveryJson, `OIDC discovery document at ${this.config.discoveryUrl}`);
      new URL(discovery.jwksUri);
    } catch (error) {
      throw new JwksError('InvalidDiscoveryDocument', error instanceof Error ? error.message : String(error), {
        cause: error,
        details: { url: this.config.discoveryUrl },
      });
    }
    this.counters.jwksRequests++;
    const jwksJson = await this.getJson(discovery.jwksUri, 'JWKS', 'JwksFetchFailed');
    let jwks: JwksDocument;
    try {
      jwks = parseJwksDocument(jwksJson, `JWKS at ${discovery.jwksUri}`);
    } catch (error) {
      throw new JwksError('InvalidJwks', (error as Error).message, {
        cause: error,
        details: { url: discovery.jwksUri },
      });
    }
    return {
      discovery,
      keys: new KeySet(jwks, { verifiedCacheSize: this.config.verifiedTokenCacheSize }),
      fetchedAtMs: this.clock.nowMs(),
    };
  }

  /** Fetches discovery and the key set now (sharing an in-flight refresh). Throws {@link JwksError} on failure. */
  async refresh(): Promise<{ discovery: OidcDiscoveryDocument; jwks: JwksDocument; fetchedAtMs: number }> {
    const s = await this.refreshSnapshot();
    return { discovery: s.discovery, jwks: s.keys.jwks, fetchedAtMs: s.fetchedAtMs };
  }

  private refreshSnapshot(): Promise<Snapshot> {
    if (this.inflight !== undefined) return this.inflight;
    this.lastAttemptAtMs = this.clock.nowMs();
    const run = this.fetchSnapshot().then(
      (snapshot) => {
        this.snapshot = snapshot;
        this.lastError = undefined;
        this.counters.refreshes++;
        this.counters.lastRefreshAtMs = snapshot.fetchedAtMs;
        return snapshot;
      },
      (error: unknown) => {
        this.counters.failedRefreshes++;
        this.lastError = error;
        throw error;
      },
    );
    this.inflight = run.finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private coolingDown(): boolean {
    return (
      this.lastAttemptAtMs !== undefined && this.clock.nowMs() - this.lastAttemptAtMs < this.config.refreshCooldownMs
    );
  }

  /** The key set to use now: first use and staleness trigger a refresh (a failed refresh after a good one keeps the old keys). */
  private async fresh(): Promise<Snapshot> {
    const s = this.snapshot;
    if (s === undefined) {
      // Never fetched successfully: retry, but not more than once per cool-down while the provider is failing.
      if (this.inflight === undefined && this.lastError !== undefined && this.coolingDown()) throw this.lastError;
      return this.refreshSnapshot();
    }
    if (this.clock.nowMs() - s.fetchedAtMs >= this.config.refreshIntervalMs && !this.coolingDown()) {
      try {
        return await this.refreshSnapshot();
      } catch {
        return this.snapshot ?? s;
      }
    }
    return s;
  }

  private hs256Allowed(discovery: OidcDiscoveryDocument): boolean {
    if (this.config.hs256 === 'allow') return true;
    if (this.config.hs256 === 'deny') return false;
    return isLocalhostClassUrl(discovery.issuer) && isLocalhostClassUrl(discovery.jwksUri);
  }

  /**
   * Verifies a token: header checks, key by `kid`/`alg` from the current set (refreshing once on an unknown
   * `kid` outside the cool-down), signature with jose, then `exp`/`nbf`/`iss`/`aud`. Throws {@link TokenError}
   * for a bad token and {@link JwksError} when no key set could be fetched.
   */
  async verify(token: string): Promise<ValidatedJwt> {
    const header = decodeTokenHeader(token, this.config.algorithms);
    let snapshot = await this.fresh();
    if (header.alg === 'HS256' && !this.hs256Allowed(snapshot.discovery)) {
      throw new TokenError(
        'UnsupportedAlgorithm',
        'HS256 is accepted only when the issuer and jwks_uri hosts are localhost-class',
        'header',
        {
          details: { alg: 'HS256', issuer: snapshot.discovery.issuer },
        },
      );
    }
    try {
      snapshot.keys.select(header);
    } catch (error) {
      if (!(error instanceof TokenError) || error.kind !== 'NoMatchingKey' || header.kid === undefined) throw error;
      const pending = this.inflight;
      if (pending === undefined && this.coolingDown()) throw error;
      if (pending === undefined) this.counters.kidMissRefreshes++;
      try {
        snapshot = await (pending ?? this.refreshSnapshot());
      } catch {
        throw error;
      }
    }
    return snapshot.keys.verifyDecoded(token, header, {
      issuer: this.config.issuer ?? snapshot.discovery.issuer,
      audience: this.config.audience,
      leewaySeconds: this.config.leewaySeconds,
      nowEpochSeconds: Math.floor(this.clock.nowMs() / 1000),
      requireExpiry: this.config.requireExpiry,
    });
  }
}
