import type { Profile } from '../definition.js';
import { MobRuntimeError } from '../errors.js';
import { AnthropicClient } from './anthropic.js';
import { OpenAiCompatibleClient } from './openai.js';
import type { LlmClient } from './types.js';

/** Environment variables read by {@link resolveLlmClient}. */
export type ProviderEnv = Record<string, string | undefined>;

function firstKey(env: ProviderEnv, names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

/** The provider a profile resolves to: its `provider`, else the model family (`claude-*` → anthropic, `gpt-*`/`o1..o4` → openai). */
export function providerForProfile(profile: Profile): string {
  if (profile.provider) return profile.provider;
  const m = profile.model.toLowerCase();
  if (m.startsWith('claude')) return 'anthropic';
  if (m.startsWith('gpt') || /^o[1-9]/.test(m) || m.startsWith('chatgpt')) return 'openai';
  throw new MobRuntimeError(
    'DEFINITION_ERROR',
    `definition error: unknown_model: profiles.${profile.name}.model: cannot tell the provider of model '${profile.model}'; set profiles.${profile.name}.provider (anthropic, openai, self_hosted)`,
    { details: { field: `profiles.${profile.name}.provider` } },
  );
}

/**
 * A real streaming client for a profile, from its provider/model and keys in `env`:
 * anthropic → {@link AnthropicClient} (`RKAT_ANTHROPIC_API_KEY` or `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`);
 * openai → {@link OpenAiCompatibleClient} (`RKAT_OPENAI_API_KEY` or `OPENAI_API_KEY`, `OPENAI_BASE_URL`);
 * self_hosted → OpenAI-compatible at `OPENAI_BASE_URL` (key optional). A missing key is a
 * `MissingProviderKey` error naming the variable to set.
 */
export function resolveLlmClient(
  profile: Profile,
  env: ProviderEnv = process.env,
  fetchImpl?: typeof fetch,
): LlmClient {
  const provider = providerForProfile(profile);
  const missing = (vars: string[]) =>
    new MobRuntimeError(
      'PROVIDER_ERROR',
      `profile '${profile.name}' uses provider ${provider} (model ${profile.model}) but no API key is set: set ${vars[vars.length - 1]} (or ${vars.slice(0, -1).join(', ')}) in the environment, or pass an llm client to the mob`,
      { code: 'MissingProviderKey', details: { profile: profile.name, provider, envVars: vars } },
    );
  switch (provider) {
    case 'anthropic': {
      const vars = ['RKAT_ANTHROPIC_API_KEY', 'ANTHROPIC_API_KEY'];
      const apiKey = firstKey(env, vars);
      if (!apiKey) throw missing(vars);
      return new AnthropicClient({ apiKey, baseUrl: env.ANTHROPIC_BASE_URL || undefined, fetch: fetchImpl });
    }
    case 'openai': {
      const vars = ['RKAT_OPENAI_API_KEY', 'OPENAI_API_KEY'];
      const apiKey = firstKey(env, vars);
      if (!apiKey) throw missing(vars);
      return new OpenAiCompatibleClient({ apiKey, baseUrl: env.OPENAI_BASE_URL || undefined, fetch: fetchImpl });
    }
    case 'self_hosted': {
      const baseUrl = env.OPENAI_BASE_URL;
      if (!baseUrl) {
        throw new MobRuntimeError(
          'PROVIDER_ERROR',
          `profile '${profile.name}' uses provider self_hosted but OPENAI_BASE_URL is not set: set OPENAI_BASE_URL to the server's /v1 URL`,
          {
            code: 'MissingProviderKey',
            details: { profile: profile.name, provider, envVars: ['OPENAI_BASE_URL'] },
          },
        );
      }
      return new OpenAiCompatibleClient({
        apiKey: firstKey(env, ['RKAT_OPENAI_API_KEY', 'OPENAI_API_KEY']),
        baseUrl,
        provider: 'self_hosted',
        fetch: fetchImpl,
      });
    }
    default:
      throw new MobRuntimeError(
        'PROVIDER_ERROR',
        `profile '${profile.name}' uses provider ${provider}, which has no built-in client here; pass an llm client to the mob (createEmbeddedMob(def, { llm }))`,
        { details: { profile: profile.name, provider } },
      );
  }
}
