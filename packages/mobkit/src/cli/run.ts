import { readFileSync } from 'node:fs';
import { MOBKIT_CONTRACT_VERSION } from '@mobkit/core';
import { formatProblem, validateConfigFiles } from '../app-config/validate.js';
import { runGateway } from './gateway.js';
import { STORE_HELP, runStoreCommand } from './store.js';

const HELP: Record<string, string> = {
  main: `mobkit — MobKit-TS command line

Usage:
  mobkit gateway --persistent         JSON-RPC gateway on stdio (first line: mobkit/init)
  mobkit validate <file.toml> [...]   check mob.toml, mobkit.toml, schedules.toml, routing and delivery TOML
  mobkit store export|import|backup   move and keep a store (JSON lines; online SQLite backup)
  mobkit --version                    print the package and contract versions
  mobkit <command> --help             help for one command
`,
  gateway: `mobkit gateway --persistent

Line-delimited JSON-RPC 2.0 on stdin/stdout. The first line must be a mobkit/init request:
  {"jsonrpc":"2.0","id":1,"method":"mobkit/init","params":{
     "mob_config": "<mob TOML text>",            (optional; a one-profile fallback mob otherwise)
     "modules": [{"id","command","args","restart_policy"}],   (all of them are started)
     "pre_spawn": [{"module_id","env":[["K","V"]]}],         (optional; e.g. MOBKIT_MODULE_BOUNDARY=mcp)
     "timeout_ms": 5000 }}
It answers {http_base_url, loaded_modules, contract_version, runtime_origin, runtime_fingerprint},
then one response line per request line (notifications get none) until stdin closes, then shuts
down the runtime and its modules. The reference app is served at <http_base_url> (console auth off, 127.0.0.1 only):
/rpc, /healthz, the console and its JSON, and the SSE streams (/mob/events, …).

LLM: a real provider when OPENAI_API_KEY / ANTHROPIC_API_KEY (or OPENAI_BASE_URL) is set, else the
TestClient; MOBKIT_LLM=test forces the TestClient. The choice is logged on stderr.
`,
  store: STORE_HELP,
  validate: `mobkit validate <file.toml> [...]

Checks each file by its content: a [mob] table (mob definition), [[modules]] (trust manifest,
mobkit.toml), [[schedules]] (schedules.toml), [sinks.*] (delivery TOML) or
[[routes]] (routing TOML). Prints every problem as
  <file>:<line>: <key>: <message> [<Code>]
and exits 1 if any file has a problem, 0 otherwise.
`,
};

function packageVersion(): string {
  // dist/bin/mobkit.js, dist/cli.js, dist/chunk-*.js and src/cli/run.ts sit one or two levels below the package root.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'mobkit' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

/** Runs the `mobkit` CLI with `argv` (without node and script); resolves with the exit code. */
export async function runCli(
  argv: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; stdin: NodeJS.ReadableStream } = process,
): Promise<number> {
  const out = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const err = (text: string) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    out(HELP[rest[0] ?? 'main'] ?? HELP.main ?? '');
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === '-v') {
    out(`mobkit ${packageVersion()} (contract ${MOBKIT_CONTRACT_VERSION})`);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = HELP[command];
    if (help) {
      out(help);
      return 0;
    }
  }
  switch (command) {
    case 'gateway': {
      const unknown = rest.filter((a) => a !== '--persistent');
      if (!rest.includes('--persistent') || unknown.length > 0) {
        err(
          `mobkit gateway: ${unknown.length > 0 ? `unknown option ${unknown[0]}` : 'only the persistent mode exists: run `mobkit gateway --persistent`'}`,
        );
        err(HELP.gateway ?? '');
        return 2;
      }
      const result = await runGateway({
        input: io.stdin as NodeJS.ReadableStream & import('node:stream').Readable,
        output: io.stdout as NodeJS.WritableStream & import('node:stream').Writable,
        log: err,
      });
      return result.exitCode;
    }
    case 'validate': {
      const files = rest.filter((a) => !a.startsWith('-'));
      if (files.length === 0) {
        err('mobkit validate: give at least one file, e.g. `mobkit validate mob.toml mobkit.toml`');
        return 2;
      }
      let problems = 0;
      for (const result of validateConfigFiles(files)) {
        if (result.problems.length === 0) out(`${result.file}: ok (${result.kind})`);
        for (const problem of result.problems) {
          problems += 1;
          err(formatProblem(problem));
        }
      }
      if (problems > 0) err(`${problems} problem${problems === 1 ? '' : 's'} found`);
      return problems > 0 ? 1 : 0;
    }
    case 'store':
      return runStoreCommand(rest, io);
    default:
      err(`mobkit: unknown command "${command}"`);
      err(HELP.main ?? '');
      return 2;
  }
}
