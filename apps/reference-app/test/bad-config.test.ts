// A bad config stops the app before anything runs: exit 1, a MobKitError message naming the file
// and field, and no process left behind. Also a start-up failure after the modules started (a port in
// use) stops everything again. Runs the built entry (apps/reference-app/dist/
// main.js): `npm test` builds every project first; locally run `npx nx run
// @mobkit/reference-app-server:build` (or start.test.ts, which builds through npm start's script).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APP_DIR, FIXTURES, childEnv, freePort, killAll, processesMentioning, startNode } from './helpers.js';

const MAIN = join(APP_DIR, 'dist', 'main.js');

describe('bad configuration and failed start-up', () => {
  let dir: string;
  let blocker: Server | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mobkit-ref-app-bad-'));
    cpSync(join(FIXTURES, 'fast'), dir, { recursive: true });
  });
  afterEach(async () => {
    killAll(processesMentioning(dir));
    rmSync(dir, { recursive: true, force: true });
    if (blocker) await new Promise((r) => blocker?.close(r));
    blocker = undefined;
  });

  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(dir, file), change(readFileSync(join(dir, file), 'utf8')));

  async function run(
    env: Record<string, string> = {},
    extraArgs: string[] = [],
  ): Promise<{ code: number | null; output: string }> {
    const port = env.PORT ?? String(await freePort());
    const started = startNode([MAIN, '--config', dir, ...extraArgs], {
      cwd: APP_DIR,
      env: childEnv({ PORT: port, ...env }),
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no exit within 30 s\n${started.output()}`)), 30_000),
    );
    try {
      const exit = await Promise.race([started.exited, timeout]);
      return { code: exit.code, output: started.output() };
    } finally {
      if (started.child.exitCode === null && started.child.pid !== undefined)
        process.kill(-started.child.pid, 'SIGKILL');
    }
  }

  function errorLine(output: string): { code: string; file?: string; field?: string; msg: string } {
    const line = output.split('\n').find((l) => l.includes('"level":50'));
    expect(line, output).toBeDefined();
    return JSON.parse(line as string) as { code: string; file?: string; field?: string; msg: string };
  }

  it('names mob.toml and the offending key of an unknown profile field', async () => {
    edit('mob.toml', (t) => t.replace('model = "gpt-5.2"', 'modle = "gpt-5.2"'));
    const { code, output } = await run();
    expect(code).toBe(1);
    const error = errorLine(output);
    expect(error.msg).toContain('mob.toml');
    expect(error.msg).toContain('profiles.worker');
    expect(error.msg).toContain('modle');
    expect(error.file).toBe(join(dir, 'mob.toml'));
    expect(output).not.toContain('running at');
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('names mobkit.toml and members[n].profile for a member of an unknown profile', async () => {
    edit('mobkit.toml', (t) =>
      t.replace('meerkat_id = "worker-2"\nprofile = "worker"', 'meerkat_id = "worker-2"\nprofile = "wroker"'),
    );
    const { code, output } = await run();
    expect(code).toBe(1);
    const error = errorLine(output);
    expect(error).toMatchObject({ code: 'InvalidConfig', field: 'members[2].profile', file: join(dir, 'mobkit.toml') });
    expect(error.msg).toContain('"wroker" is not a profile of mob.toml');
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('names schedules.toml and the field for a bad interval and for an injection into no member', async () => {
    edit('schedules.toml', (t) => t.replace('interval = "*/2s"', 'interval = "*/2w"'));
    let result = await run();
    expect(result.code).toBe(1);
    let error = errorLine(result.output);
    expect(error.msg).toContain('schedules.toml');
    expect(error.msg).toMatch(/interval/);
    expect(error.file).toBe(join(dir, 'schedules.toml'));

    edit('schedules.toml', (t) =>
      t.replace('interval = "*/2w"', 'interval = "*/2s"').replace('member_id = "worker-1"', 'member_id = "worker-9"'),
    );
    result = await run();
    expect(result.code).toBe(1);
    error = errorLine(result.output);
    expect(error).toMatchObject({ field: 'runtime_injection.member_id', file: join(dir, 'schedules.toml') });
    expect(error.msg).toContain('"worker-9" is not a member spawned at start');
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('names the TOML line of a syntax error', async () => {
    edit('mobkit.toml', (t) => t.replace('[runtime]', '[runtime'));
    const { code, output } = await run();
    expect(code).toBe(1);
    const error = errorLine(output);
    expect(error.code).toBe('InvalidToml');
    expect(error.msg).toMatch(/mobkit\.toml.*line \d+/);
  });

  it('stops everything when the port is taken, and says which port', async () => {
    const server = createServer();
    blocker = server;
    const port = await new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
    const { code, output } = await run({ PORT: String(port) });
    expect(code, output).toBe(1);
    const error = errorLine(output);
    expect(error.msg).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(output).toContain('runtime stopped');
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('refuses a bad PORT and an unknown argument with the usage', async () => {
    const badPort = await run({ PORT: 'eighty' });
    expect(badPort.code).toBe(1);
    expect(badPort.output).toContain('PORT must be a port number');
    expect(badPort.output).toContain('Usage:');
    const badArg = await run({}, ['--confg']);
    expect(badArg.code).toBe(1);
    expect(badArg.output).toContain('unknown argument "--confg"');
    expect(badArg.output).toContain('Usage:');
  });
});
