import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type MobKitStore, MobKitError, toMobKitError } from '@mobkit/core';
import { type StoreConfig, backupSqliteStore, exportStore, importStore, openStore } from '@mobkit/store';
import { checkMobkitToml } from '../app-config/load.js';
import { readConfigFile } from '../app-config/files.js';
import { chooseAppStore, redactUrl } from '../app-config/store.js';

/** `mobkit store --help`. */
export const STORE_HELP = `mobkit store export|import|backup — move and keep a MobKit store

Usage:
  mobkit store export [<store>] [--out <file>]    every namespace as JSON lines (default: stdout)
  mobkit store import [<store>] [--in <file>]     JSON lines of an export into an EMPTY store (default: stdin)
  mobkit store backup [<store>] <dest.db>         online copy of a SQLite store while the app runs

<store> is one of
  --config <dir>     the store of an app config directory ([store] of mobkit.toml; DATABASE_URL wins)
  --sqlite <file>    a SQLite store file
  --url <url>        a PostgreSQL store (postgres://user@host:port/db)
  --memory           an empty in-memory store (to check an export: import it and count)
(default: --config .)

Moving from SQLite to PostgreSQL:
  mobkit store export --sqlite data/mobkit.db --out state.jsonl
  mobkit store import --url postgres://mobkit@db:5432/mobkit --in state.jsonl
Event seqs are kept, so SSE clients' Last-Event-IDs stay valid on the new store.
`;

interface StoreArgs {
  store: StoreConfig | undefined;
  out?: string;
  in?: string;
  positional: string[];
}

class StoreUsageError extends Error {}

function takeValue(argv: string[], i: number, flag: string): string {
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new StoreUsageError(`${flag} needs a value`);
  return value;
}

function parseStoreArgs(argv: string[], env: NodeJS.ProcessEnv): StoreArgs {
  const args: StoreArgs = { store: undefined, positional: [] };
  const setStore = (store: StoreConfig) => {
    if (args.store !== undefined) throw new StoreUsageError('give one store: --config, --sqlite, --url or --memory');
    args.store = store;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--config') {
      setStore(storeOfConfigDir(takeValue(argv, i, arg), env));
      i += 1;
    } else if (arg === '--sqlite') {
      setStore({ kind: 'sqlite', path: resolve(takeValue(argv, i, arg)) });
      i += 1;
    } else if (arg === '--url') {
      setStore({ kind: 'postgres', url: takeValue(argv, i, arg) });
      i += 1;
    } else if (arg === '--memory') setStore({ kind: 'memory' });
    else if (arg === '--out' || arg === '--in') {
      args[arg === '--out' ? 'out' : 'in'] = takeValue(argv, i, arg);
      i += 1;
    } else if (arg.startsWith('--')) throw new StoreUsageError(`unknown option ${arg}`);
    else args.positional.push(arg);
  }
  return args;
}

/** The store of a config directory: `[store]` of its `mobkit.toml` (relative paths against it), `DATABASE_URL` first. */
function storeOfConfigDir(dir: string, env: NodeJS.ProcessEnv): StoreConfig {
  const configDir = resolve(dir);
  const file = join(configDir, 'mobkit.toml');
  if (!existsSync(file))
    throw new MobKitError('InvalidConfig', `--config ${dir}: no mobkit.toml in it (give --sqlite or --url instead)`, {
      details: { file, field: '--config' },
    });
  const { sections } = checkMobkitToml(readConfigFile(file, true) as string, file);
  const choice = chooseAppStore(sections.store, configDir, { databaseUrl: env.DATABASE_URL });
  return choice.kind === 'postgres' ? { kind: 'postgres', url: choice.url } : choice;
}

function describeStore(store: StoreConfig): string {
  if (store.kind === 'sqlite') return `sqlite ${store.path}`;
  if (store.kind === 'postgres') return `postgres ${redactUrl(store.url)}`;
  return 'memory';
}

async function withStore<T>(config: StoreConfig, fn: (store: MobKitStore) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * The lines of `input`, read only once the import asks for the first one: a readline interface made
 * earlier starts reading at once and loses the lines (and its close) emitted while the import still
 * checks that the target is empty.
 */
async function* readLines(input: Readable): AsyncGenerator<string> {
  yield* createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
}

async function writeLines(store: MobKitStore, output: Writable): Promise<number> {
  let lines = 0;
  await exportStore(store, async (line) => {
    lines += 1;
    if (!output.write(`${line}\n`)) await new Promise<void>((r) => output.once('drain', () => r()));
  });
  return lines;
}

/**
 * Runs `mobkit store <export|import|backup> …`; resolves with the exit code (0 done, 1 failed with a
 * typed error printed, 2 usage).
 */
export async function runStoreCommand(
  argv: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; stdin: NodeJS.ReadableStream },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const err = (text: string) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  const [sub, ...rest] = argv;
  let args: StoreArgs;
  try {
    if (sub !== 'export' && sub !== 'import' && sub !== 'backup')
      throw new StoreUsageError(sub === undefined ? 'give a subcommand' : `unknown subcommand "${sub}"`);
    args = parseStoreArgs(rest, env);
    args.store ??= storeOfConfigDir('.', env);
    if (sub === 'backup' && args.positional.length !== 1)
      throw new StoreUsageError(
        'backup needs one destination file, e.g. `mobkit store backup --sqlite data/mobkit.db backup.db`',
      );
    if (sub !== 'backup' && args.positional.length > 0)
      throw new StoreUsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`);
  } catch (error) {
    if (!(error instanceof StoreUsageError)) return fail(err, error);
    err(`mobkit store: ${error.message}`);
    err(STORE_HELP);
    return 2;
  }
  const config = args.store as StoreConfig;
  try {
    if (sub === 'export') {
      const output = args.out === undefined ? (io.stdout as Writable) : createWriteStream(resolve(args.out));
      const lines = await withStore(config, (store) => writeLines(store, output));
      if (args.out !== undefined) {
        output.end();
        await finished(output);
      }
      err(`exported ${lines} lines from ${describeStore(config)}${args.out === undefined ? '' : ` to ${args.out}`}`);
    } else if (sub === 'import') {
      const input = args.in === undefined ? (io.stdin as Readable) : createReadStream(resolve(args.in));
      const report = await withStore(config, (store) => importStore(store, readLines(input)));
      err(`imported into ${describeStore(config)}: ${JSON.stringify(report)}`);
    } else {
      if (config.kind !== 'sqlite')
        throw new MobKitError(
          'InvalidInput',
          `backup copies a SQLite store; ${describeStore(config)} is not one (use export)`,
        );
      const dest = resolve(args.positional[0] as string);
      await withStore(config, (store) => backupSqliteStore(store, dest));
      err(`backed up ${describeStore(config)} to ${dest}`);
    }
    return 0;
  } catch (error) {
    return fail(err, error);
  }
}

function fail(err: (text: string) => void, error: unknown): number {
  const e = toMobKitError(error);
  err(`mobkit store: ${e.message} [${e.code}]`);
  return 1;
}
