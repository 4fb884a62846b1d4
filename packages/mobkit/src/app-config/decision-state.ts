import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type RuntimeDecisionState, buildRuntimeDecisionState, parseRuntimeDecisionInputs } from '@mobkit/auth-policy';
import { type ModuleConfig, moduleConfigToWire } from '@mobkit/core';
import { stringify } from 'smol-toml';
import { displayPath, fail } from './files.js';
import type { MobkitTomlSections } from './sections.js';

/** Release metadata the decision state requires (an app is not a release channel). */
const RELEASE_METADATA_JSON = JSON.stringify({
  targets: ['crates.io', 'npm', 'pypi', 'github-releases'],
  support_matrix: 'same-as-meerkat',
});
const DEFAULT_BIGQUERY = { dataset: 'mobkit_reference', table: 'sessions' };

interface OidcInputs {
  discovery_json: string;
  jwks_json: string;
  audience: string;
}

function loadOidc(section: NonNullable<MobkitTomlSections['trusted_oidc']>, dir: string, file: string): OidcInputs {
  const pick = (fileKey: 'discovery_file' | 'jwks_file', jsonKey: 'discovery_json' | 'jwks_json'): string => {
    const path = section[fileKey];
    const inline = section[jsonKey];
    if (path !== undefined && inline !== undefined)
      fail(file, `trusted_oidc.${fileKey}`, `give either ${fileKey} or ${jsonKey}, not both`);
    if (inline !== undefined) return inline;
    if (path === undefined)
      fail(
        file,
        `trusted_oidc.${fileKey}`,
        `required (a JSON file relative to ${displayPath(dir)}), or give ${jsonKey} inline`,
      );
    const full = isAbsolute(path) ? path : resolve(dir, path);
    if (!existsSync(full) || !statSync(full).isFile())
      fail(file, `trusted_oidc.${fileKey}`, `${displayPath(full)} does not exist`);
    return readFileSync(full, 'utf8');
  };
  return {
    audience: section.audience,
    discovery_json: pick('discovery_file', 'discovery_json'),
    jwks_json: pick('jwks_file', 'jwks_json'),
  };
}

/**
 * A stand-in OIDC config for auth-off runs: the decision state always carries one, and this one
 * holds a random secret no caller can know, on a localhost issuer, so it can verify nothing.
 */
function inertOidc(): OidcInputs {
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  return {
    audience: 'mobkit-console',
    discovery_json: JSON.stringify({
      issuer: 'http://127.0.0.1/auth-off',
      jwks_uri: 'http://127.0.0.1/auth-off/jwks.json',
    }),
    jwks_json: JSON.stringify({ keys: [{ kty: 'oct', kid: 'auth-off', alg: 'HS256', k: secret }] }),
  };
}

/**
 * The console and API policy of an app config: `[console]`, `[auth]`, `[trusted_oidc]` (files relative
 * to `dir`) and `[bigquery]` of `mobkit.toml`. Auth on without `[trusted_oidc]` is `InvalidConfig`.
 */
export function appDecisionState(
  sections: MobkitTomlSections,
  mobkitTomlText: string,
  dir: string,
  file: string,
): RuntimeDecisionState {
  const requireAuth = sections.console.require_app_auth;
  if (requireAuth && sections.trusted_oidc === undefined) {
    fail(
      file,
      'trusted_oidc',
      'required when console.require_app_auth = true: give audience, discovery_file and jwks_file of your identity provider',
    );
  }
  return buildRuntimeDecisionState(
    parseRuntimeDecisionInputs({
      bigquery: sections.bigquery ?? DEFAULT_BIGQUERY,
      trusted_mobkit_toml: mobkitTomlText,
      trusted_oidc: sections.trusted_oidc === undefined ? inertOidc() : loadOidc(sections.trusted_oidc, dir, file),
      console: { require_app_auth: requireAuth },
      ...(sections.auth === undefined ? {} : { auth: sections.auth }),
      release_metadata_json: RELEASE_METADATA_JSON,
    }),
  );
}

/** A decision state with console auth off over `modules` (the gateway's HTTP side: loopback only). */
export function authOffDecisionState(modules: readonly ModuleConfig[]): RuntimeDecisionState {
  return buildRuntimeDecisionState(
    parseRuntimeDecisionInputs({
      bigquery: DEFAULT_BIGQUERY,
      trusted_mobkit_toml: modules.length === 0 ? '' : stringify({ modules: modules.map(moduleConfigToWire) }),
      trusted_oidc: inertOidc(),
      console: { require_app_auth: false },
      release_metadata_json: RELEASE_METADATA_JSON,
    }),
  );
}
