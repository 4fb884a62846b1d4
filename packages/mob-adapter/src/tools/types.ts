import type { ToolDef } from '../llm/types.js';

/**
 * Where a member's tool comes from: the comms tools, the builtins, the shell, a host (application)
 * tool, one of the mob's MCP servers, or a supervised MCP module. Events and errors name it.
 */
export type ToolOrigin =
  | { kind: 'comms' }
  | { kind: 'builtin' }
  | { kind: 'shell' }
  | { kind: 'host' }
  | { kind: 'mcp'; server: string }
  | { kind: 'module'; module: string };

/** One tool of an MCP server or module, as its `tools/list` answered. */
export interface McpToolInfo {
  /** The tool's own name (before any namespacing). */
  name: string;
  description: string;
  /** The input JSON Schema exactly as the server gave it. */
  inputSchema: Record<string, unknown>;
  /** True when the server marks it read-only (MCP `annotations.readOnlyHint === true`). */
  readOnly: boolean;
}

/** What a tool call answered, as the model will see it. */
export interface ToolOutput {
  /** The result text (structured results as JSON). */
  content: string;
  /** True for an error result (the run goes on; the model sees the error). */
  isError: boolean;
}

/** Options of {@link McpToolHost.callTool}. */
export interface McpCallOptions {
  /** Aborts the call (the run was cancelled or the tool timed out): MCP `notifications/cancelled` is sent. */
  signal: AbortSignal;
  /** The longest the call may take before it fails (the member loop also enforces it). */
  timeoutMs: number;
}

/**
 * Kept MCP client sessions that members call tools through: the mob's own MCP servers
 * (`McpHub`: `mcp_servers` and the `mcp` allow-list) and a runtime's supervised MCP modules
 * (`modules = [...]`, implemented over the supervisor's kept sessions by `mobkit`). One session per
 * server for the whole mob.
 */
export interface McpToolHost {
  /**
   * The tools of server `id`: listed once, then refreshed when the server sends
   * `notifications/tools/list_changed`. Rejects with an `Error` naming the server when it cannot be
   * reached or `id` is unknown.
   */
  listTools(id: string): Promise<McpToolInfo[]>;
  /**
   * Calls `tool` of server `id` with arguments already validated against its input schema. An MCP
   * `isError` result resolves `{isError: true}`; a server that dies or cannot be reached rejects with an
   * `Error` whose message names the server (the member sees it as an error result).
   */
  callTool(id: string, tool: string, args: Record<string, unknown>, options: McpCallOptions): Promise<ToolOutput>;
  /** Calls `listener(id)` after server `id`'s tool list changed; returns the unsubscribe function. */
  onToolsChanged(listener: (id: string) => void): () => void;
}

/** What a {@link LocalTool} sees when it runs. */
export interface LocalToolContext {
  memberId: string;
  profile: string;
  sessionId: string;
  /** Aborts when the run is cancelled or the tool times out. */
  signal: AbortSignal;
}

/** A tool run inside the mob's process (the builtins and the shell). */
export interface LocalTool {
  definition: ToolDef;
  /** Whether the tool only reads (allowed under `read_only`). */
  readOnly: boolean;
  /** Runs the call; an invalid argument or a failure resolves an error result rather than throwing. */
  run(args: Record<string, unknown>, context: LocalToolContext): Promise<ToolOutput>;
}
