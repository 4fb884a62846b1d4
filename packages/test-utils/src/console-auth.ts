import { createHmac } from 'node:crypto';

/** The issuer of the test console tokens (a loopback address nothing listens on: the JWKS is given inline). */
const CONSOLE_TEST_ISSUER = 'http://127.0.0.1:9';
/** The audience the test console tokens carry and the test trusted OIDC config expects. */
const CONSOLE_TEST_AUDIENCE = 'meerkat-console';
/** The email a test decision state allowlists and {@link signConsoleTestToken} signs by default. */
export const CONSOLE_TEST_EMAIL = 'ops@example.com';

const HS_SECRET = 'reference-app-test-secret-with-enough-entropy-0123456789';
const KID = 'hs-1';

/**
 * The trusted OIDC inputs of a test decision state (`buildRuntimeDecisionState({ trustedOidc })`):
 * a discovery document and a JWKS holding the one HS256 key {@link signConsoleTestToken} signs with.
 */
export function consoleTestTrustedOidc(): { discoveryJson: string; jwksJson: string; audience: string } {
  const k = Buffer.from(HS_SECRET).toString('base64url');
  return {
    discoveryJson: JSON.stringify({
      issuer: CONSOLE_TEST_ISSUER,
      jwks_uri: `${CONSOLE_TEST_ISSUER}/.well-known/jwks.json`,
    }),
    jwksJson: JSON.stringify({ keys: [{ kid: KID, kty: 'oct', alg: 'HS256', k }] }),
    audience: CONSOLE_TEST_AUDIENCE,
  };
}

const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An HS256 console token (a compact JWS) for `email` from the test issuer to the
 * `meerkat-console` audience, valid for `expiresInSeconds` (default 5 minutes), with `claims` on top.
 */
export function signConsoleTestToken(
  email = CONSOLE_TEST_EMAIL,
  claims: Record<string, unknown> = {},
  expiresInSeconds = 300,
): string {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const header = segment({ alg: 'HS256', kid: KID });
  const payload = segment({
    email,
    provider: 'google_oauth',
    iss: CONSOLE_TEST_ISSUER,
    aud: CONSOLE_TEST_AUDIENCE,
    exp: nowSeconds + expiresInSeconds,
    ...claims,
  });
  const signature = createHmac('sha256', HS_SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
