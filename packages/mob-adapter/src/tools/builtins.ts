import { type Clock, type MobKitStore, type StoreJson, isMobKitError, systemClock } from '@mobkit/core';
import { invalidInput, requireMemberId } from '../errors.js';
import type { LocalTool, LocalToolContext, ToolOutput } from './types.js';

/** Options of {@link createBuiltinTools} and {@link purgeMemberTasks}. */
export interface BuiltinToolsOptions {
  /** The mob the task lists belong to (the first segment of every key). */
  mobId: string;
  /** Where the task lists are kept; without one they live in memory (tied to this options object). */
  store?: MobKitStore;
  /** The clock `created_at`, `updated_at` and `datetime` read (default the system clock). */
  clock?: Clock;
}

/** A task's status. */
export type TaskStatus = 'pending' | 'in_progress' | 'completed' | 'cancelled';

/** The statuses a task may have, in their usual order. */
export const TASK_STATUSES: readonly TaskStatus[] = Object.freeze(['pending', 'in_progress', 'completed', 'cancelled']);

/** One task of a member's private list, as stored and as the model reads it (snake_case). */
export interface Task {
  /** `task-1`, `task-2`, … per member, never reused. */
  id: string;
  title: string;
  description: string;
  status: TaskStatus;
  notes: string;
  /** ISO 8601 (UTC), from the clock. */
  created_at: string;
  /** ISO 8601 (UTC), from the clock. */
  updated_at: string;
}

/**
 * The store namespaces of the task lists. Keys: a task is
 * `<encodeURIComponent(mobId)>/<encodeURIComponent(memberId)>/<task id>` in `tasks`; each member's
 * id counter is `<encodeURIComponent(mobId)>/<encodeURIComponent(memberId)>` in `counters` (value
 * `{last}`: the highest number handed out).
 */
export const TASK_NAMESPACES = Object.freeze({ tasks: 'mob.tasks', counters: 'mob.task_counters' });

/** Longest title, in characters. */
const MAX_TITLE = 500;
/** Longest description or notes, in characters. */
const MAX_TEXT = 20_000;
/** Compare-and-set attempts before a write gives up (another process kept winning). */
const CAS_ATTEMPTS = 8;

type TaskFields = Pick<Task, 'title' | 'description' | 'status' | 'notes'>;
type TaskPatch = Partial<TaskFields>;

/** Where one mob's task lists are kept. Every method is scoped to one member. */
interface TaskBackend {
  create(memberId: string, fields: TaskFields, nowIso: string): Promise<Task>;
  get(memberId: string, id: string): Promise<Task | undefined>;
  list(memberId: string): Promise<Task[]>;
  /** The updated task, or undefined when there is no such task. */
  update(memberId: string, id: string, patch: TaskPatch, nowIso: string): Promise<Task | undefined>;
  /** Deletes every task of the member (the id counter stays, so ids are never reused); resolves how many. */
  purge(memberId: string): Promise<number>;
}

function taskNumber(id: string): number {
  return Number(id.slice('task-'.length));
}

function byNumber(a: Task, b: Task): number {
  return taskNumber(a.id) - taskNumber(b.id);
}

function applyPatch(task: Task, patch: TaskPatch, nowIso: string): Task {
  return { ...task, ...patch, updated_at: nowIso };
}

/** In-memory lists (no store). */
class MemoryTasks implements TaskBackend {
  private readonly members = new Map<string, { last: number; tasks: Map<string, Task> }>();

  private of(memberId: string) {
    let m = this.members.get(memberId);
    if (!m) {
      m = { last: 0, tasks: new Map() };
      this.members.set(memberId, m);
    }
    return m;
  }

  async create(memberId: string, fields: TaskFields, nowIso: string): Promise<Task> {
    const m = this.of(memberId);
    m.last += 1;
    const task: Task = { id: `task-${m.last}`, ...fields, created_at: nowIso, updated_at: nowIso };
    m.tasks.set(task.id, task);
    return { ...task };
  }

  async get(memberId: string, id: string): Promise<Task | undefined> {
    const t = this.members.get(memberId)?.tasks.get(id);
    return t && { ...t };
  }

  async list(memberId: string): Promise<Task[]> {
    return [...(this.members.get(memberId)?.tasks.values() ?? [])].map((t) => ({ ...t })).sort(byNumber);
  }

  async update(memberId: string, id: string, patch: TaskPatch, nowIso: string): Promise<Task | undefined> {
    const m = this.members.get(memberId);
    const t = m?.tasks.get(id);
    if (!m || !t) return undefined;
    const next = applyPatch(t, patch, nowIso);
    m.tasks.set(id, next);
    return { ...next };
  }

  async purge(memberId: string): Promise<number> {
    const m = this.members.get(memberId);
    if (!m) return 0;
    const n = m.tasks.size;
    m.tasks.clear();
    return n;
  }
}

/** Lists in a store's records (see {@link TASK_NAMESPACES}). */
class StoreTasks implements TaskBackend {
  private readonly mobKey: string;

  constructor(
    private readonly store: MobKitStore,
    mobId: string,
  ) {
    this.mobKey = encodeURIComponent(mobId);
  }

  private memberKey(memberId: string): string {
    return `${this.mobKey}/${encodeURIComponent(memberId)}`;
  }

  private taskKey(memberId: string, id: string): string {
    return `${this.memberKey(memberId)}/${encodeURIComponent(id)}`;
  }

  async create(memberId: string, fields: TaskFields, nowIso: string): Promise<Task> {
    const counterKey = this.memberKey(memberId);
    return withCas(() =>
      this.store.transaction(async (tx) => {
        const counter = await tx.records.get<{ last: number }>(TASK_NAMESPACES.counters, counterKey);
        const n = (counter?.value.last ?? 0) + 1;
        // Compare-and-set: a create racing in another process makes one of the two retry with the next number.
        await tx.records.put(
          TASK_NAMESPACES.counters,
          counterKey,
          { last: n },
          {
            expectedVersion: counter?.version ?? 0,
          },
        );
        const task: Task = { id: `task-${n}`, ...fields, created_at: nowIso, updated_at: nowIso };
        await tx.records.put(TASK_NAMESPACES.tasks, this.taskKey(memberId, task.id), task as unknown as StoreJson, {
          expectedVersion: 0,
          range: n,
        });
        return task;
      }),
    );
  }

  async get(memberId: string, id: string): Promise<Task | undefined> {
    const rec = await this.store.records.get(TASK_NAMESPACES.tasks, this.taskKey(memberId, id));
    return rec?.value as unknown as Task | undefined;
  }

  async list(memberId: string): Promise<Task[]> {
    const recs = await this.store.records.list(TASK_NAMESPACES.tasks, {
      prefix: `${this.memberKey(memberId)}/`,
      orderBy: 'range',
    });
    return recs.map((r) => r.value as unknown as Task).sort(byNumber);
  }

  async update(memberId: string, id: string, patch: TaskPatch, nowIso: string): Promise<Task | undefined> {
    const key = this.taskKey(memberId, id);
    return withCas(async () => {
      const rec = await this.store.records.get(TASK_NAMESPACES.tasks, key);
      if (!rec) return undefined;
      const next = applyPatch(rec.value as unknown as Task, patch, nowIso);
      await this.store.records.put(TASK_NAMESPACES.tasks, key, next as unknown as StoreJson, {
        expectedVersion: rec.version,
        range: taskNumber(id),
      });
      return next;
    });
  }

  async purge(memberId: string): Promise<number> {
    const recs = await this.store.records.list(TASK_NAMESPACES.tasks, { prefix: `${this.memberKey(memberId)}/` });
    if (recs.length === 0) return 0;
    await this.store.transaction(async (tx) => {
      await Promise.all(recs.map((r) => tx.records.delete(TASK_NAMESPACES.tasks, r.key)));
    });
    return recs.length;
  }
}

/** Runs `fn` again while it fails with `VersionConflict` (a concurrent writer won), a few times. */
async function withCas<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isMobKitError(error, 'VersionConflict') || attempt >= CAS_ATTEMPTS) throw error;
    }
  }
}

/** The in-memory lists of each options object given without a store. */
const memoryLists = new WeakMap<BuiltinToolsOptions, MemoryTasks>();

function backendOf(options: BuiltinToolsOptions, create: boolean): TaskBackend | undefined {
  if (options.store) return new StoreTasks(options.store, options.mobId);
  let memory = memoryLists.get(options);
  if (!memory && create) {
    memory = new MemoryTasks();
    memoryLists.set(options, memory);
  }
  return memory;
}

function checkOptions(options: BuiltinToolsOptions): void {
  if (options === null || typeof options !== 'object') throw invalidInput('options', 'must be an object');
  if (typeof options.mobId !== 'string' || options.mobId.trim() === '')
    throw invalidInput('mobId', 'must not be empty');
}

// ---- argument checks --------------------------------------------------------------------------------

/** A bad argument: its message names the field. */
class BadArgument extends Error {}

function checkKeys(args: Record<string, unknown>, allowed: readonly string[]): void {
  if (args === null || typeof args !== 'object' || Array.isArray(args))
    throw new BadArgument('arguments must be a JSON object');
  for (const key of Object.keys(args))
    if (!allowed.includes(key))
      throw new BadArgument(`unknown argument ${key} (expected ${allowed.join(', ') || 'no arguments'})`);
}

function text(args: Record<string, unknown>, field: string, max: number, required: true): string;
function text(args: Record<string, unknown>, field: string, max: number, required: false): string | undefined;
function text(args: Record<string, unknown>, field: string, max: number, required: boolean): string | undefined {
  const v = args[field];
  if (v === undefined || v === null) {
    if (required) throw new BadArgument(`${field} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new BadArgument(`${field} must be a string`);
  if (v.length > max) throw new BadArgument(`${field} must be at most ${max} characters (got ${v.length})`);
  return v;
}

function title(args: Record<string, unknown>, required: boolean): string | undefined {
  const v = required ? text(args, 'title', MAX_TITLE, true) : text(args, 'title', MAX_TITLE, false);
  if (v !== undefined && v.trim() === '') throw new BadArgument('title must not be empty');
  return v;
}

function status(args: Record<string, unknown>): TaskStatus | undefined {
  const v = args.status;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(TASK_STATUSES as readonly string[]).includes(v))
    throw new BadArgument(`status must be one of ${TASK_STATUSES.join(', ')} (got ${JSON.stringify(v)})`);
  return v as TaskStatus;
}

function taskId(args: Record<string, unknown>): string {
  const v = args.id;
  if (typeof v !== 'string' || v.trim() === '') throw new BadArgument('id is required (a task id such as task-1)');
  return v;
}

function unknownTask(id: string): BadArgument {
  return new BadArgument(`no task ${id} in your task list (task_list shows your tasks)`);
}

function ok(value: unknown): ToolOutput {
  return { content: JSON.stringify(value), isError: false };
}

/** A tool whose failures (bad arguments, store errors) resolve error results naming the tool. */
function tool(
  name: string,
  description: string,
  inputSchema: Record<string, unknown>,
  readOnly: boolean,
  run: (args: Record<string, unknown>, context: LocalToolContext) => Promise<unknown>,
): LocalTool {
  return {
    definition: { name, description, inputSchema },
    readOnly,
    async run(args, context) {
      try {
        return ok(await run(args ?? {}, context));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { content: `${name}: ${message}`, isError: true };
      }
    },
  };
}

function schema(properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

const STATUS_SCHEMA = { type: 'string', enum: [...TASK_STATUSES] };

function member(context: LocalToolContext): string {
  if (typeof context?.memberId !== 'string' || context.memberId === '')
    throw new Error('the call has no member id (a task list belongs to one member)');
  return context.memberId;
}

/** `2026-01-02T03:04:05.678+01:00` for `ms` in `timeZone`, from Intl parts. */
function localIso(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const zone = get('timeZoneName'); // `GMT+01:00`, or `GMT` for a zero offset
  const offset = zone === 'GMT' || zone === '' ? '+00:00' : zone.replace(/^GMT/, '');
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}.${get('fractionalSecond')}${offset}`;
}

/**
 * The builtin tools of a member: its private task list (`task_create`, `task_get`, `task_list`,
 * `task_update`, keyed by the calling member's id — another member can neither see nor change it) and
 * `datetime`. Tasks get ids `task-1`, `task-2`, … per member, never reused (the counter survives a
 * restart and a purge). With a store the lists are durable ({@link TASK_NAMESPACES}; two concurrent
 * creates never get one id: the counter is written with compare-and-set); without one they live in
 * memory, shared by every tool made from the same options object. Bad arguments and unknown task ids
 * are error results naming the field or id; bad options throw `InvalidInput`.
 */
export function createBuiltinTools(options: BuiltinToolsOptions): LocalTool[] {
  checkOptions(options);
  const backend = backendOf(options, true) as TaskBackend;
  const clock = options.clock ?? systemClock;
  const nowIso = () => new Date(clock.nowMs()).toISOString();

  return [
    tool(
      'task_create',
      'Add a task to your own task list (private to you). Returns the task with its id (task-1, task-2, …).',
      schema(
        {
          title: { type: 'string', description: 'A short name for the task.' },
          description: { type: 'string', description: 'What the task involves, or what done looks like.' },
          status: { ...STATUS_SCHEMA, description: 'Initial status (default pending).' },
        },
        ['title'],
      ),
      false,
      async (args, context) => {
        checkKeys(args, ['title', 'description', 'status']);
        const memberId = member(context);
        const fields: TaskFields = {
          title: title(args, true) as string,
          description: text(args, 'description', MAX_TEXT, false) ?? '',
          status: status(args) ?? 'pending',
          notes: '',
        };
        return backend.create(memberId, fields, nowIso());
      },
    ),
    tool(
      'task_get',
      'Read one task of your task list by id.',
      schema({ id: { type: 'string', description: 'The task id, e.g. task-1.' } }, ['id']),
      true,
      async (args, context) => {
        checkKeys(args, ['id']);
        const memberId = member(context);
        const id = taskId(args);
        const task = await backend.get(memberId, id);
        if (!task) throw unknownTask(id);
        return task;
      },
    ),
    tool(
      'task_list',
      'List the tasks of your task list (oldest first), optionally only those with one status.',
      schema({ status: { ...STATUS_SCHEMA, description: 'Only tasks with this status.' } }),
      true,
      async (args, context) => {
        checkKeys(args, ['status']);
        const memberId = member(context);
        const only = status(args);
        const tasks = await backend.list(memberId);
        return { tasks: only === undefined ? tasks : tasks.filter((t) => t.status === only) };
      },
    ),
    tool(
      'task_update',
      'Change a task of your task list: its status (pending, in_progress, completed, cancelled), title, ' +
        'description or notes (each given field replaces the old value). Returns the updated task.',
      schema(
        {
          id: { type: 'string', description: 'The task id, e.g. task-1.' },
          title: { type: 'string' },
          description: { type: 'string' },
          status: STATUS_SCHEMA,
          notes: { type: 'string', description: 'Progress notes or the outcome (replaces earlier notes).' },
        },
        ['id'],
      ),
      false,
      async (args, context) => {
        checkKeys(args, ['id', 'title', 'description', 'status', 'notes']);
        const memberId = member(context);
        const id = taskId(args);
        const patch: TaskPatch = {};
        const t = title(args, false);
        if (t !== undefined) patch.title = t;
        const d = text(args, 'description', MAX_TEXT, false);
        if (d !== undefined) patch.description = d;
        const s = status(args);
        if (s !== undefined) patch.status = s;
        const n = text(args, 'notes', MAX_TEXT, false);
        if (n !== undefined) patch.notes = n;
        if (Object.keys(patch).length === 0)
          throw new BadArgument('give at least one of title, description, status or notes to change');
        const task = await backend.update(memberId, id, patch, nowIso());
        if (!task) throw unknownTask(id);
        return task;
      },
    ),
    tool(
      'datetime',
      'The current date and time: UTC ISO 8601, Unix milliseconds, and the local time in a time zone.',
      schema({
        timezone: {
          type: 'string',
          description: 'An IANA time zone such as Europe/Paris (default: the host time zone).',
        },
      }),
      true,
      async (args) => {
        checkKeys(args, ['timezone']);
        const requested = text(args, 'timezone', 100, false);
        let timeZone: string;
        try {
          timeZone = new Intl.DateTimeFormat(
            'en-US',
            requested === undefined ? {} : { timeZone: requested },
          ).resolvedOptions().timeZone;
        } catch {
          throw new BadArgument(
            `timezone ${JSON.stringify(requested)} is not a valid IANA time zone (e.g. Europe/Paris)`,
          );
        }
        const ms = clock.nowMs();
        return { iso: new Date(ms).toISOString(), unix_ms: ms, timezone: timeZone, local: localIso(ms, timeZone) };
      },
    ),
  ];
}

/**
 * Deletes every task of `memberId` (for retire with purge); resolves how many were deleted. The id
 * counter stays, so a later member with the same id never gets an old id. Pass the options given to
 * {@link createBuiltinTools}: with a store, any options naming the same mob and store; without one,
 * the very same options object (the in-memory lists are tied to it; other objects have none: 0).
 */
export async function purgeMemberTasks(options: BuiltinToolsOptions, memberId: string): Promise<number> {
  checkOptions(options);
  requireMemberId(memberId, 'memberId');
  const backend = backendOf(options, false);
  return backend ? backend.purge(memberId) : 0;
}
