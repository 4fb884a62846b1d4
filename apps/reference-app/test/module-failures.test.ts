// Module failures are logged with their cause, as they happen (issue 15, defect 8): a delivery
// module that cannot open its ledger logs the module id and the OS error (ENOTDIR), not only
// "modules not running"; a module that crash-loops after start logs each crash, its restart and the
// exhausted budget; and once it is Stopped, `mobkit/status` and the console agree it is not loaded.
// Runs the built entry (apps/reference-app/dist/main.js): locally run
// `npx nx run @mobkit/reference-app-server:build` first.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APP_DIR,
  FIXTURES,
  type ProcRef,
  REPO_ROOT,
  type Started,
  childEnv,
  descendants,
  freePort,
  killAll,
  startNode,
  waitFor,
} from './helpers.js';

const MAIN = join(APP_DIR, 'dist', 'main.js');

/** One pino JSON line. */
interface LogLine {
  level: number;
  msg: string;
  module?: string;
  [key: string]: unknown;
}

/** The JSON log lines of `output` (the banner and anything else that is not JSON is skipped). */
function logLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of output.split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // a line cut by the end of the output so far
    }
  }
  return lines;
}

/** The log lines about module `moduleId`. */
function aboutModule(output: string, moduleId: string): LogLine[] {
  return logLines(output).filter((line) => line.module === moduleId);
}

describe('module failures are logged with their cause', () => {
  let dir: string;
  let started: Started | undefined;
  let procs: ProcRef[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mobkit-ref-app-failures-'));
    cpSync(join(FIXTURES, 'fast'), dir, { recursive: true });
  });
  afterEach(() => {
    if (started?.child.pid !== undefined) {
      procs.push(...descendants(started.child.pid));
      if (started.child.exitCode === null) {
        try {
          process.kill(-started.child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    killAll(procs);
    started = undefined;
    procs = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(dir, file), change(readFileSync(join(dir, file), 'utf8')));

  /** Starts the app on `dir` and waits until it listens; returns its base URL. */
  async function startApp(): Promise<string> {
    const port = await freePort();
    const run = startNode([MAIN, '--config', dir], { cwd: APP_DIR, env: childEnv({ PORT: String(port) }) });
    started = run;
    await waitFor(
      'the app to listen',
      () => {
        if (run.child.exitCode !== null) throw new Error(`exited early (${run.child.exitCode}):\n${run.output()}`);
        if (run.child.pid !== undefined) procs.push(...descendants(run.child.pid));
        return logLines(run.output()).some((l) => l.msg.startsWith('listening on')) ? true : undefined;
      },
      30_000,
      run.output,
    );
    return `http://127.0.0.1:${port}`;
  }

  async function rpc<T>(base: string, method: string): Promise<T> {
    const response = await fetch(`${base}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: T };
    return body.result;
  }

  it('logs the ENOTDIR of a delivery ledger it cannot open, with the module id', { timeout: 45_000 }, async () => {
    // The ledger's directory is a regular file: opening the ledger fails with ENOTDIR.
    writeFileSync(join(dir, 'not-a-dir'), 'a regular file\n');
    edit('delivery.toml', (t) => t.replace('[delivery]\n', '[delivery]\nledger_path = "not-a-dir/ledger.jsonl"\n'));
    const base = await startApp();
    const output = (started as Started).output();

    const lines = aboutModule(output, 'delivery');
    const failures = lines.filter((l) => l.event === 'supervisor.start_failed');
    // on_failure with the default budget 1: two attempts, each logged with its cause.
    expect(
      failures.map((l) => l.attempt),
      output,
    ).toEqual([1, 2]);
    for (const failure of failures) {
      expect(failure.level).toBe(50);
      expect(failure.msg).toContain('delivery');
      expect(failure.msg).toContain('ENOTDIR');
      expect(JSON.stringify(failure.stderr)).toContain('ENOTDIR');
    }
    const stopped = lines.find((l) => l.event === 'supervisor.warning');
    expect(stopped?.msg, output).toContain('ENOTDIR');
    // Logged as it happens at start-up: before the summary of modules that are not running.
    const all = logLines(output);
    const summary = all.findIndex((l) => l.msg.startsWith('modules not running'));
    expect(summary).toBeGreaterThan(all.indexOf(failures[1] as LogLine));

    const status = await rpc<{ loaded_modules: string[] }>(base, 'mobkit/status');
    expect(status.loaded_modules).toEqual(['router', 'scheduling']);
  });

  it('logs each crash, the restart and the exhausted budget of a crash-looping module, which is then not loaded', {
    timeout: 45_000,
  }, async () => {
    const script = join(REPO_ROOT, 'fixtures', 'modules', 'crash-after-ready.sh');
    const state = join(dir, 'crashy-attempts');
    // Every run gets ready, then exits 3 after 0.3 s: on_failure with budget 1 restarts it once, then stops it.
    edit(
      'mobkit.toml',
      (t) =>
        `[[modules]]\nid = "crashy"\ncommand = "sh"\nargs = [${JSON.stringify(script)}, "crashy", ${JSON.stringify(state)}, "9", "0.3"]\nrestart_policy = "on_failure"\n\n${t}`,
    );
    const base = await startApp();
    const run = started as Started;
    await waitFor(
      'crashy to be stopped',
      () => (aboutModule(run.output(), 'crashy').some((l) => l.to === 'Stopped') ? true : undefined),
      15_000,
      run.output,
    );
    const output = run.output();
    const lines = aboutModule(output, 'crashy');
    const crashes = lines.filter((l) => l.event === 'supervisor.health' && l.to === 'Failed');
    expect(crashes, output).toHaveLength(2);
    for (const [i, crash] of crashes.entries()) {
      expect(crash.level).toBe(50);
      expect(crash.exitCode).toBe(3);
      expect(crash.msg).toContain('exit code 3');
      expect(crash.stderr).toContain(`attempt ${i + 1} crashing on purpose`);
    }
    const restarts = lines.filter((l) => l.event === 'supervisor.health' && l.to === 'Restarting');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]?.msg).toContain('exit code 3');
    expect(lines.filter((l) => l.event === 'supervisor.health' && l.to === 'Healthy')).toHaveLength(1);
    const exhausted = lines.find((l) => l.event === 'supervisor.warning');
    expect(exhausted?.msg, output).toContain('restart budget (1) is exhausted');
    expect(exhausted?.msg).toContain('attempt 2 crashing on purpose');

    // Status and the console agree: the stopped module is not loaded, and the console shows why.
    const status = await rpc<{ loaded_modules: string[] }>(base, 'mobkit/status');
    expect(status.loaded_modules).toEqual(['delivery', 'router', 'scheduling']);
    const console = (await (await fetch(`${base}/console/experience`)).json()) as {
      health_overview: {
        live_snapshot: {
          loaded_modules: string[];
          modules: { module_id: string; loaded: boolean; state: string | null }[];
        };
      };
    };
    expect(console.health_overview.live_snapshot.loaded_modules).toEqual(status.loaded_modules);
    const modules = console.health_overview.live_snapshot.modules;
    expect(modules.filter((m) => m.loaded).map((m) => m.module_id)).toEqual(status.loaded_modules);
    expect(modules.find((m) => m.module_id === 'crashy')).toMatchObject({ loaded: false, state: 'Stopped' });
  });
});
