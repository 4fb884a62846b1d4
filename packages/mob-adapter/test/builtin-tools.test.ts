import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type MobKitStore } from '@mobkit/core';
import { openStore } from '@mobkit/store';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BuiltinToolsOptions,
  createBuiltinTools,
  purgeMemberTasks,
  TASK_NAMESPACES,
  type Task,
} from '../src/tools/builtins.js';
import { TASK_WORKFLOW_SKILL } from '../src/tools/task-workflow.js';
import type { LocalTool, LocalToolContext, ToolOutput } from '../src/tools/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mob-builtins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context(memberId: string): LocalToolContext {
  return { memberId, profile: 'dev', sessionId: `s-${memberId}`, signal: new AbortController().signal };
}

/** Calls the tools of one member by name. */
function member(tools: LocalTool[], memberId: string) {
  const byName = new Map(tools.map((t) => [t.definition.name, t]));
  return async (name: string, args: Record<string, unknown> = {}): Promise<ToolOutput> => {
    const tool = byName.get(name);
    if (!tool) throw new Error(`no tool ${name}`);
    return tool.run(args, context(memberId));
  };
}

/** The parsed result of a call that must succeed. */
async function okValue<T>(call: Promise<ToolOutput>): Promise<T> {
  const out = await call;
  expect(out.isError, out.content).toBe(false);
  return JSON.parse(out.content) as T;
}

/** The message of a call that must fail. */
async function errorText(call: Promise<ToolOutput>): Promise<string> {
  const out = await call;
  expect(out.isError, out.content).toBe(true);
  return out.content;
}

describe('builtin tools', () => {
  it('are task_create, task_get, task_list, task_update and datetime, read-only where they only read', () => {
    const tools = createBuiltinTools({ mobId: 'm' });
    expect(tools.map((t) => [t.definition.name, t.readOnly])).toEqual([
      ['task_create', false],
      ['task_get', true],
      ['task_list', true],
      ['task_update', false],
      ['datetime', true],
    ]);
  });

  for (const kind of ['memory', 'sqlite'] as const) {
    describe(`task list (${kind})`, () => {
      const stores: MobKitStore[] = [];
      let files = 0;
      async function options(): Promise<BuiltinToolsOptions> {
        const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5));
        if (kind === 'memory') return { mobId: 'team/a', clock };
        files += 1;
        const store = await openStore({ kind: 'sqlite', path: join(dir, `crud-${files}.db`) });
        stores.push(store);
        return { mobId: 'team/a', store, clock };
      }
      afterAll(async () => {
        for (const store of stores) await store.close();
      });

      it('creates, reads, lists, updates and purges a member’s tasks', async () => {
        const opts = await options();
        const clock = opts.clock as ManualClock;
        const call = member(createBuiltinTools(opts), 'worker-1');
        const first = await okValue<Task>(call('task_create', { title: 'Read the spec', description: 'all of it' }));
        expect(first).toEqual({
          id: 'task-1',
          title: 'Read the spec',
          description: 'all of it',
          status: 'pending',
          notes: '',
          created_at: '2026-01-02T03:04:05.000Z',
          updated_at: '2026-01-02T03:04:05.000Z',
        });
        const second = await okValue<Task>(call('task_create', { title: 'Write code', status: 'in_progress' }));
        expect(second).toMatchObject({ id: 'task-2', status: 'in_progress', description: '' });
        expect(await okValue<Task>(call('task_get', { id: 'task-1' }))).toEqual(first);

        clock.advance(60_000);
        const updated = await okValue<Task>(
          call('task_update', { id: 'task-1', status: 'completed', notes: 'done, see section 3' }),
        );
        expect(updated).toEqual({
          ...first,
          status: 'completed',
          notes: 'done, see section 3',
          updated_at: '2026-01-02T03:05:05.000Z',
        });
        expect(await okValue<Task>(call('task_get', { id: 'task-1' }))).toEqual(updated);

        const all = await okValue<{ tasks: Task[] }>(call('task_list'));
        expect(all.tasks.map((t) => t.id)).toEqual(['task-1', 'task-2']);
        const done = await okValue<{ tasks: Task[] }>(call('task_list', { status: 'completed' }));
        expect(done.tasks.map((t) => t.id)).toEqual(['task-1']);

        expect(await errorText(call('task_get', { id: 'task-9' }))).toContain('no task task-9');
        expect(await errorText(call('task_update', { id: 'task-9', status: 'completed' }))).toContain('no task task-9');

        expect(await purgeMemberTasks(opts, 'worker-1')).toBe(2);
        expect((await okValue<{ tasks: Task[] }>(call('task_list'))).tasks).toEqual([]);
        // The counter survives the purge: ids are never reused.
        expect((await okValue<Task>(call('task_create', { title: 'again' }))).id).toBe('task-3');
      });

      it('keeps each member’s list private', async () => {
        const opts = await options();
        const tools = createBuiltinTools(opts);
        const alice = member(tools, 'alice');
        const bob = member(tools, 'bob');
        await okValue(alice('task_create', { title: 'alice secret' }));
        expect((await okValue<{ tasks: Task[] }>(bob('task_list'))).tasks).toEqual([]);
        expect(await errorText(bob('task_get', { id: 'task-1' }))).toContain('no task task-1');
        expect(await errorText(bob('task_update', { id: 'task-1', title: 'mine now' }))).toContain('no task task-1');
        // Bob's own numbering starts at 1 and does not touch Alice's task.
        expect((await okValue<Task>(bob('task_create', { title: 'bob work' }))).id).toBe('task-1');
        expect(await okValue<Task>(alice('task_get', { id: 'task-1' }))).toMatchObject({ title: 'alice secret' });
        expect(await purgeMemberTasks(opts, 'bob')).toBe(1);
        expect((await okValue<{ tasks: Task[] }>(alice('task_list'))).tasks).toHaveLength(1);
      });

      it('gives concurrent creates distinct ids', async () => {
        const call = member(createBuiltinTools(await options()), 'busy');
        const made = await Promise.all(
          Array.from({ length: 20 }, (_, i) => okValue<Task>(call('task_create', { title: `t${i}` }))),
        );
        const ids = made.map((t) => t.id).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
        expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `task-${i + 1}`));
        expect((await okValue<{ tasks: Task[] }>(call('task_list'))).tasks).toHaveLength(20);
      });
    });
  }

  it('gives distinct ids to creates racing through two connections to one SQLite file', async () => {
    const path = join(dir, 'two-connections.db');
    const a = await openStore({ kind: 'sqlite', path });
    const b = await openStore({ kind: 'sqlite', path });
    try {
      const viaA = member(createBuiltinTools({ mobId: 'm', store: a }), 'w');
      const viaB = member(createBuiltinTools({ mobId: 'm', store: b }), 'w');
      const made = await Promise.all(
        Array.from({ length: 16 }, (_, i) => okValue<Task>((i % 2 ? viaA : viaB)('task_create', { title: `t${i}` }))),
      );
      expect(new Set(made.map((t) => t.id)).size).toBe(16);
      expect((await okValue<{ tasks: Task[] }>(viaA('task_list'))).tasks.map((t) => t.id)).toEqual(
        Array.from({ length: 16 }, (_, i) => `task-${i + 1}`),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses bad arguments naming the field', async () => {
    const call = member(createBuiltinTools({ mobId: 'm' }), 'w');
    expect(await errorText(call('task_create', { title: 'x', status: 'done' }))).toContain(
      'status must be one of pending, in_progress, completed, cancelled (got "done")',
    );
    expect(await errorText(call('task_create', {}))).toContain('title is required');
    expect(await errorText(call('task_create', { title: '  ' }))).toContain('title must not be empty');
    expect(await errorText(call('task_create', { title: 3 }))).toContain('title must be a string');
    expect(await errorText(call('task_create', { title: 'x', priority: 1 }))).toContain('unknown argument priority');
    expect(await errorText(call('task_get', {}))).toContain('id is required');
    await okValue(call('task_create', { title: 'x' }));
    expect(await errorText(call('task_update', { id: 'task-1', status: 'blocked' }))).toContain(
      'status must be one of',
    );
    expect(await errorText(call('task_update', { id: 'task-1' }))).toContain('give at least one of');
    expect(await errorText(call('task_list', { status: 7 }))).toContain('status must be one of');
    // Nothing was changed by the refused update.
    expect(await okValue<Task>(call('task_get', { id: 'task-1' }))).toMatchObject({ status: 'pending' });
  });

  it('continues ids after the SQLite store is reopened, and keys records by mob and member', async () => {
    const path = join(dir, 'reopen.db');
    const first = await openStore({ kind: 'sqlite', path });
    const call = member(createBuiltinTools({ mobId: 'crew one', store: first }), 'lead/1');
    await okValue(call('task_create', { title: 'a' }));
    await okValue(call('task_create', { title: 'b' }));
    await okValue(call('task_update', { id: 'task-2', status: 'cancelled' }));
    await first.close();

    const second = await openStore({ kind: 'sqlite', path });
    try {
      const again = member(createBuiltinTools({ mobId: 'crew one', store: second }), 'lead/1');
      expect(
        (await okValue<{ tasks: Task[] }>(again('task_list'))).tasks.map((t) => [t.id, t.title, t.status]),
      ).toEqual([
        ['task-1', 'a', 'pending'],
        ['task-2', 'b', 'cancelled'],
      ]);
      expect((await okValue<Task>(again('task_create', { title: 'c' }))).id).toBe('task-3');
      const keys = (await second.records.list(TASK_NAMESPACES.tasks)).map((r) => r.key);
      expect(keys.sort()).toEqual([
        'crew%20one/lead%2F1/task-1',
        'crew%20one/lead%2F1/task-2',
        'crew%20one/lead%2F1/task-3',
      ]);
      expect((await second.records.get(TASK_NAMESPACES.counters, 'crew%20one/lead%2F1'))?.value).toEqual({ last: 3 });
      // Another mob in the same store has its own lists.
      const other = member(createBuiltinTools({ mobId: 'crew two', store: second }), 'lead/1');
      expect((await okValue<{ tasks: Task[] }>(other('task_list'))).tasks).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('datetime answers the clock’s time, in UTC and in a time zone', async () => {
    const clock = new ManualClock(Date.UTC(2026, 6, 14, 10, 30, 15, 250));
    const call = member(createBuiltinTools({ mobId: 'm', clock }), 'w');
    expect(await okValue(call('datetime', { timezone: 'Europe/Paris' }))).toEqual({
      iso: '2026-07-14T10:30:15.250Z',
      unix_ms: Date.UTC(2026, 6, 14, 10, 30, 15, 250),
      timezone: 'Europe/Paris',
      local: '2026-07-14T12:30:15.250+02:00',
    });
    expect(await okValue(call('datetime', { timezone: 'America/St_Johns' }))).toMatchObject({
      local: '2026-07-14T08:00:15.250-02:30',
    });
    expect(await okValue(call('datetime', { timezone: 'UTC' }))).toMatchObject({
      timezone: 'UTC',
      local: '2026-07-14T10:30:15.250+00:00',
    });
    clock.advance(1000);
    expect(await okValue(call('datetime'))).toMatchObject({ iso: '2026-07-14T10:30:16.250Z' });
    expect(await errorText(call('datetime', { timezone: 'Mars/Olympus' }))).toContain(
      'timezone "Mars/Olympus" is not a valid IANA time zone',
    );
  });

  it('throws InvalidInput for bad options', async () => {
    expect(() => createBuiltinTools({ mobId: '' })).toThrow(/mobId must not be empty/);
    await expect(purgeMemberTasks({ mobId: 'm' }, '')).rejects.toThrow(/memberId must not be empty/);
  });

  it('has a task-workflow skill text naming the tools it steers', () => {
    for (const word of ['task_create', 'task_update', 'task_list', 'completed', 'in_progress'])
      expect(TASK_WORKFLOW_SKILL).toContain(word);
  });
});
