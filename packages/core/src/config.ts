import { z } from 'zod';
import { wireCodec, wireEncoder } from './codec.js';
import { parseWithSchema } from './schema.js';

const nonBlank = (what: string) =>
  z
    .string()
    .trim()
    .refine((s) => s.length > 0, { message: `${what} must not be blank` });

/** `{ [key]: value }` when `value` is defined, else `{}` (an absent optional stays absent). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Restart policy of a module: `never`, `on_failure` (default in the trust manifest) or `always`. */
export const RestartPolicySchema = z.enum(['never', 'on_failure', 'always']);
/** Restart policy of a module. */
export type RestartPolicy = z.output<typeof RestartPolicySchema>;

/** Wire form of a module config: every field required, snake_case. */
export const ModuleConfigWireSchema = z.object({
  id: nonBlank('id'),
  command: nonBlank('command'),
  args: z.array(z.string()),
  restart_policy: RestartPolicySchema,
});
/** Module config as written on the wire (`restart_policy`). */
export type ModuleConfigWire = z.input<typeof ModuleConfigWireSchema>;

/** A module MobKit may start: its id, executable, arguments and restart policy. */
export interface ModuleConfig {
  id: string;
  command: string;
  args: string[];
  restartPolicy: RestartPolicy;
}
/** The codec between a wire module config and the camelCase {@link ModuleConfig}. */
export const ModuleConfigSchema = wireCodec(ModuleConfigWireSchema, {
  decode: (w): ModuleConfig => ({ id: w.id, command: w.command, args: w.args, restartPolicy: w.restart_policy }),
  encode: (c) => ({ id: c.id, command: c.command, args: [...c.args], restart_policy: c.restartPolicy }),
});

/** Parses a wire module config (throws `MobKitError` naming the field). */
export function parseModuleConfig(input: unknown, pathPrefix = ''): ModuleConfig {
  return parseWithSchema(ModuleConfigSchema, input, { what: 'module config', pathPrefix });
}
/** Converts a {@link ModuleConfig} to its wire form. */
export const moduleConfigToWire: (config: ModuleConfig) => ModuleConfigWire = wireEncoder(ModuleConfigSchema);

/** Wire form of the module discovery spec: the ordered ids to start. */
export const DiscoverySpecSchema = z.object({
  namespace: z.string(),
  modules: z.array(nonBlank('module id')),
});
/** Which modules to start, in order; `namespace` is informational. */
export type DiscoverySpec = z.output<typeof DiscoverySpecSchema>;
/** Parses a wire discovery spec. */
export function parseDiscoverySpec(input: unknown): DiscoverySpec {
  return parseWithSchema(DiscoverySpecSchema, input, { what: 'discovery spec' });
}
/** Converts a {@link DiscoverySpec} to its wire form (identical shape; validated). */
export const discoverySpecToWire: (spec: DiscoverySpec) => z.input<typeof DiscoverySpecSchema> =
  wireEncoder(DiscoverySpecSchema);

/** Wire form of pre-spawn data: env as `[[key, value], …]` tuples. */
export const PreSpawnDataWireSchema = z.object({
  module_id: nonBlank('module_id'),
  env: z.array(z.tuple([z.string(), z.string()])),
});
/** Pre-spawn data as written on the wire. */
export type PreSpawnDataWire = z.input<typeof PreSpawnDataWireSchema>;
/** Extra environment for one module's process (and, via `MOBKIT_MODULE_BOUNDARY=mcp`, its boundary). */
export interface PreSpawnData {
  moduleId: string;
  env: [string, string][];
}
/** The codec between wire pre-spawn data and {@link PreSpawnData}. */
export const PreSpawnDataSchema = wireCodec(PreSpawnDataWireSchema, {
  decode: (w): PreSpawnData => ({ moduleId: w.module_id, env: w.env.map(([k, v]) => [k, v] as [string, string]) }),
  encode: (d) => ({ module_id: d.moduleId, env: d.env.map(([k, v]) => [k, v] as [string, string]) }),
});
/** Parses wire pre-spawn data. */
export function parsePreSpawnData(input: unknown): PreSpawnData {
  return parseWithSchema(PreSpawnDataSchema, input, { what: 'pre-spawn data' });
}
/** Converts {@link PreSpawnData} to its wire form. */
export const preSpawnDataToWire: (data: PreSpawnData) => PreSpawnDataWire = wireEncoder(PreSpawnDataSchema);

/** Wire form of the full module configuration. */
export const MobKitConfigWireSchema = z.object({
  modules: z.array(ModuleConfigSchema),
  discovery: DiscoverySpecSchema,
  pre_spawn: z.array(PreSpawnDataSchema).default([]),
});
/** The module half of MobKit's configuration: configured modules, which to start, and their env. */
export interface MobKitConfig {
  /** Every module MobKit may start. */
  modules: ModuleConfig[];
  /** Which of them to start, in order. */
  discovery: DiscoverySpec;
  /** Extra env per module. */
  preSpawn: PreSpawnData[];
}
/** The codec between a wire MobKit config and {@link MobKitConfig}. */
export const MobKitConfigSchema = wireCodec(MobKitConfigWireSchema, {
  decode: (w): MobKitConfig => ({ modules: w.modules, discovery: w.discovery, preSpawn: w.pre_spawn }),
  encode: (c) => ({ modules: c.modules, discovery: c.discovery, pre_spawn: c.preSpawn }),
});
/** Parses a wire MobKit config (`{modules, discovery, pre_spawn}`). */
export function parseMobKitConfig(input: unknown): MobKitConfig {
  return parseWithSchema(MobKitConfigSchema, input, { what: 'mobkit config' });
}
/** Converts a {@link MobKitConfig} to its wire form. */
export const mobKitConfigToWire: (config: MobKitConfig) => {
  modules: ModuleConfigWire[];
  discovery: z.input<typeof DiscoverySpecSchema>;
  pre_spawn: PreSpawnDataWire[];
} = wireEncoder(MobKitConfigSchema) as never; // the encoder always writes pre_spawn

/** Wire form of the Elephant memory backend option. */
export const MemoryBackendSchema = z.object({
  kind: z.literal('elephant'),
  endpoint: z.string(),
  state_path: z.string(),
});

const budget = z.number().int().min(0).max(1_000);

/** Wire form of runtime options, with the spec's defaults. */
export const RuntimeOptionsWireSchema = z.object({
  on_failure_retry_budget: budget.default(1),
  always_restart_budget: budget.default(1),
  supervisor_restart_backoff_ms: z.number().int().min(0).max(3_600_000).default(0),
  supervisor_test_force_terminate_failure: z.boolean().default(false),
  memory_backend: MemoryBackendSchema.nullable().optional(),
  // MobKit-TS additions (optional; @mobkit/supervisor applies the defaults named in RuntimeOptions).
  shutdown_grace_ms: z.number().int().min(0).max(600_000).optional(),
  restart_backoff_multiplier: z.number().min(1).max(100).optional(),
  restart_backoff_min_ms: z.number().int().min(0).max(3_600_000).optional(),
  restart_backoff_max_ms: z.number().int().min(0).max(3_600_000).optional(),
  restart_stable_ms: z.number().int().min(0).max(86_400_000).optional(),
});
/** Runtime options as written on the wire (every field optional). */
export type RuntimeOptionsWire = z.input<typeof RuntimeOptionsWireSchema>;
/**
 * Supervisor options: restart budgets (default 1/1) and the fixed backoff between start attempts
 * (default 0 ms), as in the original; plus optional MobKit-TS additions whose defaults
 * `@mobkit/supervisor` applies when they are absent.
 */
export interface RuntimeOptions {
  /** Restarts allowed for an `on_failure` module whose start fails (default 1). */
  onFailureRetryBudget: number;
  /** Restarts allowed for an `always` module (default 1). */
  alwaysRestartBudget: number;
  /** Fixed sleep between start attempts, and the first delay after a crash (default 0 ms). */
  supervisorRestartBackoffMs: number;
  /** Test hook: every terminate of a running module during restart or replacement reports failure (default false). */
  supervisorTestForceTerminateFailure: boolean;
  /** Optional Elephant memory backend. */
  memoryBackend: { kind: 'elephant'; endpoint: string; statePath: string } | undefined;
  /** Shutdown: time between SIGTERM and SIGKILL of a module's process group (default 1600 ms). */
  shutdownGraceMs?: number | undefined;
  /** Crash restarts after ready: growth factor of the delay between consecutive restarts (default 1.5). */
  restartBackoffMultiplier?: number | undefined;
  /** Crash restarts after ready: the delay a growing backoff starts from when the base backoff is 0 (default 100 ms). */
  restartBackoffMinMs?: number | undefined;
  /** Crash restarts after ready: the largest delay between restarts (default 30000 ms). */
  restartBackoffMaxMs?: number | undefined;
  /** Crash restarts after ready: healthy this long and the crash count and backoff reset (default 30000 ms). */
  restartStableMs?: number | undefined;
}
/** The codec between wire runtime options and {@link RuntimeOptions} (optional additions stay absent when absent). */
export const RuntimeOptionsSchema = wireCodec(RuntimeOptionsWireSchema, {
  decode: (w): RuntimeOptions => ({
    onFailureRetryBudget: w.on_failure_retry_budget,
    alwaysRestartBudget: w.always_restart_budget,
    supervisorRestartBackoffMs: w.supervisor_restart_backoff_ms,
    supervisorTestForceTerminateFailure: w.supervisor_test_force_terminate_failure,
    memoryBackend:
      w.memory_backend == null
        ? undefined
        : { kind: w.memory_backend.kind, endpoint: w.memory_backend.endpoint, statePath: w.memory_backend.state_path },
    ...optional('shutdownGraceMs', w.shutdown_grace_ms),
    ...optional('restartBackoffMultiplier', w.restart_backoff_multiplier),
    ...optional('restartBackoffMinMs', w.restart_backoff_min_ms),
    ...optional('restartBackoffMaxMs', w.restart_backoff_max_ms),
    ...optional('restartStableMs', w.restart_stable_ms),
  }),
  encode: (o) => ({
    on_failure_retry_budget: o.onFailureRetryBudget,
    always_restart_budget: o.alwaysRestartBudget,
    supervisor_restart_backoff_ms: o.supervisorRestartBackoffMs,
    supervisor_test_force_terminate_failure: o.supervisorTestForceTerminateFailure,
    ...(o.memoryBackend
      ? {
          memory_backend: {
            kind: o.memoryBackend.kind,
            endpoint: o.memoryBackend.endpoint,
            state_path: o.memoryBackend.statePath,
          },
        }
      : {}),
    ...optional('shutdown_grace_ms', o.shutdownGraceMs),
    ...optional('restart_backoff_multiplier', o.restartBackoffMultiplier),
    ...optional('restart_backoff_min_ms', o.restartBackoffMinMs),
    ...optional('restart_backoff_max_ms', o.restartBackoffMaxMs),
    ...optional('restart_stable_ms', o.restartStableMs),
  }),
});
/** Parses wire runtime options, filling defaults (`undefined` → all defaults). */
export function parseRuntimeOptions(input: unknown = {}): RuntimeOptions {
  return parseWithSchema(RuntimeOptionsSchema, input ?? {}, { what: 'runtime options' });
}
/** The default runtime options. */
export function defaultRuntimeOptions(): RuntimeOptions {
  return parseRuntimeOptions({});
}
/** Converts {@link RuntimeOptions} to its wire form. */
export const runtimeOptionsToWire: (options: RuntimeOptions) => RuntimeOptionsWire = wireEncoder(RuntimeOptionsSchema);

/** Wire form of an agent discovery spec (optional fields omitted when absent or empty). */
export const AgentDiscoverySpecWireSchema = z.object({
  profile: nonBlank('profile'),
  meerkat_id: nonBlank('meerkat_id'),
  labels: z.record(z.string(), z.string()).optional(),
  context: z.unknown().optional(),
  additional_instructions: z.array(z.string()).optional(),
  resume_session_id: z.string().optional(),
});
/** Agent discovery spec as written on the wire. */
export type AgentDiscoverySpecWire = z.input<typeof AgentDiscoverySpecWireSchema>;
/** A member that discovery says should exist: profile, id, labels, context, instructions, session to resume. */
export interface AgentDiscoverySpec {
  profile: string;
  meerkatId: string;
  labels: Record<string, string> | undefined;
  context: unknown;
  additionalInstructions: string[] | undefined;
  resumeSessionId: string | undefined;
}
/** The codec between a wire agent discovery spec and {@link AgentDiscoverySpec}; encoding omits absent and empty optionals. */
export const AgentDiscoverySpecSchema = wireCodec(AgentDiscoverySpecWireSchema, {
  decode: (w): AgentDiscoverySpec => ({
    profile: w.profile,
    meerkatId: w.meerkat_id,
    labels: w.labels,
    context: w.context,
    additionalInstructions:
      w.additional_instructions && w.additional_instructions.length > 0 ? w.additional_instructions : undefined,
    resumeSessionId: w.resume_session_id,
  }),
  encode: (spec) => ({
    profile: spec.profile,
    meerkat_id: spec.meerkatId,
    ...(spec.labels && Object.keys(spec.labels).length > 0 ? { labels: { ...spec.labels } } : {}),
    ...(spec.context !== undefined && spec.context !== null ? { context: spec.context } : {}),
    ...(spec.additionalInstructions && spec.additionalInstructions.length > 0
      ? { additional_instructions: [...spec.additionalInstructions] }
      : {}),
    ...optional('resume_session_id', spec.resumeSessionId),
  }),
});
/** Parses a wire agent discovery spec. */
export function parseAgentDiscoverySpec(input: unknown): AgentDiscoverySpec {
  return parseWithSchema(AgentDiscoverySpecSchema, input, { what: 'agent discovery spec' });
}
/** Converts an {@link AgentDiscoverySpec} to its wire form, omitting absent and empty optionals. */
export const agentDiscoverySpecToWire: (spec: AgentDiscoverySpec) => AgentDiscoverySpecWire =
  wireEncoder(AgentDiscoverySpecSchema);
