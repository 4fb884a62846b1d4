import type { AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFixture } from '@mobkit/test-utils';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { Jwk, JwtAlgorithm, TrustedOidcRuntimeConfig, RuntimeDecisionInputs } from '../src/index.js';

/** A signing key and its public JWK. */
export interface TestKey {
  alg: JwtAlgorithm;
  kid: string;
  /** What signs: a CryptoKey, or the secret bytes for HS256. */
  signingKey: CryptoKey | Uint8Array;
  /** The public (or, for HS256, secret) JWK as published. */
  jwk: Jwk;
  /** The public CryptoKey (asymmetric only). */
  publicKey?: CryptoKey;
}

/** Makes a key for `alg` with jose; the JWK carries `kid` and `alg` unless `withAlg` is false. */
export async function makeKey(alg: JwtAlgorithm, kid: string, withAlg = true, secret?: string): Promise<TestKey> {
  if (alg === 'HS256') {
    const bytes = new TextEncoder().encode(secret ?? `secret-for-${kid}-with-enough-entropy-0123456789`);
    const jwk: Jwk = { kty: 'oct', kid, k: Buffer.from(bytes).toString('base64url') };
    if (withAlg) jwk.alg = 'HS256';
    return { alg, kid, signingKey: bytes, jwk };
  }
  const { publicKey, privateKey } = await generateKeyPair(alg === 'EdDSA' ? 'Ed25519' : alg, { extractable: true });
  const exported = (await exportJWK(publicKey)) as JWK;
  const jwk: Jwk = { ...(exported as Record<string, unknown>), kty: exported.kty as string, kid };
  if (withAlg) jwk.alg = alg;
  return { alg, kid, signingKey: privateKey, jwk, publicKey };
}

/** Signs claims with `key` (header `alg`, `kid` plus `extraHeader`). */
export function sign(
  key: TestKey,
  claims: JWTPayload,
  extraHeader: Record<string, unknown> = {},
  alg: string = key.alg,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: alg === 'EdDSA' ? 'EdDSA' : alg, kid: key.kid, ...extraHeader })
    .sign(key.signingKey);
}

/** Encodes a JSON value (or raw text) as unpadded base64url. */
export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Epoch seconds now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The seed's trusted mobkit.toml (phase5_lifecycle_e2e.rs `trusted_modules_toml()`). */
export const SEED_TRUSTED_MOBKIT_TOML = `
[[modules]]
id = "router"
command = "router-bin"
args = ["--mode", "fast"]
restart_policy = "always"

[[modules]]
id = "delivery"
command = "delivery-bin"
args = ["--sink", "memory"]
restart_policy = "on_failure"

[[modules]]
id = "scheduling"
command = "scheduling-bin"
args = ["--tick", "60"]
restart_policy = "always"
`;

/** The seed's `trusted_oidc()`. */
export function seedTrustedOidc(): TrustedOidcRuntimeConfig {
  return {
    discoveryJson:
      '{"issuer":"https://trusted.mobkit.local","jwks_uri":"https://trusted.mobkit.local/.well-known/jwks.json"}',
    jwksJson:
      '{"keys":[{"kid":"kid-current","kty":"oct","alg":"HS256","k":"cGhhc2U3LXRydXN0ZWQtY3VycmVudC1zZWNyZXQ"}]}',
    audience: 'meerkat-console',
  };
}

/** The seed's release-targets.json, from fixtures/auth. */
export const SEED_RELEASE_TARGETS_JSON = readFixture('auth', 'release-targets.json');

/** The seed's `decision_state()` inputs. */
export function seedDecisionInputs(): RuntimeDecisionInputs {
  return {
    bigquery: { dataset: 'phase5_reference_dataset', table: 'phase5_reference_table' },
    trustedMobkitToml: SEED_TRUSTED_MOBKIT_TOML,
    auth: {},
    trustedOidc: seedTrustedOidc(),
    console: { requireAppAuth: false },
    ops: {},
    releaseMetadataJson: SEED_RELEASE_TARGETS_JSON,
  };
}

/** A trusted OIDC config whose issuer and jwks_uri are on `host`, with `keys` published. */
export function trustedOidcFor(
  keys: Jwk[],
  host = 'http://127.0.0.1:9',
  audience = 'meerkat-console',
): TrustedOidcRuntimeConfig {
  return {
    discoveryJson: JSON.stringify({ issuer: host, jwks_uri: `${host}/.well-known/jwks.json` }),
    jwksJson: JSON.stringify({ keys }),
    audience,
  };
}

/** A real OIDC provider on 127.0.0.1: discovery at `/.well-known/openid-configuration`, keys at `/jwks.json`. */
export interface OidcServer {
  url: string;
  discoveryUrl: string;
  /** Keys currently published; replace to rotate. */
  keys: Jwk[];
  /** Requests seen, by path. */
  hits: Map<string, number>;
  /** When set, the JWKS answers with this status instead. */
  failJwksWith?: number;
  close(): Promise<void>;
}

/** Starts an {@link OidcServer} on port 0. Any other path answers 404 (and is counted). */
export async function startOidcServer(keys: Jwk[]): Promise<OidcServer> {
  const state = { keys, hits: new Map<string, number>(), failJwksWith: undefined as number | undefined };
  let base = '';
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1);
    if (path === '/.well-known/openid-configuration') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks.json`, response_types_supported: ['id_token'] }));
    } else if (path === '/jwks.json') {
      if (state.failJwksWith !== undefined) res.writeHead(state.failJwksWith).end('down');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const out: OidcServer = {
    url: base,
    discoveryUrl: `${base}/.well-known/openid-configuration`,
    get keys() {
      return state.keys;
    },
    set keys(k: Jwk[]) {
      state.keys = k;
    },
    hits: state.hits,
    get failJwksWith() {
      return state.failJwksWith;
    },
    set failJwksWith(v: number | undefined) {
      state.failJwksWith = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return out;
}

/** The public key of a generated {@link TestKey} (every key `makeKey` makes has one). */
export function publicKeyOf(key: TestKey): CryptoKey {
  if (key.publicKey === undefined) throw new Error(`test key ${key.kid} has no public key`);
  return key.publicKey;
}
