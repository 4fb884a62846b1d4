// The app's store: its state survives a restart (SQLite in <config>/data by default), `--ephemeral`
// keeps everything in memory, and a store that cannot be used — a server that is down, a malformed
// DATABASE_URL, a data directory that cannot be created, a file that is not a store — stops the app
// at start with a typed error naming the host or path, before any module process starts. Runs the
// built entry (apps/reference-app/dist/main.js; `npm test` builds it first).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APP_DIR,
  FIXTURES,
  type Started,
  childEnv,
  freePort,
  killAll,
  postRpc as rpc,
  processesMentioning,
  startNode,
  waitFor,
} from './helpers.js';

const MAIN = join(APP_DIR, 'dist', 'main.js');

describe('the app on its store', () => {
  let dir: string;
  let started: Started | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mobkit-ref-app-store-'));
    cpSync(join(FIXTURES, 'fast'), dir, { recursive: true });
    rmSync(join(dir, 'data'), { recursive: true, force: true }); // a run of the app in the fixture itself may have left one
  });
  afterEach(() => {
    if (started?.child.exitCode === null && started.child.pid !== undefined)
      process.kill(-started.child.pid, 'SIGKILL');
    started = undefined;
    killAll(processesMentioning(dir));
    rmSync(dir, { recursive: true, force: true });
  });

  const appendToml = (text: string) =>
    writeFileSync(join(dir, 'mobkit.toml'), `${readFileSync(join(dir, 'mobkit.toml'), 'utf8')}\n${text}\n`);

  async function start(args: string[] = [], env: Record<string, string> = {}): Promise<{ base: string; run: Started }> {
    const port = await freePort();
    const run = startNode([MAIN, '--config', dir, ...args], {
      cwd: APP_DIR,
      env: childEnv({ PORT: String(port), ...env }),
    });
    started = run;
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      '/healthz',
      async () => {
        if (run.child.exitCode !== null) throw new Error(`exited early: ${run.output()}`);
        return fetch(`${base}/healthz`).then(
          (r) => (r.status === 200 ? true : undefined),
          () => undefined,
        );
      },
      30_000,
      run.output,
    );
    return { base, run };
  }

  async function stop(run: Started): Promise<void> {
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    expect(exit.code, run.output()).toBe(0);
  }

  async function failedStart(
    env: Record<string, string>,
  ): Promise<{ code: number | null; error: Record<string, string>; output: string }> {
    const run = startNode([MAIN, '--config', dir], {
      cwd: APP_DIR,
      env: childEnv({ PORT: String(await freePort()), ...env }),
    });
    started = run;
    const exit = await Promise.race([
      run.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no exit within 30 s\n${run.output()}`)), 30_000),
      ),
    ]);
    const line = run
      .output()
      .split('\n')
      .find((l) => l.includes('"level":50'));
    expect(line, run.output()).toBeDefined();
    return { code: exit.code, error: JSON.parse(line as string) as Record<string, string>, output: run.output() };
  }

  it('keeps the event history in <config>/data/mobkit.db across a restart, and says so in status', async () => {
    let { base, run } = await start();
    const status = (await rpc(base, 'mobkit/status')).result as { store: Record<string, unknown> };
    expect(status.store).toMatchObject({ kind: 'sqlite', location: join(dir, 'data', 'mobkit.db') });
    expect(
      (await rpc(base, 'mobkit/send_message', { member_id: 'worker-1', message: 'remember me' })).error,
    ).toBeUndefined();
    const logged = await waitFor(
      'the run to be logged',
      async () => {
        const q = (await rpc(base, 'mobkit/query_events', { member_id: 'worker-1', event_types: ['run_completed'] }))
          .result as Array<{ seq: number }>;
        return q.length > 0 ? q : undefined;
      },
      20_000,
    );
    await stop(run);
    expect(existsSync(join(dir, 'data', 'mobkit.db'))).toBe(true);

    ({ base, run } = await start());
    const again = (await rpc(base, 'mobkit/query_events', { member_id: 'worker-1', event_types: ['run_completed'] }))
      .result as Array<{ seq: number }>;
    // Every run logged before the restart is still there, under the same seq (the fixture's */2s schedule
    // may have added more runs of worker-1 since, before and after the restart).
    const seqs = again.map((e) => e.seq);
    expect(seqs).toEqual(expect.arrayContaining(logged.map((e) => e.seq)));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await stop(run);
  }, 90_000);

  it('--ephemeral keeps everything in memory: status says memory and no data file is written', async () => {
    const { base, run } = await start(['--ephemeral']);
    const status = (await rpc(base, 'mobkit/status')).result as { store: Record<string, unknown> };
    expect(status.store).toMatchObject({ kind: 'memory' });
    await stop(run);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 60_000);

  it('a PostgreSQL server that is down stops the start with StoreUnavailable naming host:port, no module started', async () => {
    const port = await freePort(); // nothing listens there
    const { code, error } = await failedStart({ DATABASE_URL: `postgres://mobkit:secret@127.0.0.1:${port}/mobkit` });
    expect(code).toBe(1);
    expect(error.code).toBe('StoreUnavailable');
    expect(error.msg).toContain(`127.0.0.1:${port}`);
    expect(error.msg).not.toContain('secret');
    expect(processesMentioning(dir)).toEqual([]);
  }, 60_000);

  it('a DATABASE_URL that is not a PostgreSQL URL is refused naming it', async () => {
    const { code, error, output } = await failedStart({ DATABASE_URL: 'mysql://root:hunter2@db/app' });
    expect(code).toBe(1);
    expect(error).toMatchObject({ code: 'InvalidConfig', field: 'DATABASE_URL' });
    expect(output).not.toContain('hunter2');
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('a data directory that cannot be created, and a file that is not a store, are refused naming the path', async () => {
    writeFileSync(join(dir, 'blocker'), 'a file where the data directory should go');
    appendToml('[store]\nkind = "sqlite"\npath = "blocker/mobkit.db"');
    let result = await failedStart({});
    expect(result.code).toBe(1);
    expect(result.error.code).toBe('StoreUnavailable');
    expect(result.error.msg).toContain(join(dir, 'blocker'));
    expect(processesMentioning(dir)).toEqual([]);

    const text = readFileSync(join(dir, 'mobkit.toml'), 'utf8').replace(
      'path = "blocker/mobkit.db"',
      'path = "junk.db"',
    );
    writeFileSync(join(dir, 'mobkit.toml'), text);
    writeFileSync(join(dir, 'junk.db'), 'not a database, only text '.repeat(400));
    result = await failedStart({});
    expect(result.code).toBe(1);
    expect(result.error.code).toBe('StoreCorrupt');
    expect(result.error.msg).toContain(join(dir, 'junk.db'));
    expect(processesMentioning(dir)).toEqual([]);
  }, 60_000);

  it('an unknown [store] key is refused with the allowed ones listed', async () => {
    appendToml('[store]\nkind = "sqlite"\npaht = "x.db"');
    const { code, error } = await failedStart({});
    expect(code).toBe(1);
    expect(error.code).toBe('InvalidConfig');
    expect(error.msg).toContain('store.paht');
    expect(error.msg).toMatch(/kind, path, url/);
  });
});
