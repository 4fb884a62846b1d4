import { cutLine } from '@mobkit/core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import pkg from '../package.json' with { type: 'json' };
import { moduleError, type SupervisorError } from './errors.js';
import { describeExit, type ModuleProcess } from './module-process.js';
import type { StderrRing } from './stderr-ring.js';

type SdkModules = {
  Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client;
  ToolListChangedNotificationSchema: typeof import('@modelcontextprotocol/sdk/types.js').ToolListChangedNotificationSchema;
  ReadBuffer: typeof import('@modelcontextprotocol/sdk/shared/stdio.js').ReadBuffer;
  serializeMessage: typeof import('@modelcontextprotocol/sdk/shared/stdio.js').serializeMessage;
};
let sdk: Promise<SdkModules> | undefined;
// The SDK client is loaded on first use, so runtimes without MCP modules never pay for importing it.
function loadSdk(): Promise<SdkModules> {
  sdk ??= Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/shared/stdio.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([client, stdio, types]) => ({
    Client: client.Client,
    ToolListChangedNotificationSchema: types.ToolListChangedNotificationSchema,
    ReadBuffer: stdio.ReadBuffer,
    serializeMessage: stdio.serializeMessage,
  }));
  return sdk;
}

const REQUEST_TIMEOUT = -32001;
const CONNECTION_CLOSED = -32000;

/** An MCP transport over a supervised {@link ModuleProcess}'s stdin/stdout (newline-delimited JSON-RPC). */
class ProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private closed = false;
  private readonly buffer: InstanceType<SdkModules['ReadBuffer']>;

  constructor(
    private readonly proc: ModuleProcess,
    private readonly mod: SdkModules,
  ) {
    this.buffer = new mod.ReadBuffer();
  }

  async start(): Promise<void> {
    const stdout = this.proc.stdout;
    if (!stdout) throw new Error('module process has no stdout');
    stdout.on('data', (chunk: Buffer | string) => {
      try {
        this.buffer.append(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (error) {
        this.onerror?.(error as Error);
        return;
      }
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (error) {
          this.onerror?.(error as Error);
          continue;
        }
        if (message === null) break;
        this.onmessage?.(message);
      }
    });
    stdout.once('close', () => this.finish());
    void this.proc.exited.then(() => this.finish());
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.proc.stdin;
    if (this.closed || !stdin || stdin.destroyed || stdin.writableEnded)
      throw new Error('module process stdin is closed');
    const json = this.mod.serializeMessage(message);
    await new Promise<void>((resolve, reject) => {
      stdin.write(json, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.proc.closeStdin();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}

/** Which MCP operation failed: `connect`, `list_tools`, `call_tool:<tool>` or `close`. */
export type McpOperation = 'connect' | 'list_tools' | `call_tool:${string}` | 'close';

/** What an MCP tool call answered. */
export interface McpToolResult {
  /** Module that answered. */
  moduleId: string;
  /** Tool that was called. */
  tool: string;
  /** The text blocks concatenated (non-text blocks JSON-serialized, with a warning). */
  text: string;
  /** `text` parsed as JSON, or `text` itself when it is not JSON. */
  payload: unknown;
  /** The raw content blocks. */
  content: unknown[];
  /** Structured content, when the tool returned some. */
  structuredContent?: unknown;
  /** Warnings (e.g. non-text content blocks). */
  warnings: string[];
}

function errorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** After a failure that is not a timeout, give a dying process a moment so its exit and stderr can be quoted. */
async function settle(proc: ModuleProcess, error: unknown): Promise<void> {
  if (errorCode(error) === REQUEST_TIMEOUT) return;
  await proc.exitWithin(250);
  if (proc.exit !== undefined) await proc.drained(300);
}

/**
 * One tool of a supervised MCP module, as its `tools/list` answered (the shape of
 * `@mobkit/mob-adapter`'s `McpToolInfo`).
 */
export interface ModuleToolInfo {
  /** The tool's name. */
  name: string;
  /** The tool's description (`''` when it gave none). */
  description: string;
  /** The input JSON Schema exactly as the module gave it. */
  inputSchema: Record<string, unknown>;
  /** True when the module marks it read-only (MCP `annotations.readOnlyHint === true`). */
  readOnly: boolean;
}

/** Options of a tool call on a kept session. */
export interface McpCallToolOptions {
  /** Aborts the call: the SDK sends MCP `notifications/cancelled` and the call fails with `Aborted`. */
  signal?: AbortSignal;
}

/**
 * The tool's own error text when `error` is the `ToolCallFailed` of an MCP `isError` result
 * (the tool ran and answered an error), else `undefined` (timeouts, dead modules, JSON-RPC errors…).
 */
export function mcpToolErrorText(error: unknown): string | undefined {
  const e = error as { code?: unknown; details?: { toolError?: unknown } } | null;
  if (e === null || typeof e !== 'object' || e.code !== 'ToolCallFailed') return undefined;
  const text = e.details?.toolError;
  return typeof text === 'string' ? text : undefined;
}

function sameTools(a: readonly ModuleToolInfo[], b: readonly ModuleToolInfo[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One kept MCP client session with a module process. */
export class McpSession {
  /** Sorted tool names (kept in step with {@link toolInfos}). */
  public tools: string[] = [];
  /** The tools' infos, sorted by name. */
  public toolInfos: ModuleToolInfo[] = [];
  /**
   * Called after the tool list was relisted because the module sent
   * `notifications/tools/list_changed`, or a refresh found it changed.
   */
  public onToolsChanged: (() => void) | undefined;
  private closed = false;
  private relisting: Promise<void> | undefined;
  private relistAgain = false;

  private constructor(
    private readonly client: Client,
    readonly moduleId: string,
    private readonly proc: ModuleProcess,
    private readonly ring: StderrRing,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Connects (`initialize`) and lists tools, each bounded by `timeoutMs`. Errors name the module and
   * the operation: `Timeout`, `McpConnectionFailed`, `ToolListFailed`. Afterwards a
   * `notifications/tools/list_changed` from the module relists (bounded by `timeoutMs` too).
   */
  static async open(moduleId: string, proc: ModuleProcess, ring: StderrRing, timeoutMs: number): Promise<McpSession> {
    const mod = await loadSdk();
    const client = new mod.Client({ name: 'mobkit-supervisor', version: pkg.version }, { capabilities: {} });
    client.onerror = () => {};
    const transport = new ProcessTransport(proc, mod);
    try {
      await client.connect(transport, { timeout: timeoutMs });
    } catch (error) {
      await settle(proc, error);
      throw McpSession.fail(moduleId, 'connect', error, timeoutMs, proc, ring, 'McpConnectionFailed');
    }
    const session = new McpSession(client, moduleId, proc, ring, timeoutMs);
    client.setNotificationHandler(mod.ToolListChangedNotificationSchema, () => session.listChanged());
    await session.relist(timeoutMs);
    return session;
  }

  /** Lists the module's tools (sorted names), following pagination; a changed list calls {@link onToolsChanged}. */
  async listTools(timeoutMs: number): Promise<string[]> {
    if (await this.relist(timeoutMs)) this.onToolsChanged?.();
    return [...this.tools];
  }

  /** Relists into {@link tools} and {@link toolInfos}; true when the list changed. */
  private async relist(timeoutMs: number): Promise<boolean> {
    const infos = new Map<string, ModuleToolInfo>();
    try {
      let cursor: string | undefined;
      for (let page = 0; page < 100; page += 1) {
        const result = await this.client.listTools(cursor === undefined ? undefined : { cursor }, {
          timeout: timeoutMs,
        });
        for (const tool of result.tools) {
          if (infos.has(tool.name)) continue;
          infos.set(tool.name, {
            name: tool.name,
            description: tool.description ?? '',
            inputSchema: tool.inputSchema as Record<string, unknown>,
            readOnly: tool.annotations?.readOnlyHint === true,
          });
        }
        cursor = result.nextCursor;
        if (!cursor) break;
      }
    } catch (error) {
      await settle(this.proc, error);
      throw McpSession.fail(this.moduleId, 'list_tools', error, timeoutMs, this.proc, this.ring, 'ToolListFailed');
    }
    const sorted = [...infos.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const changed = !sameTools(sorted, this.toolInfos);
    this.toolInfos = sorted;
    this.tools = sorted.map((t) => t.name);
    return changed;
  }

  /**
   * `notifications/tools/list_changed`: relists (one at a time; a burst of notifications coalesces
   * into one more relist) and then calls {@link onToolsChanged}. A relist that fails (a dead or hung
   * module) is dropped: the crash handling or the next call reports the module.
   */
  private listChanged(): void {
    if (this.closed) return;
    if (this.relisting) {
      this.relistAgain = true;
      return;
    }
    this.relisting = (async () => {
      do {
        this.relistAgain = false;
        try {
          await this.relist(this.timeoutMs);
        } catch {
          return;
        }
        if (!this.closed) this.onToolsChanged?.();
      } while (this.relistAgain && !this.closed);
    })().finally(() => {
      this.relisting = undefined;
    });
  }

  /**
   * Calls `tool` on the kept session. Fails with `Timeout` (operation `call_tool:<tool>`),
   * `Aborted` (`options.signal` aborted; the module got `notifications/cancelled`) or
   * `ToolCallFailed` (transport errors, JSON-RPC errors and `isError` results; for the last,
   * `details.toolError` holds the tool's error text, see {@link mcpToolErrorText}).
   */
  async callTool(
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
    options: McpCallToolOptions = {},
  ): Promise<McpToolResult> {
    const operation: McpOperation = `call_tool:${tool}`;
    const signal = options.signal;
    let result: Awaited<ReturnType<Client['callTool']>>;
    try {
      result = await this.client.callTool({ name: tool, arguments: args }, undefined, {
        timeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) {
        throw moduleError(
          'Aborted',
          this.moduleId,
          `MCP module "${this.moduleId}" tool "${tool}" (operation ${operation}) was cancelled; the module was sent notifications/cancelled`,
          { tool, operation },
          undefined,
          error,
        );
      }
      await settle(this.proc, error);
      throw McpSession.fail(this.moduleId, operation, error, timeoutMs, this.proc, this.ring, 'ToolCallFailed', {
        tool,
      });
    }
    const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
    const warnings: string[] = [];
    const pieces: string[] = [];
    for (const block of content) {
      const b = block as { type?: unknown; text?: unknown };
      if (b.type === 'text' && typeof b.text === 'string') pieces.push(b.text);
      else {
        warnings.push(
          `module "${this.moduleId}" tool "${tool}" returned a non-text content block (${String(b.type)}); it was JSON-serialized`,
        );
        pieces.push(JSON.stringify(block));
      }
    }
    const text = pieces.join('');
    if (result.isError === true) {
      throw moduleError(
        'ToolCallFailed',
        this.moduleId,
        `MCP module "${this.moduleId}" tool "${tool}" (operation ${operation}) returned an error: ${text}`,
        {
          tool,
          operation,
          toolError: text,
        },
      );
    }
    let payload: unknown = text;
    try {
      payload = JSON.parse(text);
    } catch {
      // not JSON: the payload is the raw text
    }
    const out: McpToolResult = { moduleId: this.moduleId, tool, text, payload, content, warnings };
    if (result.structuredContent !== undefined) out.structuredContent = result.structuredContent;
    return out;
  }

  /** Closes the session (ends the module's stdin); never throws. */
  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.client.close();
    } catch {
      // the process is stopped by the supervisor anyway
    }
  }

  private static fail(
    moduleId: string,
    operation: McpOperation,
    error: unknown,
    timeoutMs: number,
    proc: ModuleProcess,
    ring: StderrRing,
    code: 'McpConnectionFailed' | 'ToolListFailed' | 'ToolCallFailed',
    extra: Record<string, unknown> = {},
  ): SupervisorError {
    if (errorCode(error) === REQUEST_TIMEOUT) {
      return moduleError(
        'Timeout',
        moduleId,
        `MCP module "${moduleId}" did not answer ${operation} within ${timeoutMs} ms`,
        { operation, timeoutMs, ...extra },
        ring,
        error,
      );
    }
    const exit = proc.exit;
    const why =
      errorCode(error) === CONNECTION_CLOSED || exit !== undefined
        ? `connection closed (${describeExit(exit)})`
        : errorMessage(error);
    return moduleError(
      code,
      moduleId,
      `MCP module "${moduleId}" failed at ${operation}: ${why}`,
      { operation, ...extra, ...(exit ? { exit } : {}) },
      ring,
      error,
    );
  }
}

/**
 * The JSON object a core flow expects from a tool answer (`routing.resolve`, `delivery.send`, …).
 * Throws `InvalidJsonResponse` naming the module and tool, quoting the answer (cut to 200
 * characters), when the text is not a JSON object.
 */
export function parseToolJson(result: McpToolResult): Record<string, unknown> {
  const payload = result.payload;
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload))
    return payload as Record<string, unknown>;
  const response = cutLine(result.text);
  throw moduleError(
    'InvalidJsonResponse',
    result.moduleId,
    `MCP module "${result.moduleId}" tool "${result.tool}" did not answer a JSON object: ${JSON.stringify(response)}`,
    {
      tool: result.tool,
      response,
    },
  );
}
