import { mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createShellTool, type ShellResult, scrubShellEnv } from '../src/tools/shell.js';
import type { LocalToolContext, ToolOutput } from '../src/tools/types.js';
import { waitFor } from '@mobkit/test-utils';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'mob-shell-')));
const root = join(base, 'root');
const outside = join(base, 'outside');
mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
mkdirSync(outside);
symlinkSync(outside, join(root, 'escape'));
symlinkSync(join(root, 'sub'), join(root, 'inner-link'));

afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Resolves when `predicate` holds (polling), or rejects after `timeoutMs` (a guard, not a speed check). */
async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  await waitFor('condition', () => predicate(), timeoutMs);
}

function context(signal: AbortSignal = new AbortController().signal): LocalToolContext {
  return { memberId: 'worker', profile: 'dev', sessionId: 's-1', signal };
}

function parsed(output: ToolOutput): ShellResult {
  return JSON.parse(output.content) as ShellResult;
}

/** True while `pid` runs (a zombie waiting for its reaper counts as dead). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live (non-zombie) processes whose process group is `pgid` (Linux /proc). */
function groupMembers(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function pidsFrom(text: string): { bg: number; sh: number } {
  const bg = Number(/bg=(\d+)/.exec(text)?.[1]);
  const sh = Number(/sh=(\d+)/.exec(text)?.[1]);
  expect(bg).toBeGreaterThan(0);
  expect(sh).toBeGreaterThan(0);
  return { bg, sh };
}

describe('shell tool', () => {
  const shell = createShellTool({ root });

  it('is one tool named shell, not read-only, with a snake_case schema', () => {
    expect(shell.definition.name).toBe('shell');
    expect(shell.readOnly).toBe(false);
    expect(Object.keys((shell.definition.inputSchema as { properties: object }).properties)).toEqual([
      'command',
      'argv',
      'cwd',
      'timeout_ms',
    ]);
  });

  it('runs a command line in the root by default', async () => {
    const out = await shell.run({ command: 'pwd' }, context());
    expect(out.isError).toBe(false);
    const r = parsed(out);
    expect(r.stdout.trim()).toBe(realpathSync(root));
    expect(r).toMatchObject({ exit_code: 0, signal: null, timed_out: false, cancelled: false });
    expect(r.truncated).toEqual({ stdout: false, stderr: false });
    expect(typeof r.duration_ms).toBe('number');
  });

  it('runs in a cwd inside the root, relative or absolute, and through a symlink that stays inside', async () => {
    expect(parsed(await shell.run({ command: 'pwd', cwd: 'sub/deeper' }, context())).stdout.trim()).toBe(
      join(root, 'sub', 'deeper'),
    );
    expect(parsed(await shell.run({ argv: ['pwd'], cwd: join(root, 'sub') }, context())).stdout.trim()).toBe(
      join(root, 'sub'),
    );
    expect(parsed(await shell.run({ command: 'pwd', cwd: 'inner-link' }, context())).stdout.trim()).toBe(
      join(root, 'sub'),
    );
  });

  it('refuses a cwd that escapes the root with ../ or a symlink, naming the path and the root', async () => {
    for (const cwd of ['..', 'sub/../../outside', 'escape', outside, '/']) {
      const out = await shell.run({ command: 'pwd', cwd }, context());
      expect(out.isError, cwd).toBe(true);
      expect(out.content).toContain(`cwd ${cwd}`);
      expect(out.content).toContain(root);
      expect(out.content).toContain('outside the working directory root');
    }
    const missing = await shell.run({ command: 'pwd', cwd: 'nope' }, context());
    expect(missing).toMatchObject({ isError: true });
    expect(missing.content).toContain('cwd nope does not exist');
  });

  it('runs argv directly, without a shell, keeping spaces and metacharacters in arguments', async () => {
    const r = parsed(await shell.run({ argv: ['printf', '%s|', 'a b', 'c  d', '$HOME;*'] }, context()));
    expect(r.stdout).toBe('a b|c  d|$HOME;*|');
  });

  it('reports a non-zero exit as a normal result with its stderr', async () => {
    const out = await shell.run({ command: 'echo oops >&2; exit 3' }, context());
    expect(out.isError).toBe(false);
    expect(parsed(out)).toMatchObject({ exit_code: 3, signal: null, stderr: 'oops\n', stdout: '' });
  });

  it('refuses bad arguments naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'exactly one of command'],
      [{ command: 'true', argv: ['true'] }, 'exactly one of command'],
      [{ command: '' }, 'command must be a non-empty string'],
      [{ argv: [] }, 'argv must be a non-empty array'],
      [{ argv: ['echo', 1] }, 'argv must be a non-empty array of strings'],
      [{ command: 'true', timeout_ms: 0 }, 'timeout_ms must be a positive integer'],
      [{ command: 'true', timeout_ms: 600_001 }, 'timeout_ms must not exceed 600000'],
      [{ command: 'true', cwd: 7 }, 'cwd must be a non-empty string'],
      [{ command: 'true', shell: 'bash' }, 'unknown argument shell'],
    ];
    for (const [args, message] of cases) {
      const out = await shell.run(args, context());
      expect(out.isError, JSON.stringify(args)).toBe(true);
      expect(out.content).toContain(message);
    }
  });

  it('reports a program that cannot start as an error result', async () => {
    const out = await shell.run({ argv: [join(root, 'no-such-program')] }, context());
    expect(out.isError).toBe(true);
    expect(out.content).toContain(`cannot start ${join(root, 'no-such-program')}`);
  });

  it('throws InvalidInput for bad options', () => {
    expect(() => createShellTool({ root: '' })).toThrow(/root must be a non-empty path/);
    expect(() => createShellTool({ root, timeoutMs: 0 })).toThrow(/timeoutMs must be a positive integer/);
    expect(() => createShellTool({ root, timeoutMs: 20, maxTimeoutMs: 10 })).toThrow(/must not exceed maxTimeoutMs/);
  });

  it('cuts output beyond the cap at a UTF-8 boundary and keeps draining the pipe', async () => {
    const small = createShellTool({ root, maxOutputBytes: 1000 });
    // 3 bytes per line ("é\n"): byte 1000 is inside a character, so the cut steps back to 999.
    const utf = parsed(await small.run({ command: 'yes é | head -n 100000; echo done >&2' }, context()));
    expect(utf.exit_code).toBe(0);
    expect(utf.truncated).toEqual({ stdout: true, stderr: false });
    expect(Buffer.byteLength(utf.stdout)).toBe(999);
    expect(utf.stdout).not.toContain('\uFFFD');
    expect(utf.stdout).toBe('é\n'.repeat(333));
    expect(utf.stderr).toBe('done\n');
    // 5 MB on stdout and stderr: far more than a pipe buffer; the child still finishes by itself.
    const big = parsed(
      await small.run({ command: 'head -c 5000000 /dev/zero; head -c 5000000 /dev/zero >&2; exit 4' }, context()),
    );
    expect(big).toMatchObject({ exit_code: 4, timed_out: false, truncated: { stdout: true, stderr: true } });
    expect(big.stdout.length).toBe(1000);
    expect(big.stderr.length).toBe(1000);
  });

  it('kills the whole process group on timeout, background grandchild included', async () => {
    const out = await shell.run(
      { command: 'sleep 30 & echo "bg=$!"; echo "sh=$$"; sleep 30', timeout_ms: 1500 },
      context(),
    );
    expect(out.isError).toBe(true);
    const r = parsed(out);
    expect(r).toMatchObject({ timed_out: true, cancelled: false, exit_code: null });
    expect(r.error).toContain('timed out after 1500 ms');
    const { bg, sh } = pidsFrom(r.stdout);
    await until(() => !alive(bg) && !alive(sh) && groupMembers(sh).length === 0, 10_000);
  }, 20_000);

  it('kills the whole process group on cancel', async () => {
    const dir = mkdtempSync(join(root, 'cancel-'));
    const controller = new AbortController();
    const running = shell.run(
      { command: 'sleep 30 & echo "bg=$!" > pids.tmp; echo "sh=$$" >> pids.tmp; mv pids.tmp pids; sleep 30', cwd: dir },
      context(controller.signal),
    );
    let pids = '';
    await until(() => {
      try {
        pids = readFileSync(join(dir, 'pids'), 'utf8');
        return true;
      } catch {
        return false;
      }
    }, 10_000);
    controller.abort();
    const out = await running;
    expect(out.isError).toBe(true);
    expect(parsed(out)).toMatchObject({ cancelled: true, timed_out: false, exit_code: null, signal: 'SIGTERM' });
    const { bg, sh } = pidsFrom(pids);
    await until(() => !alive(bg) && !alive(sh) && groupMembers(sh).length === 0, 10_000);
  }, 20_000);

  it('refuses a call whose signal already aborted, without starting it', async () => {
    const controller = new AbortController();
    controller.abort();
    const out = await shell.run({ command: `touch ${join(root, 'should-not-exist')}` }, context(controller.signal));
    expect(out.isError).toBe(true);
    expect(out.content).toContain('cancelled before the command started');
    expect(() => readFileSync(join(root, 'should-not-exist'))).toThrow();
  });

  it('kills what a command left running in its group after it exited normally', async () => {
    // The background job holds stdout open; the call still returns and the job is gone.
    const out = await shell.run({ command: 'sleep 30 & echo "bg=$!"; echo "sh=$$"' }, context());
    expect(out.isError).toBe(false);
    const r = parsed(out);
    expect(r.exit_code).toBe(0);
    const { bg, sh } = pidsFrom(r.stdout);
    await until(() => !alive(bg) && groupMembers(sh).length === 0, 10_000);
  }, 20_000);

  it('scrubs MobKit settings and credentials from the environment, keeping PATH and allowEnv names', async () => {
    const tool = createShellTool({
      root,
      env: {
        PATH: process.env.PATH,
        MOBKIT_X: '1',
        OPENAI_API_KEY: 'sk',
        FOO_TOKEN: 'tok',
        KEEP_TOKEN: 'kept',
        PLAIN: 'yes',
        UNSET: undefined,
      },
      allowEnv: ['KEEP_TOKEN'],
    });
    const r = parsed(await tool.run({ argv: ['env'] }, context()));
    const names = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
    );
    expect(names.get('PATH')).toBe(process.env.PATH);
    expect(names.get('KEEP_TOKEN')).toBe('kept');
    expect(names.get('PLAIN')).toBe('yes');
    for (const gone of ['MOBKIT_X', 'OPENAI_API_KEY', 'FOO_TOKEN', 'UNSET']) expect(names.has(gone), gone).toBe(false);
  });

  it('scrubShellEnv applies the documented rule', () => {
    const env = {
      MOBKIT_DB: 'a',
      ANTHROPIC_BASE_URL: 'b',
      OPENAI_ORG: 'c',
      RKAT_HOME: 'd',
      GEMINI_X: 'e',
      GOOGLE_API_KEY: 'f',
      AZURE_OPENAI_ENDPOINT: 'g',
      STRIPE_SECRET: 'h',
      github_token: 'i',
      DB_PASSWORD: 'j',
      MY_API_KEY: 'k',
      HOME: '/home/x',
      TOKENIZER: 'kept: not a suffix',
      LANG: 'C',
    };
    expect(scrubShellEnv(env)).toEqual({ HOME: '/home/x', TOKENIZER: 'kept: not a suffix', LANG: 'C' });
    expect(scrubShellEnv(env, ['DB_PASSWORD', 'MOBKIT_DB'])).toEqual({
      HOME: '/home/x',
      TOKENIZER: 'kept: not a suffix',
      LANG: 'C',
      DB_PASSWORD: 'j',
      MOBKIT_DB: 'a',
    });
  });
});
