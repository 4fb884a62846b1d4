import { MobKitError, closedObject, wireCodec } from '@mobkit/core';
import { z } from 'zod';
import { type JwksDocument, type OidcDiscoveryDocument, parseJwksDocument, parseOidcDiscoveryDocument } from './jwk.js';

/**
 * The console's trusted OIDC configuration (spec §13 `TrustedOidcRuntimeConfig`): the discovery document and
 * JWKS as JSON text, supplied by the operator, never by a caller, and the audience console tokens must carry.
 */
export interface TrustedOidcRuntimeConfig {
  /** `{"issuer": …, "jwks_uri": …}` as JSON text; other members are ignored. */
  discoveryJson: string;
  /** `{"keys": [ … ]}` as JSON text, at least one key. */
  jwksJson: string;
  /** The audience console tokens must carry (e.g. `meerkat-console`). */
  audience: string;
}

/**
 * The codec between the wire trusted OIDC config (`{ discovery_json, jwks_json, audience }`, all JSON text or
 * strings) and {@link TrustedOidcRuntimeConfig}. Only the shape is checked; {@link parseTrustedOidcConfig}
 * validates the documents.
 */
export const TrustedOidcConfigCodec = wireCodec(
  closedObject({ discovery_json: z.string(), jwks_json: z.string(), audience: z.string() }),
  {
    decode: (wire): TrustedOidcRuntimeConfig => ({
      discoveryJson: wire.discovery_json,
      jwksJson: wire.jwks_json,
      audience: wire.audience,
    }),
    encode: (config) => ({
      discovery_json: config.discoveryJson,
      jwks_json: config.jwksJson,
      audience: config.audience,
    }),
  },
);

/** A validated {@link TrustedOidcRuntimeConfig}. */
export interface ParsedTrustedOidc {
  discovery: OidcDiscoveryDocument;
  jwks: JwksDocument;
  audience: string;
}

/**
 * Validates a trusted OIDC config in the spec's order: audience non-blank → discovery JSON → JWKS JSON.
 * Each failure is `InvalidTrustedAuthConfig` with `details.field` = `trusted_oidc.audience`,
 * `trusted_oidc.discovery_json` or `trusted_oidc.jwks_json`.
 */
export function parseTrustedOidcConfig(config: TrustedOidcRuntimeConfig): ParsedTrustedOidc {
  if (config === null || typeof config !== 'object') {
    throw new MobKitError('InvalidTrustedAuthConfig', 'trusted_oidc: expected { discoveryJson, jwksJson, audience }', {
      details: { field: 'trusted_oidc' },
    });
  }
  if (typeof config.audience !== 'string' || config.audience.trim() === '') {
    throw new MobKitError(
      'InvalidTrustedAuthConfig',
      'trusted_oidc.audience must be a non-blank string (the audience console tokens carry, e.g. "meerkat-console")',
      {
        details: { field: 'trusted_oidc.audience' },
      },
    );
  }
  const discovery = parseSection(config.discoveryJson, 'trusted_oidc.discovery_json', (v) =>
    parseOidcDiscoveryDocument(v, 'trusted_oidc.discovery_json'),
  );
  const jwks = parseSection(config.jwksJson, 'trusted_oidc.jwks_json', (v) =>
    parseJwksDocument(v, 'trusted_oidc.jwks_json'),
  );
  return { discovery, jwks, audience: config.audience };
}

function parseSection<T>(text: unknown, field: string, validate: (value: unknown) => T): T {
  if (typeof text !== 'string') {
    throw new MobKitError('InvalidTrustedAuthConfig', `${field} must be JSON text (a string)`, { details: { field } });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MobKitError('InvalidTrustedAuthConfig', `${field} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
      details: { field },
    });
  }
  try {
    return validate(value);
  } catch (error) {
    throw new MobKitError('InvalidTrustedAuthConfig', (error as Error).message, {
      cause: error,
      details: { field, member: (error as MobKitError).details?.field },
    });
  }
}
