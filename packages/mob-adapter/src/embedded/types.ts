import type { Clock, MobKitStore } from '@mobkit/core';
import type { MobDefinition, Profile } from '../definition.js';
import type { ProviderEnv } from '../llm/resolve.js';
import type { LlmClient, LlmMessage, ToolDef } from '../llm/types.js';
import type { MobLogEvent } from '../shared/event-log.js';
import type { MobMemberApi } from '../member-api.js';
import type { MobRuntime } from '../types.js';
import type { ShellToolOptions } from '../tools/shell.js';
import type { McpToolHost } from '../tools/types.js';
import type { McpHubOptions } from '../tools/mcp/hub.js';
import type { ToolsUnavailableNotice } from './tools.js';

/** What a tool sees when the embedded mob runs it. */
export interface ToolContext {
  memberId: string;
  profile: string;
  sessionId: string;
  /** Aborts when the run is cancelled or the tool times out. */
  signal: AbortSignal;
}

/** An application tool given to members of the embedded mob (besides the comms tools). */
export interface EmbeddedTool {
  definition: ToolDef;
  /** Profiles that get the tool (default: all). */
  profiles?: string[];
  /** Whether the tool only reads: profiles with `read_only = true` are offered only such tools. Default false. */
  readOnly?: boolean;
  /** Runs the tool; a string result is passed as is, anything else as JSON. Throwing makes an error result. */
  execute(args: unknown, context: ToolContext): Promise<unknown> | unknown;
}

/** Tuning of the embedded mob. */
export interface EmbeddedMobTuning {
  /** Max LLM turns per run before the run fails with MaxTurnsExceeded (default 16; a profile's `max_turns` wins). */
  maxTurns?: number;
  /** Per tool call timeout (default 60 s); a timed-out call becomes an error result. */
  toolTimeoutMs?: number;
  /** Output token cap per call (default 4096; a profile's `max_tokens` wins). */
  maxTokens?: number;
  /** Environment for provider keys (default `process.env`). */
  env?: ProviderEnv;
  /**
   * The time seam (default core's `systemClock`): event timestamps, and every wait — LLM retry
   * backoff, tool timeouts and `waitForIdle`'s timeout. Pass a `ManualClock` to test timing.
   */
  clock?: Clock;
  /**
   * The most UTF-8 bytes of conversation each member keeps in memory (default 8 MiB). Past it, the
   * oldest exchanges are evicted first; the system prompt and the run in progress never are.
   */
  historyMaxBytes?: number;
  /** The most messages each member keeps in memory (default 1,000), evicted like `historyMaxBytes`. */
  historyMaxMessages?: number;
  /**
   * The largest single message in UTF-8 bytes (default 1 MiB): a bigger host send, prompt, initial
   * message or peer message is refused with `MessageTooLarge` and nothing is kept; a bigger tool
   * result is truncated to it, with a note saying so.
   */
  maxMessageBytes?: number;
  /** How many mob log events to keep for `events()` (default 10,000). */
  eventLogLimit?: number;
  /** Extra tools for members. */
  tools?: EmbeddedTool[];
  /**
   * The `shell` tool of profiles with `shell = true`: `root` (default the definition's directory;
   * relative to it) is where commands run — a `cwd` outside it is refused — plus the timeout, output
   * cap and environment rules of {@link ShellToolOptions}.
   */
  shell?: Partial<ShellToolOptions>;
  /** `fetch` for the real provider clients. */
  fetch?: typeof fetch;
  /** Retries of a retryable provider failure that happened before any output (default 2). */
  llmRetries?: number;
  /** First retry delay; it doubles per retry (default 250 ms). */
  llmRetryBaseMs?: number;
}

/** History retention of the embedded mob's store (off by default: everything is kept). */
export interface HistoryRetention {
  /** Delete committed messages older than this, per member (the current run's are kept). */
  maxAgeMs?: number;
  /** Keep at most this many committed messages per member (the newest). */
  maxMessages?: number;
}

/** Options of {@link createEmbeddedMob}. */
export interface EmbeddedMobOptions {
  /** One client for every member, or a factory per profile (called once per profile). Default: a real provider client from the profile and env. */
  llm?: LlmClient | ((profile: Profile) => LlmClient);
  options?: EmbeddedMobTuning;
  /**
   * Where the mob keeps its state: roster, sessions, histories (each message committed as it
   * completes), inboxes and the mob state, through the store's records. With a store that holds
   * the state of this mob id, `createEmbeddedMob` restores it instead of starting empty (same
   * member ids, sessions, wiring; queued messages run; an interrupted run continues from its last
   * committed step). The store is the caller's: the mob never closes it. Default: in memory only.
   */
  store?: MobKitStore;
  /** After a restore, tell the orchestrator which members resumed (the original's resume notice). Default true. */
  notifyOrchestratorOnResume?: boolean;
  /** History retention in the store (default off). */
  historyRetention?: HistoryRetention;
  /**
   * Hold the work a restore brings back (the `interrupted` reports, continued runs, queued messages,
   * the resume notice) until {@link EmbeddedMob.releaseRestoredWork} is called, so a host that needs
   * more set-up first (subscribing its event log, starting modules) misses none of it. Default false:
   * that work starts on the tick after `createEmbeddedMob` resolves.
   */
  holdRestoredWork?: boolean;
  /**
   * The host file of MCP servers that `tools.mcp = ["<id>"]` names (Meerkat's `.rkat/mcp.toml`
   * format: `[[servers]] name = …`). Default: `mcp.toml` in the definition's directory.
   */
  mcpHostFile?: string;
  /**
   * Tuning of the mob's MCP sessions: connect timeout, restart backoff, and `onEvent` (connected,
   * exited with the stderr tail, restarting, tools changed, errors) for logs. `env` is the tuning's `env`.
   */
  mcp?: Omit<McpHubOptions, 'env'>;
  /**
   * Told when an MCP server's or module's tools cannot be listed for a profile (its members' turns go
   * on without them and list again next turn); once per failure until the source lists again.
   * mobkit's runtime records it as a `runtime/member_tools.unavailable` event.
   */
  onToolsUnavailable?: (notice: ToolsUnavailableNotice) => void;
  /**
   * The supervised MCP modules behind `tools.modules = ["<module_id>"]`: mobkit's runtime passes its
   * supervisor's kept sessions. A profile that lists modules without it fails the mob's creation.
   */
  moduleTools?: McpToolHost;
}

/**
 * The embedded mob: the {@link MobRuntime} port, the whole member API ({@link MobMemberApi}: every
 * method is answered; `capabilities.persistent` is true with a store) and a few in-process extras.
 */
export interface EmbeddedMob extends MobRuntime, MobMemberApi {
  readonly kind: 'embedded';
  /** The definition the mob runs. */
  readonly definition: MobDefinition;
  /** The mob log after `afterCursor` (like `mob/events`). */
  events(afterCursor?: number, limit?: number): MobLogEvent[];
  /** Starts the work held by `holdRestoredWork` (idempotent; a no-op when nothing is held). */
  releaseRestoredWork(): void;
  /** The member's conversation history (a copy). */
  history(memberId: string): LlmMessage[];
}
