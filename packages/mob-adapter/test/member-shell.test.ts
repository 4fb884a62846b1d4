import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@mobkit/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type EmbeddedMob,
  type EmbeddedMobTuning,
  type LlmRequest,
  MobDefinition,
  ScriptedLlmClient,
  type ShellResult,
  type ToolResult,
  createEmbeddedMob,
} from '../src/index.js';
import { rejection } from './helpers.js';

// The shell tool as members of the embedded mob get it (`shell = true`, configured by
// `options.shell`): a ScriptedLlmClient drives the member, the commands are real processes.

const base = realpathSync(mkdtempSync(join(tmpdir(), 'member-shell-')));
const root = join(base, 'root');
mkdirSync(join(root, 'sub'), { recursive: true });
afterAll(() => rmSync(base, { recursive: true, force: true }));

// The shell root is given relative to the definition's directory (baseDir).
const DEFINITION = MobDefinition.fromToml(
  `
[mob]
id = "member-shell"

[profiles.dev]
model = "gpt-5.2"
external_addressable = true

[profiles.dev.tools]
comms = true
shell = true

[profiles.ro]
model = "gpt-5.2"
external_addressable = true

[profiles.ro.tools]
comms = true
shell = true
read_only = true
`,
  { baseDir: base },
);

const mobs: EmbeddedMob[] = [];
afterEach(async () => {
  for (const m of mobs.splice(0)) await m.close();
});

async function open(llm: ScriptedLlmClient, tuning: EmbeddedMobTuning = {}): Promise<EmbeddedMob> {
  const mob = await createEmbeddedMob(DEFINITION, {
    llm,
    options: { shell: { root: 'root', maxOutputBytes: 1000 }, ...tuning },
  });
  mobs.push(mob);
  return mob;
}

function lastResults(request: LlmRequest | undefined): ToolResult[] {
  const messages = request?.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'tool_results') return m.results;
  }
  return [];
}

function requestOf(llm: ScriptedLlmClient, memberId: string, n: number): LlmRequest {
  const found = llm.requests.filter((r) => r.request.caller?.memberId === memberId)[n];
  if (!found) throw new Error(`no request ${n} for ${memberId}`);
  return found.request;
}

/** The results the member got for its first turn's calls, by call id. */
function resultsOf(llm: ScriptedLlmClient, memberId: string): Map<string, ToolResult> {
  return new Map(lastResults(requestOf(llm, memberId, 1)).map((r) => [r.toolCallId, r]));
}

const parsed = (result: ToolResult | undefined): ShellResult => JSON.parse(result?.content ?? 'null') as ShellResult;

/** True while `pid` runs (a zombie waiting for its reaper counts as gone). */
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

/** A command that writes its shell's and a background job's pids to `<dir>/pids` (atomically), then sleeps. */
function sleeperIn(dir: string): string {
  return `sleep 30 & echo "bg=$!" > ${dir}/pids.tmp; echo "sh=$$" >> ${dir}/pids.tmp; mv ${dir}/pids.tmp ${dir}/pids; sleep 30`;
}

async function pidsIn(dir: string): Promise<number[]> {
  const file = join(dir, 'pids');
  await waitFor('the pids file', () => existsSync(file), 10_000);
  const text = readFileSync(file, 'utf8');
  const pids = [/bg=(\d+)/, /sh=(\d+)/].map((re) => Number(re.exec(text)?.[1]));
  for (const pid of pids) expect(pid).toBeGreaterThan(0);
  return pids;
}

describe('embedded mob members with the shell tool', () => {
  it('runs in the shell root; a cwd ../ is refused as an error result', async () => {
    const llm = new ScriptedLlmClient({
      'd-1': [
        {
          toolCalls: [
            { id: 'pwd', name: 'shell', args: { command: 'pwd' } },
            { id: 'sub', name: 'shell', args: { argv: ['pwd'], cwd: 'sub' } },
            { id: 'up', name: 'shell', args: { command: 'pwd', cwd: '../' } },
          ],
        },
        { text: 'done' },
      ],
    });
    const mob = await open(llm);
    await mob.spawn({ profile: 'dev', meerkatId: 'd-1' });
    await expect(mob.runTurn('d-1', 'where am I')).resolves.toMatchObject({ text: 'done' });
    expect(requestOf(llm, 'd-1', 0).tools.map((t) => t.name)).toContain('shell');
    const results = resultsOf(llm, 'd-1');
    expect(results.get('pwd')?.isError).toBe(false);
    expect(parsed(results.get('pwd'))).toMatchObject({ exit_code: 0, stdout: `${root}\n`, timed_out: false });
    expect(parsed(results.get('sub')).stdout).toBe(`${join(root, 'sub')}\n`);
    expect(results.get('up')).toEqual({
      toolCallId: 'up',
      name: 'shell',
      content: `shell: cwd ../ resolves to ${base}, outside the working directory root ${root}`,
      isError: true,
    });
  });

  it('cuts an over-long output at maxOutputBytes and says so (truncated)', async () => {
    const llm = new ScriptedLlmClient({
      'd-1': [
        {
          toolCalls: [
            { id: 'big', name: 'shell', args: { command: "head -c 5000 /dev/zero | tr '\\0' a; echo fine >&2" } },
          ],
        },
        { text: 'done' },
      ],
    });
    const mob = await open(llm);
    await mob.spawn({ profile: 'dev', meerkatId: 'd-1' });
    await mob.runTurn('d-1', 'print a lot');
    const big = resultsOf(llm, 'd-1').get('big');
    expect(big?.isError).toBe(false);
    const r = parsed(big);
    expect(r).toMatchObject({ exit_code: 0, stderr: 'fine\n', truncated: { stdout: true, stderr: false } });
    expect(r.stdout).toBe('a'.repeat(1000));
  });

  it('timeout_ms times a command out: an error result, its process group killed', async () => {
    const dir = mkdtempSync(join(root, 'timeout-'));
    const llm = new ScriptedLlmClient({
      'd-1': [
        { toolCalls: [{ id: 't', name: 'shell', args: { command: sleeperIn(dir), timeout_ms: 500 } }] },
        { text: 'done' },
      ],
    });
    const mob = await open(llm);
    await mob.spawn({ profile: 'dev', meerkatId: 'd-1' });
    await mob.runTurn('d-1', 'sleep');
    const t = resultsOf(llm, 'd-1').get('t');
    expect(t?.isError).toBe(true);
    expect(parsed(t)).toMatchObject({
      timed_out: true,
      cancelled: false,
      exit_code: null,
      error: 'command timed out after 500 ms; its process group was killed',
    });
    const pids = await pidsIn(dir);
    await waitFor('the process group to die', () => pids.every((p) => !alive(p)), 10_000);
  });

  it("the mob's toolTimeoutMs times a shell call out and kills its process group", async () => {
    const dir = mkdtempSync(join(root, 'tool-timeout-'));
    const llm = new ScriptedLlmClient({
      'd-1': [{ toolCalls: [{ id: 't', name: 'shell', args: { command: sleeperIn(dir) } }] }, { text: 'done' }],
    });
    const mob = await open(llm, { toolTimeoutMs: 700 });
    await mob.spawn({ profile: 'dev', meerkatId: 'd-1' });
    await mob.runTurn('d-1', 'sleep');
    expect(resultsOf(llm, 'd-1').get('t')).toEqual({
      toolCallId: 't',
      name: 'shell',
      content: 'tool shell timed out after 700 ms',
      isError: true,
    });
    const pids = await pidsIn(dir);
    await waitFor('the process group to die', () => pids.every((p) => !alive(p)), 10_000);
  });

  it('cancelling the run kills the command and its background job', async () => {
    const dir = mkdtempSync(join(root, 'cancel-'));
    const llm = new ScriptedLlmClient({
      'd-1': [{ toolCalls: [{ id: 'c', name: 'shell', args: { command: sleeperIn(dir) } }] }],
    });
    const mob = await open(llm);
    await mob.spawn({ profile: 'dev', meerkatId: 'd-1' });
    const run = mob.runTurn('d-1', 'sleep');
    const pids = await pidsIn(dir);
    expect(pids.every(alive)).toBe(true);
    await mob.cancel('d-1');
    expect((await rejection(run)).code).toBe('RunCancelled');
    await waitFor('the process group to die', () => pids.every((p) => !alive(p)), 10_000);
    const closed = mob.history('d-1').flatMap((m) => (m.role === 'tool_results' ? m.results : []));
    expect(closed).toEqual([{ toolCallId: 'c', name: 'shell', content: 'run cancelled', isError: true }]);
  });

  it('under read_only = true the shell is not offered and a call to it is refused', async () => {
    const marker = join(root, 'read-only-marker');
    const llm = new ScriptedLlmClient({
      'r-1': [{ toolCalls: [{ id: 'w', name: 'shell', args: { command: `touch ${marker}` } }] }, { text: 'done' }],
    });
    const mob = await open(llm);
    await mob.spawn({ profile: 'ro', meerkatId: 'r-1' });
    await mob.runTurn('r-1', 'try the shell');
    const names = requestOf(llm, 'r-1', 0).tools.map((t) => t.name);
    expect(names).not.toContain('shell');
    expect(names.length).toBeGreaterThan(0); // the comms tools stay
    const refused = resultsOf(llm, 'r-1').get('w');
    expect(refused).toMatchObject({ name: 'shell', isError: true });
    expect(refused?.content).toMatch(/^unknown tool: shell \(this member's tools: /);
    expect(existsSync(marker)).toBe(false);
  });
});
