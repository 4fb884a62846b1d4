// Shared fixtures of the HTTP scenarios of `npm run bench`: the mob, the console-auth config (HS256) and its token.
import { SignJWT } from 'jose';

/** The mob behind the runtime: externally addressable workers answering with TestClient. */
export const MOB_TOML = `
[mob]
id = "bench"
[profiles.worker]
model = "gpt-5.2"
external_addressable = true
tools = { comms = true }
`;

/** Members the SSE scenario sends host messages to (round robin). */
export const MEMBERS = Array.from({ length: 16 }, (_, i) => `w-${i}`);

const HS_SECRET = new TextEncoder().encode('bench-hs256-secret-with-plenty-of-entropy-0123456789');
const ISSUER = 'http://127.0.0.1:9';
const AUDIENCE = 'meerkat-console';

/** Runtime decision inputs with console auth required and a trusted HS256 key (no network: JWKS inline). */
export const AUTH_CONFIG = {
  bigquery: { dataset: 'bench_ds', table: 'bench_table' },
  trustedMobkitToml: '[[modules]]\nid = "router"\ncommand = "router-bin"\n',
  auth: { defaultProvider: 'google_o_auth', emailAllowlist: ['ops@example.com'] },
  trustedOidc: {
    discoveryJson: JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks.json` }),
    jwksJson: JSON.stringify({
      keys: [{ kty: 'oct', kid: 'hs', alg: 'HS256', k: Buffer.from(HS_SECRET).toString('base64url') }],
    }),
    audience: AUDIENCE,
  },
  console: { requireAppAuth: true },
  releaseMetadataJson: '{"targets":["crates.io","npm","pypi","github-releases"],"support_matrix":"same-as-meerkat"}',
};

/** A console token for ops@example.com, valid for an hour. */
export function consoleToken() {
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    email: 'ops@example.com',
    provider: 'google_oauth',
    exp: Math.floor(Date.now() / 1000) + 3600,
  })
    .setProtectedHeader({ alg: 'HS256', kid: 'hs' })
    .sign(HS_SECRET);
}
