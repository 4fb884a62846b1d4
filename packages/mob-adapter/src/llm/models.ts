/** One row of {@link VISION_MODELS}: model ids matching `pattern` (lower-cased) take images when `vision` is true. */
export interface VisionModelRule {
  pattern: RegExp;
  vision: boolean;
}

/**
 * Which models take images, by provider; the first matching rule of a provider wins, and a model no
 * rule matches is taken not to (send it images only with an explicit override).
 *
 * - `openai`: gpt-4o* (and chatgpt-4o*), gpt-4.1*, gpt-4.5*, gpt-4-turbo (the 2024-04-09 release), gpt-5*,
 *   o1 and o1-pro (and their dated snapshots), o3*, o4* do; gpt-3.5*, plain gpt-4 (and its dated
 *   snapshots), o1-mini*, o3-mini* do not (nor o1-preview, which no rule names).
 * - `anthropic`: claude-3* (3, 3.5, 3.7), claude-opus/sonnet/haiku-<n> with n ≥ 3 (claude-sonnet-4-5,
 *   claude-opus-4-1, …), claude-<name>-4* and later, claude-4* and later do; claude-2* and
 *   claude-instant* do not.
 * - `gemini`/`google`: gemini-1.5* and gemini-2* (and 3, …) do; gemini-1.0 does not.
 * - `test`, `delayed-test`, `scripted` (the test clients): every model does.
 * - `self_hosted` and any other provider: no model does (their models vary; use the override).
 */
export const VISION_MODELS: Readonly<Record<string, readonly VisionModelRule[]>> = Object.freeze({
  openai: [
    { pattern: /^o1-mini/, vision: false },
    { pattern: /^o3-mini/, vision: false },
    { pattern: /^gpt-3\.5/, vision: false },
    { pattern: /^(gpt|chatgpt)-4o/, vision: true },
    { pattern: /^gpt-4\.1/, vision: true },
    { pattern: /^gpt-4\.5/, vision: true },
    { pattern: /^gpt-4-turbo(-\d{4}-\d{2}-\d{2})?$/, vision: true },
    { pattern: /^gpt-4(-\d{4}.*)?$/, vision: false },
    { pattern: /^gpt-5/, vision: true },
    { pattern: /^o1(-pro)?(-\d{4}-\d{2}-\d{2})?$/, vision: true },
    { pattern: /^o3/, vision: true },
    { pattern: /^o4/, vision: true },
  ],
  anthropic: [
    { pattern: /^claude-(2|instant)/, vision: false },
    { pattern: /^claude-3/, vision: true },
    { pattern: /^claude-(opus|sonnet|haiku)-([3-9]|\d{2,})\b/, vision: true },
    { pattern: /^claude-[a-z]+-([4-9]|\d{2,})\b/, vision: true },
    { pattern: /^claude-([4-9]|\d{2,})\b/, vision: true },
  ],
  gemini: [
    { pattern: /^(models\/)?gemini-1\.5/, vision: true },
    { pattern: /^(models\/)?gemini-([2-9]|\d{2,})\b/, vision: true },
  ],
  test: [{ pattern: /.*/, vision: true }],
});

const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  google: 'gemini',
  'delayed-test': 'test',
  scripted: 'test',
};

/**
 * Whether `model` of `provider` takes images in its input: `override.vision` when set (a profile's
 * explicit say), else the {@link VISION_MODELS} table (unknown providers and models: false).
 * @param provider an `LlmClient`'s provider name (`openai`, `anthropic`, `gemini`, `test`, …)
 * @param model the model id (`gpt-4o-mini`, `claude-sonnet-4-5`, …), matched case-insensitively
 */
export function modelSupportsVision(provider: string, model: string, override?: { vision?: boolean }): boolean {
  if (override?.vision !== undefined) return override.vision;
  const key = provider.toLowerCase();
  const rules = VISION_MODELS[PROVIDER_ALIASES[key] ?? key];
  if (!rules) return false;
  const id = model.trim().toLowerCase();
  return rules.find((rule) => rule.pattern.test(id))?.vision ?? false;
}
