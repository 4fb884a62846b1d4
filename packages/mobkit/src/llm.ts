import { type LlmClient, type Profile, TestClient, resolveLlmClient } from '@mobkit/mob-adapter';

/** Environment variables that make {@link chooseLlm} use a real provider. */
export const PROVIDER_ENV_KEYS = [
  'OPENAI_API_KEY',
  'RKAT_OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'ANTHROPIC_API_KEY',
  'RKAT_ANTHROPIC_API_KEY',
] as const;

/** The LLM client the gateway, CLI and reference app run members with, and how it was chosen. */
export interface LlmChoice {
  /** One client for all members, or a factory per profile. */
  client: LlmClient | ((profile: Profile) => LlmClient);
  /** `'test'` or `'provider'`. */
  kind: 'test' | 'provider';
  /** One line for the start-up log, e.g. `TestClient (no provider key set)`. */
  description: string;
}

/**
 * Chooses the LLM client one way everywhere: `MOBKIT_LLM=test` forces the TestClient; otherwise a
 * real provider when its key (or `OPENAI_BASE_URL`) is set — chosen per profile from its
 * `provider`/`model`, a profile whose provider has no key falling back to the TestClient; otherwise
 * the TestClient. Nothing reaches the network unless a key is set.
 */
export function chooseLlm(env: NodeJS.ProcessEnv = process.env, log?: (line: string) => void): LlmChoice {
  const forced = env.MOBKIT_LLM?.trim().toLowerCase();
  if (forced === 'test') return { client: new TestClient(), kind: 'test', description: 'TestClient (MOBKIT_LLM=test)' };
  const set = PROVIDER_ENV_KEYS.filter((k) => (env[k] ?? '').trim() !== '');
  if (set.length === 0)
    return {
      client: new TestClient(),
      kind: 'test',
      description: 'TestClient (no provider key set; set OPENAI_API_KEY or ANTHROPIC_API_KEY for a real model)',
    };
  const fallback = new TestClient();
  const factory = (profile: Profile): LlmClient => {
    try {
      return resolveLlmClient(profile, env);
    } catch (error) {
      log?.(`[mobkit] profile ${profile.name}: ${(error as Error).message}; using the TestClient for it`);
      return fallback;
    }
  };
  return { client: factory, kind: 'provider', description: `real providers per profile (${set.join(', ')} set)` };
}
