import type { EventEnvelope, LifecycleEvent, ModuleHealthState, ModuleHealthTransition } from '@mobkit/core';
import type { McpCallToolOptions, McpToolResult, ModuleToolInfo } from './mcp.js';

/** What {@link ModuleRuntime.shutdown} reports. */
export interface ModuleShutdownReport {
  /** Every module that was loaded, sorted. */
  terminatedModules: string[];
  /** Processes of ours (module children and their own children) still alive afterwards; zombies count as gone. */
  orphanProcesses: number;
}

/** A generic call to a module: an MCP tool named `method`, or a JSON-line module's first event. */
export interface RouteModuleCallRequest {
  moduleId: string;
  method: string;
  params?: unknown;
}

/** The answer to a {@link RouteModuleCallRequest}. */
export interface RouteModuleCallResult {
  moduleId: string;
  method: string;
  /** The tool answer parsed as JSON (else its text), or the JSON-line module's first event payload. */
  payload: unknown;
}

/** A snapshot of one module's supervision. */
export interface ModuleStatus {
  moduleId: string;
  /** Current health, or undefined when never started. */
  state: ModuleHealthState | undefined;
  loaded: boolean;
  boundary: 'mcp' | 'json-line';
  /** Pid (and process group) of the live child. */
  pid: number | undefined;
  /** Number of the attempt the live child came from. */
  attempt: number;
  /** Crash restarts after ready so far. */
  restarts: number;
  /** Sorted tool names (MCP modules). */
  tools: string[];
  /** The module's recent stderr lines (bounded ring). */
  stderr: string[];
}

/** Receives the id of a module whose tool list changed (see {@link ModuleRuntime.onModuleToolsChanged}). */
export type ModuleToolsChangedListener = (moduleId: string) => void;

/** Receives live events (see {@link ModuleRuntime.subscribe}). */
export type ModuleEventListener = (event: EventEnvelope) => void;

/** A running set of supervised modules. Created by `startModuleRuntime`. */
export interface ModuleRuntime {
  /** False once {@link shutdown} was called. */
  isRunning(): boolean;
  /** Ids of the loaded modules, sorted. */
  loadedModules(): string[];
  /** Lifecycle stages reached, with their sequence numbers. */
  lifecycleEvents(): LifecycleEvent[];
  /** Every health transition so far, in order. */
  healthTransitions(): ModuleHealthTransition[];
  /** The merged event stream, ordered by `(timestampMs, eventId, source)`. */
  mergedEvents(): EventEnvelope[];
  /** Calls `listener` with every event added to the merged stream from now on; returns an unsubscribe function. */
  subscribe(listener: ModuleEventListener): () => void;
  /** Adds events (e.g. agent events) to the merged stream and to subscribers. */
  ingestEvents(events: readonly EventEnvelope[]): void;
  /** Starts every id not loaded yet (discovery becomes `ids`); returns how many were started. */
  reconcileModules(ids: readonly string[], timeoutMs: number): Promise<number>;
  /** Starts module `moduleId`, or replaces its running instance. */
  spawnMember(moduleId: string, timeoutMs: number): Promise<void>;
  /**
   * Calls an MCP tool on the module's kept session. `options.signal` cancels the call: the module
   * is sent `notifications/cancelled` and the call fails with `Aborted`.
   */
  callTool(
    moduleId: string,
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
    options?: McpCallToolOptions,
  ): Promise<McpToolResult>;
  /**
   * The tools of MCP module `moduleId`'s running instance (name, description, input schema,
   * read-only hint), sorted by name, as last listed. Fails naming the module with
   * `ModuleNotConfigured`, `UnloadedModule` (not running), `McpRequired` (a JSON-line module) or
   * `ModuleUnavailable` (being restarted).
   */
  moduleTools(moduleId: string): Promise<ModuleToolInfo[]>;
  /**
   * Calls `listener(moduleId)` after an MCP module's tool list changed: the module sent
   * `notifications/tools/list_changed` and was relisted, a refresh found new tools, or a restarted
   * or replaced instance's session listed its tools. Returns the unsubscribe function.
   */
  onModuleToolsChanged(listener: ModuleToolsChangedListener): () => void;
  /** Routes a generic call to a module (spec §3.7). */
  routeModuleCall(request: RouteModuleCallRequest, timeoutMs: number): Promise<RouteModuleCallResult>;
  /** True when the module's pre-spawn env selects the MCP boundary. */
  isMcpModule(moduleId: string): boolean;
  /** A snapshot of one module's supervision, or undefined for an id that was never started. */
  moduleStatus(moduleId: string): ModuleStatus | undefined;
  /** Stops every module (reverse start order, SIGTERM → grace → SIGKILL of the process group). Idempotent. */
  shutdown(): Promise<ModuleShutdownReport>;
}
