import { closedObject } from '@mobkit/core';
import { z } from 'zod';
import { McpServerFieldsSchema } from './tools/mcp/config.js';

/** LLM providers as named in a definition (`provider = "anthropic"`). */
export const PROVIDERS = ['anthropic', 'openai', 'gemini', 'self_hosted', 'other'] as const;

const nonBlank = z.string().refine((s) => s.trim() !== '', 'must not be empty');
const positiveInt = z.int().min(1, 'must be >= 1');
const provider = z.enum(PROVIDERS);
const table = z.record(z.string(), z.unknown());

/** `[profiles.<name>.tools]`: every flag defaults to false (Meerkat's `ToolConfig`, plus mobkit 0.4's `mob_tasks`). */
const ToolsSchema = closedObject({
  builtins: z.boolean().optional(),
  shell: z.boolean().optional(),
  comms: z.boolean().optional(),
  memory: z.boolean().optional(),
  workgraph: z.boolean().optional(),
  mob: z.boolean().optional(),
  mob_tasks: z.boolean().optional(),
  schedule: z.boolean().optional(),
  image_generation: z.boolean().optional(),
  read_only: z.boolean().optional(),
  mcp: z.array(nonBlank).optional(),
  mcp_servers: z.array(McpServerFieldsSchema).optional(),
  modules: z.array(nonBlank).optional(),
  rust_bundles: z.array(z.string()).optional(),
});

/** `[budget]` and `[profiles.<name>.budget]`: limits a run (or a member's day) may not pass. */
const BudgetSchema = closedObject({
  max_tokens_per_run: positiveInt.optional(),
  max_tokens_per_day: positiveInt.optional(),
  max_tool_calls_per_run: positiveInt.optional(),
});

/** Meerkat's strict `ProviderParamsOverride`: provider-native knobs; unknown keys are refused. */
const ProviderParamsSchema = closedObject({
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  max_output_tokens: positiveInt.optional(),
  reasoning: z.enum(['emit', 'silent', 'off']).optional(),
  thinking_budget_tokens: z.int().min(0, 'must be >= 0').optional(),
  provider_tag: z.string().optional(),
});

/** `[profiles.<name>]` (Meerkat's `Profile`, plus the embedded mob's `max_turns` and `max_tokens`). */
const ProfileSchema = closedObject({
  model: nonBlank,
  provider: provider.optional(),
  self_hosted_server_id: z.string().optional(),
  image_generation_provider: provider.optional(),
  auto_compact_threshold: positiveInt.optional(),
  resume_overrides: z.array(z.enum(['model', 'provider', 'provider_params'])).optional(),
  skills: z.array(z.string()).optional(),
  tools: ToolsSchema.optional(),
  peer_description: z.string().optional(),
  external_addressable: z.boolean().optional(),
  backend: z.enum(['session', 'external']).optional(),
  runtime_mode: z.enum(['autonomous_host', 'turn_driven']).optional(),
  max_inline_peer_notifications: z.int().optional(),
  output_schema: table.optional(),
  provider_params: ProviderParamsSchema.optional(),
  max_turns: positiveInt.optional(),
  max_tokens: positiveInt.optional(),
  budget: BudgetSchema.optional(),
});

/** `[skills.<name>]`: `{source = "inline", content}` or `{source = "path", path}`. */
const SkillSchema = z.discriminatedUnion(
  'source',
  [
    closedObject({ source: z.literal('inline'), content: z.string() }),
    closedObject({ source: z.literal('path'), path: nonBlank }),
  ],
  {
    error: (issue) => {
      const source = (issue.input as { source?: unknown } | undefined)?.source;
      return source === undefined
        ? 'required (inline or path)'
        : `expected one of inline, path, got ${JSON.stringify(source)}`;
    },
  },
);

const WiringSchema = closedObject({
  auto_wire_orchestrator: z.boolean().optional(),
  role_wiring: z.array(closedObject({ a: nonBlank, b: nonBlank })).optional(),
});

/** `[models.<id>]`: a custom model needs a concrete `provider`; its other keys are Meerkat's to check. */
const ModelSchema = z.looseObject({ provider: z.string().pipe(provider) }); // missing: "required", not "expected one of"

/**
 * The TOML mob definition (meerkat-mob.md §1): `[mob] id, orchestrator`, `[profiles.*]`, `[models.*]`,
 * `[wiring]`, `[skills.*]` are checked here; `[backend]`, `[flows.*]`, `[topology]`, `[supervisor]`,
 * `[limits]`, `[spawn_policy]`, `[event_router]` and mobkit 0.4's `[mcp.*]` are kept for `mob/create`
 * (Meerkat validates them). Unknown top-level keys are refused.
 */
export const MobDefinitionSchema = closedObject({
  mob: closedObject({
    id: nonBlank,
    orchestrator: z.union([z.string(), closedObject({ profile: nonBlank })]).optional(),
  }),
  image_generation_provider: provider.optional(),
  budget: BudgetSchema.optional(),
  profiles: z.record(z.string(), ProfileSchema).optional(),
  models: z.record(z.string(), ModelSchema).optional(),
  wiring: WiringSchema.optional(),
  skills: z.record(z.string(), SkillSchema).optional(),
  mcp: z.unknown().optional(),
  backend: z.unknown().optional(),
  flows: z.unknown().optional(),
  topology: z.unknown().optional(),
  supervisor: z.unknown().optional(),
  limits: z.unknown().optional(),
  spawn_policy: z.unknown().optional(),
  event_router: z.unknown().optional(),
});

/** A `budget` table as the schema reads it. */
export type BudgetFields = z.output<typeof BudgetSchema>;
/** A definition as the schema reads it (snake_case, as written). */
export type MobDefinitionFields = z.output<typeof MobDefinitionSchema>;
/** One profile as the schema reads it. */
export type ProfileFields = z.output<typeof ProfileSchema>;
