import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

/**
 * The child process of the two-process cases, as plain ESM: it imports the target's module, opens the
 * store, and then either holds a claim (`claim`: prints it, releases on a `release` line, exits on
 * `exit`) or appends batches forever (`append`: prints each batch's seqs once `append` resolved).
 * It is written to a temporary file at run time, so the suite works from sources and from dist alike.
 */
const RUNNER_SOURCE = `
import { createInterface } from 'node:readline';
const [moduleUrl, mode, argsJson] = process.argv.slice(2);
const args = JSON.parse(argsJson);
const say = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
try {
  const target = await import(moduleUrl);
  if (typeof target.openStore !== 'function') throw new Error(moduleUrl + ' exports no openStore()');
  const store = await target.openStore();
  if (mode === 'claim') {
    const options = args.ttlMs === undefined ? {} : { ttlMs: args.ttlMs };
    say({ type: 'claimed', result: await store.claims.claim(args.namespace, args.key, args.owner, options) });
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === 'release') say({ type: 'released', released: await store.claims.release(args.namespace, args.key, args.owner) });
      if (line === 'exit') break;
    }
    await store.close();
    process.exit(0);
  } else if (mode === 'append') {
    say({ type: 'ready' });
    for (let batch = 0; ; batch++) {
      const events = Array.from({ length: args.batchSize }, (_, i) => ({
        id: args.prefix + '-' + batch + '-' + i,
        timestampMs: Date.now(),
        memberId: 'child',
        kind: 'conformance',
        eventType: 'kill_test',
        data: { batch, i, pad: 'x'.repeat(args.padBytes) },
      }));
      const entries = await store.events.append(events);
      say({ type: 'ack', batch, seqs: entries.map((entry) => entry.seq) });
    }
  } else {
    throw new Error('unknown mode ' + mode);
  }
} catch (error) {
  process.stderr.write('conformance child failed: ' + (error && error.stack ? error.stack : String(error)) + '\\n');
  process.exit(1);
}
`;

/** A message the child printed. */
type ChildMessage = { type: string } & Record<string, unknown>;

/** A running child: its messages in order, a way to wait for the next one, stdin, and kill. */
export interface ConformanceChild {
  /** Every message printed so far. */
  readonly messages: ChildMessage[];
  /** Resolves with the next message of `type` not yet taken (rejects if the child exits first). */
  next(type: string): Promise<ChildMessage>;
  /** Resolves once `count` messages of `type` were printed. */
  waitForCount(type: string, count: number): Promise<void>;
  /** Writes a line to the child's stdin. */
  send(line: string): void;
  /** SIGKILLs the child and resolves when it is gone. */
  kill(): Promise<void>;
  /** Resolves with the exit code when the child exits. */
  readonly exited: Promise<number | null>;
}

/** Writes the runner to a temporary directory; `dispose` removes it. */
export async function writeRunner(): Promise<{ path: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mobkit-store-conformance-'));
  const path = join(dir, 'child-runner.mjs');
  await writeFile(path, RUNNER_SOURCE);
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Starts the runner in `mode` with the target's module and environment. */
export function startChild(
  runner: string,
  module: string,
  env: Record<string, string>,
  mode: 'claim' | 'append',
  args: Record<string, unknown>,
): ConformanceChild {
  const child = spawn(process.execPath, [runner, pathToFileURL(module).href, mode, JSON.stringify(args)], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: ChildMessage[] = [];
  const taken = new Set<ChildMessage>();
  let stderr = '';
  let exitCode: number | null | undefined;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      messages.push(JSON.parse(line) as ChildMessage);
    } catch {
      return; // a line cut off by SIGKILL is not a message
    }
    notify();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
      notify();
    });
  });
  const until = <T>(probe: () => T | undefined, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found !== undefined) {
          waiters.delete(check);
          resolve(found);
        } else if (exitCode !== undefined) {
          waiters.delete(check);
          reject(new Error(`the conformance child exited (code ${exitCode}) before ${what}; stderr:\n${stderr}`));
        }
      };
      waiters.add(check);
      check();
    });
  return {
    messages,
    exited,
    next: (type) =>
      until(() => {
        const found = messages.find((m) => m.type === type && !taken.has(m));
        if (found) taken.add(found);
        return found;
      }, `printing a ${type} message`),
    waitForCount: (type, count) =>
      until(
        () => (messages.filter((m) => m.type === type).length >= count ? true : undefined),
        `printing ${count} ${type} messages`,
      ).then(() => undefined),
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    kill: async () => {
      if (exitCode === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}
