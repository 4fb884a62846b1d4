import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, normalizeOrigin, parseHostHeader } from '@mobkit/auth-policy';
import { AgentDiscoverySpecSchema, closedObject, describeType, parseWithSchema } from '@mobkit/core';
import { z } from 'zod';
import { StoreSection } from './store.js';

const text = z.string().trim().min(1, { message: 'must not be blank' });

/** An integer from `min` to `max` (absent: `fallback`); the message says which range. */
const integerIn = (min: number, max: number, fallback: number) =>
  z
    .custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max, {
      error: (issue) =>
        `expected an integer from ${min} to ${max}, got ${describeType(issue.input)} ${JSON.stringify(issue.input)}`,
    })
    .optional()
    .transform((v) => v ?? fallback);

const PreSpawnSection = closedObject({
  module_id: text,
  env: z.record(z.string(), z.string()).default({}),
});
const DiscoverySection = closedObject({
  namespace: z.string().default('reference-app'),
  modules: z.array(text).default([]),
});
const RuntimeSection = closedObject({
  startup_timeout_ms: integerIn(1, 600_000, 15_000),
  drain_timeout_ms: integerIn(0, 600_000, 5_000),
});
const ConsoleSection = closedObject({ require_app_auth: z.boolean().default(false) });
const AuthSection = closedObject({
  default_provider: text.optional(),
  email_allowlist: z.array(text).optional(),
});
const TrustedOidcSection = closedObject({
  audience: text,
  discovery_file: text.optional(),
  discovery_json: text.optional(),
  jwks_file: text.optional(),
  jwks_json: text.optional(),
});
const BigQuerySection = closedObject({ dataset: z.string(), table: z.string() });

/** An `http(s)://host[:port]` origin (kept as written; the router normalizes it). */
const OriginEntry = z.string().refine((v) => normalizeOrigin(v) !== undefined, {
  error: (issue) => `expected an origin such as "https://console.example.com", got ${JSON.stringify(issue.input)}`,
});
/** A host name, IP literal or `[v6]`, with an optional `:port`. */
const HostEntry = z.string().refine((v) => parseHostHeader(v) !== undefined, {
  error: (issue) =>
    `expected a host name or name:port such as "mobkit.internal:8443", got ${JSON.stringify(issue.input)}`,
});

/**
 * `[http]`: what the HTTP edge refuses. `allowed_origins` may send state-changing requests besides the
 * server's own origin; `allowed_hosts` may appear as `Host` besides the bound address and the localhost
 * names; console tokens need `exp` unless `require_exp = false`, and live at most `max_token_lifetime_s`.
 */
const HttpSection = closedObject({
  allowed_origins: z.array(OriginEntry).default([]),
  allowed_hosts: z.array(HostEntry).default([]),
  require_exp: z.boolean().default(true),
  max_token_lifetime_s: integerIn(1, 366 * 24 * 3600, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS),
});

/**
 * Every section of `mobkit.toml` the app reads. `[[modules]]` is the trust manifest, checked by core's
 * `loadTrustedModulesFromToml` with its own codes; the other sections are checked here.
 */
export const MobkitTomlSchema = closedObject({
  modules: z.unknown().optional(),
  pre_spawn: z.array(PreSpawnSection).default([]),
  discovery: DiscoverySection.optional(),
  members: z.array(AgentDiscoverySpecSchema).default([]),
  runtime: RuntimeSection.prefault({}),
  console: ConsoleSection.prefault({}),
  auth: AuthSection.optional(),
  trusted_oidc: TrustedOidcSection.optional(),
  bigquery: BigQuerySection.optional(),
  http: HttpSection.prefault({}),
  store: StoreSection.optional(),
});

/** The app sections of a `mobkit.toml`, validated and with defaults applied. */
export type MobkitTomlSections = z.output<typeof MobkitTomlSchema>;

/** Validates the sections of a parsed `mobkit.toml`; problems are `InvalidConfig` naming `what` (the file) and the key path. */
export function parseMobkitTomlSections(doc: Record<string, unknown>, what: string): MobkitTomlSections {
  return parseWithSchema(MobkitTomlSchema, doc, { what, code: 'InvalidConfig' });
}
