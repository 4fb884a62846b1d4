import { MobKitError } from '@mobkit/core';
import type { McpCallOptions, McpToolHost, McpToolInfo, ToolOutput } from '@mobkit/mob-adapter';

/**
 * The module tool host an embedded mob is created with before its runtime's modules have started
 * (the mob boots first): calls wait until {@link DeferredToolHost.bind} hands over the supervisor's
 * host, and fail with the start-up error after {@link DeferredToolHost.fail}.
 */
export class DeferredToolHost implements McpToolHost {
  private readonly ready: Promise<McpToolHost>;
  private resolveReady!: (host: McpToolHost) => void;
  private rejectReady!: (error: Error) => void;
  private readonly listeners = new Set<(id: string) => void>();
  private bound: McpToolHost | undefined;

  constructor() {
    this.ready = new Promise<McpToolHost>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // a failed start-up is reported by the builder; calls see it
  }

  /** Hands over the host; waiting and later calls go to it, and its change notices reach the listeners. */
  bind(host: McpToolHost): void {
    if (this.bound) return;
    this.bound = host;
    host.onToolsChanged((id) => {
      for (const l of this.listeners) l(id);
    });
    this.resolveReady(host);
  }

  /** The modules did not start: waiting and later calls reject with `error`. */
  fail(error: unknown): void {
    this.rejectReady(
      new MobKitError(
        'ModuleStartupFailed',
        `module tools are unavailable: the modules did not start (${String((error as Error)?.message ?? error)})`,
        {
          cause: error,
        },
      ),
    );
  }

  async listTools(id: string): Promise<McpToolInfo[]> {
    return (await this.ready).listTools(id);
  }

  async callTool(
    id: string,
    tool: string,
    args: Record<string, unknown>,
    options: McpCallOptions,
  ): Promise<ToolOutput> {
    return (await this.ready).callTool(id, tool, args, options);
  }

  onToolsChanged(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
