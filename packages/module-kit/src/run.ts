import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { toMobKitError } from '@mobkit/core';
import { parseConfigArgv } from './argv.js';

/** What a module's `create` returns: the MCP server itself, or an object holding it (plus whatever `close` needs). */
export type StdioModuleInstance = McpServer | { readonly server: McpServer };

/** What {@link runStdioModule} hands a module's `load`. */
export interface StdioModuleLoadContext {
  /** Writes `<name>: <message>` to stderr (stdout is the MCP protocol; never write there). */
  log(message: string): void;
  /** The usage line, for a `load` that refuses a missing config path. */
  usage: string;
}

/** The parts of a module executable that {@link runStdioModule} runs. */
export interface StdioModuleSpec<Config, Instance extends StdioModuleInstance> {
  /** The executable's name, e.g. `mobkit-router`: the prefix of its stderr lines and of the default usage line. */
  name: string;
  /** The `--help` text; default `usage: <name> [--config] <file.toml>   (MCP server on stdio)`. */
  usage?: string;
  /** An environment variable that names the config file when the command line gives none. */
  configEnv?: string;
  /**
   * Reads and validates the config (`configPath` is `undefined` when none was given: use defaults or
   * throw). A throw stops the module before it serves anything: exit code 2, the message on stderr.
   */
  load(configPath: string | undefined, context: StdioModuleLoadContext): Config | Promise<Config>;
  /** Builds the MCP server (not yet connected) from the config; a throw is exit code 1. */
  create(config: Config): Instance | Promise<Instance>;
  /** Releases what `create` opened (ledgers, sockets, timers) at shutdown, before the server closes. */
  close?(instance: Instance): void | Promise<void>;
  /** The command-line arguments; default `process.argv.slice(2)`. */
  argv?: readonly string[];
}

function serverOf(instance: StdioModuleInstance): McpServer {
  return typeof (instance as McpServer).connect === 'function'
    ? (instance as McpServer)
    : (instance as { server: McpServer }).server;
}

/** The config path from the command line, else from `spec.configEnv`; `null` when `--help` was asked for. */
function configPathOf(spec: StdioModuleSpec<unknown, StdioModuleInstance>, usage: string): string | undefined | null {
  const parsed = parseConfigArgv(spec.argv ?? process.argv.slice(2), usage);
  if (parsed.help) return null;
  if (parsed.configPath !== undefined || spec.configEnv === undefined) return parsed.configPath;
  const fromEnv = process.env[spec.configEnv];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : undefined;
}

/**
 * Runs a MobKit module executable: parses `[--config] <file.toml>` / `--help`, `load`s the config,
 * `create`s the MCP server and serves it on stdin/stdout. The module stops — `close`, then the
 * server, then exit 0 — when stdin ends (the supervisor closes it, or dies) or on SIGTERM/SIGINT.
 * Failures are one line on stderr, `<name>: <message>`: a bad command line or config exits 2 before
 * anything is served; a failing `create` or connect exits 1; a failing `close` exits 1 after the
 * server closed. Resolves once the server is connected; never rejects.
 */
export async function runStdioModule<Config, Instance extends StdioModuleInstance>(
  spec: StdioModuleSpec<Config, Instance>,
): Promise<void> {
  const usage = spec.usage ?? `usage: ${spec.name} [--config] <file.toml>   (MCP server on stdio)`;
  const log = (message: string): void => {
    process.stderr.write(`${spec.name}: ${message}\n`);
  };
  let config: Config;
  try {
    const configPath = configPathOf(spec as StdioModuleSpec<unknown, StdioModuleInstance>, usage);
    if (configPath === null) {
      process.stdout.write(`${usage}\n`);
      return;
    }
    config = await spec.load(configPath, { log, usage });
  } catch (error) {
    log(toMobKitError(error, 'InvalidConfig').message);
    process.exit(2);
  }
  let instance: Instance;
  try {
    instance = await spec.create(config);
  } catch (error) {
    log(`cannot start: ${toMobKitError(error).message}`);
    process.exit(1);
  }
  const server = serverOf(instance);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      let code = 0;
      try {
        await spec.close?.(instance);
      } catch (error) {
        log(`close failed: ${toMobKitError(error).message}`);
        code = 1;
      }
      await server.close().catch(() => undefined);
      process.exit(code);
    })();
  };
  process.stdin.on('end', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await server.connect(new StdioServerTransport());
  } catch (error) {
    log(`cannot serve on stdio: ${toMobKitError(error).message}`);
    process.exit(1);
  }
}
