import { closedObject, parseWithSchema, wireCodec, wireEncoder } from '@mobkit/core';
import { z } from 'zod';

/** The providers' wire spellings, in the spec's order. */
const PROVIDER_NAMES = [
  'google_o_auth',
  'git_hub_o_auth',
  'generic_oidc',
  'service_identity',
  'test_provider',
] as const;

/**
 * Identity providers, spelled as the original puts them on the wire (serde snake_case of `GoogleOAuth`,
 * `GitHubOAuth`, `GenericOidc`, `ServiceIdentity`, `TestProvider`).
 */
export type AuthProvider = (typeof PROVIDER_NAMES)[number];

/** Every {@link AuthProvider}. */
export const AUTH_PROVIDERS: readonly AuthProvider[] = Object.freeze([...PROVIDER_NAMES]);

/** Who may use the console (spec §13 `AuthPolicy`). */
export interface AuthPolicy {
  /** The provider human identities must come from (default `google_o_auth`). */
  defaultProvider: AuthProvider;
  /** Emails (and `svc:` service identities) allowed in; empty admits nobody. Compared exactly. */
  emailAllowlist: string[];
}

/** Whether the console requires authentication (spec §13 `ConsolePolicy`). */
export interface ConsolePolicy {
  /** Default true. When false every console request is allowed without a token. */
  requireAppAuth: boolean;
}

/** The original's defaults: `{ defaultProvider: 'google_o_auth', emailAllowlist: [] }`. */
export function defaultAuthPolicy(): AuthPolicy {
  return { defaultProvider: 'google_o_auth', emailAllowlist: [] };
}

/** The original's default: `{ requireAppAuth: true }`. */
export function defaultConsolePolicy(): ConsolePolicy {
  return { requireAppAuth: true };
}

/** Spellings accepted besides the spec's: the claim values `google_oauth` and `github_oauth`. */
const PROVIDER_ALIASES = { google_oauth: 'google_o_auth', github_oauth: 'git_hub_o_auth' } as const;

/** A provider on the wire: the spec's spellings, or an alias (decoded to the spec's); encoded as the spec's. */
export const AuthProviderCodec = z.codec(
  z.enum([...PROVIDER_NAMES, ...(Object.keys(PROVIDER_ALIASES) as Array<keyof typeof PROVIDER_ALIASES>)]),
  z.enum(PROVIDER_NAMES),
  {
    decode: (name): AuthProvider =>
      name in PROVIDER_ALIASES ? PROVIDER_ALIASES[name as keyof typeof PROVIDER_ALIASES] : (name as AuthProvider),
    encode: (provider) => provider,
  },
);

/** The auth policy as a config file or JSON-RPC call writes it: `{ default_provider?, email_allowlist? }`. */
export const AuthPolicyWireSchema = closedObject({
  default_provider: AuthProviderCodec.optional(),
  email_allowlist: z.array(z.string()).optional(),
});

/** The members of an auth policy that its wire form gives (absent ones stay absent). */
export function authPolicyMembers(wire: z.output<typeof AuthPolicyWireSchema>): Partial<AuthPolicy> {
  return {
    ...(wire.default_provider === undefined ? {} : { defaultProvider: wire.default_provider }),
    ...(wire.email_allowlist === undefined ? {} : { emailAllowlist: [...wire.email_allowlist] }),
  };
}

/** The wire form of the members an auth policy has (absent ones stay absent). */
export function authPolicyMembersToWire(policy: Partial<AuthPolicy>): z.output<typeof AuthPolicyWireSchema> {
  return {
    ...(policy.defaultProvider === undefined ? {} : { default_provider: policy.defaultProvider }),
    ...(policy.emailAllowlist === undefined ? {} : { email_allowlist: [...policy.emailAllowlist] }),
  };
}

/** The codec between the wire auth policy and {@link AuthPolicy}; missing members take the defaults. */
export const AuthPolicyCodec = wireCodec(AuthPolicyWireSchema, {
  decode: (wire): AuthPolicy => ({ ...defaultAuthPolicy(), ...authPolicyMembers(wire) }),
  encode: (policy) => authPolicyMembersToWire(policy),
});

/** Wire form of an {@link AuthPolicy}, as {@link authPolicyToWire} writes it (both members). */
export interface AuthPolicyWire {
  default_provider: AuthProvider;
  email_allowlist: string[];
}

/** The console policy as a config file writes it: `{ require_app_auth? }`. */
export const ConsolePolicyWireSchema = closedObject({ require_app_auth: z.boolean().optional() });

/** The codec between the wire console policy and {@link ConsolePolicy} (`require_app_auth` defaults to true). */
export const ConsolePolicyCodec = wireCodec(ConsolePolicyWireSchema, {
  decode: (wire): ConsolePolicy => ({ requireAppAuth: wire.require_app_auth ?? defaultConsolePolicy().requireAppAuth }),
  encode: (policy) => ({ require_app_auth: policy.requireAppAuth }),
});

/** Wire form of a {@link ConsolePolicy}, as {@link consolePolicyToWire} writes it. */
export interface ConsolePolicyWire {
  require_app_auth: boolean;
}

/**
 * Parses an auth policy in its wire form (`{ default_provider?, email_allowlist? }`); missing members (or a
 * missing policy) take the defaults. Accepts the provider spellings `google_oauth`/`github_oauth` as aliases.
 * Throws `InvalidConfig` naming the key path (`auth.default_provider: expected one of …`); unknown keys are
 * refused with the allowed ones listed.
 */
export function parseAuthPolicy(wire: unknown): AuthPolicy {
  if (wire === undefined || wire === null) return defaultAuthPolicy();
  return parseWithSchema(AuthPolicyCodec, wire, { what: 'auth policy', pathPrefix: 'auth', code: 'InvalidConfig' });
}

/** Wire form of an {@link AuthPolicy} (the encoder of {@link AuthPolicyCodec}). */
export const authPolicyToWire = wireEncoder(AuthPolicyCodec) as (policy: AuthPolicy) => AuthPolicyWire; // a full policy encodes both members

/**
 * Parses a console policy in its wire form (`{ require_app_auth? }`, default true; a missing policy takes the
 * default). Throws `InvalidConfig` naming the key path; unknown keys are refused with the allowed ones listed.
 */
export function parseConsolePolicy(wire: unknown): ConsolePolicy {
  if (wire === undefined || wire === null) return defaultConsolePolicy();
  return parseWithSchema(ConsolePolicyCodec, wire, {
    what: 'console policy',
    pathPrefix: 'console',
    code: 'InvalidConfig',
  });
}

/** Wire form of a {@link ConsolePolicy} (the encoder of {@link ConsolePolicyCodec}). */
export const consolePolicyToWire = wireEncoder(ConsolePolicyCodec) as (policy: ConsolePolicy) => ConsolePolicyWire; // always writes require_app_auth
