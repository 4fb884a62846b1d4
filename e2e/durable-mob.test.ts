import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FakeOpenAi,
  type FakeOpenAiMessage,
  type FakeOpenAiReply,
  type FakeOpenAiRequest,
  type TestPostgres,
  postgresOrSkip,
  startFakeOpenAi,
} from '@mobkit/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APP_CONFIG, type App, killTree, poll, processTree, startApp } from './app-process.js';

/** The lead's model in the test's copy of the config: an OpenAI one, so the lead also talks to the fake. */
const LEAD_MODEL = 'gpt-4.1';
const MEMBERS = ['lead', 'worker-1', 'worker-2'] as const;
type MemberId = (typeof MEMBERS)[number];
/** Rounds that complete before the crash; round 4 is cut (worker-1 held), round 5 waits in worker-1's inbox. */
const ROUNDS_BEFORE = 3;
const HELD_TASK = 'job4.w1';

// ---------------------------------------------------------------------------------------------- tokens

const TOKEN = /\[tok:([^\]]+)\]/g;
const tok = (id: string) => `[tok:${id}]`;
const tokensIn = (text: string): string[] => [...text.matchAll(TOKEN)].map((m) => m[1] as string);

/** Every message the scenario makes a member accept, by token, with the member that must answer it. */
function expectedTokens(): Map<string, MemberId> {
  const out = new Map<string, MemberId>();
  for (let k = 1; k <= 5; k++) {
    out.set(`job${k}`, 'lead');
    for (const w of [1, 2] as const) {
      out.set(`job${k}.w${w}`, `worker-${w}`);
      out.set(`res-job${k}.w${w}`, 'lead');
    }
  }
  out.set('direct-1', 'worker-1');
  out.set('direct-2', 'worker-1');
  return out;
}

// ---------------------------------------------------------------------------------------------- the fake's script

/**
 * The run a request belongs to: its trigger (the user messages that started it) and whether the model
 * has already answered in it (tool calls and their results after the trigger).
 */
function runOf(messages: FakeOpenAiMessage[]): { trigger: string[]; continuation: boolean } {
  let i = messages.length - 1;
  let continuation = false;
  while (i >= 0 && (messages[i]?.role === 'tool' || messages[i]?.role === 'assistant')) {
    continuation = true;
    i--;
  }
  const trigger: string[] = [];
  while (i >= 0 && messages[i]?.role === 'user') {
    trigger.unshift(messages[i]?.content ?? '');
    i--;
  }
  return { trigger, continuation };
}

/** The final answer of a run: every token of its trigger, once. */
const finalAnswer = (trigger: string[]): FakeOpenAiReply => ({
  text: `answered ${trigger.flatMap(tokensIn).map(tok).join(' ') || '(nothing to do)'}`,
});

/**
 * The members' model, as a function of the request. Lead (LEAD_MODEL): a host job → send_message to
 * both workers; anything else → a final answer. Worker: a task from the lead → reply_to_peer with a
 * result per task; anything else → a final answer. After the tools, the final answer. The first call
 * for HELD_TASK is held open (the app is killed while it waits).
 */
function script(held: Set<string>) {
  return (request: FakeOpenAiRequest): FakeOpenAiReply => {
    const { trigger, continuation } = runOf(request.messages);
    if (continuation) return finalAnswer(trigger);
    const isLead = request.model === LEAD_MODEL;
    if (isLead) {
      const jobs = trigger.filter((t) => !t.startsWith('Peer message from ')).flatMap(tokensIn);
      if (jobs.length === 0) return finalAnswer(trigger);
      return {
        toolCalls: jobs.flatMap((job) =>
          [1, 2].map((w) => ({
            name: 'send_message',
            args: { peer_id: `worker-${w}`, body: `please do ${tok(`${job}.w${w}`)}` },
          })),
        ),
      };
    }
    const tasks = trigger.filter((t) => t.startsWith('Peer message from lead:')).flatMap(tokensIn);
    if (tasks.length === 0) return finalAnswer(trigger);
    const reply: FakeOpenAiReply = {
      toolCalls: [{ name: 'reply_to_peer', args: { body: tasks.map((t) => `done ${tok(`res-${t}`)}`).join('; ') } }],
    };
    if (tasks.includes(HELD_TASK) && !held.has(HELD_TASK)) {
      held.add(HELD_TASK);
      return { ...reply, hold: true };
    }
    return reply;
  };
}

/** Tokens a reply of the fake answers (final text) or acts on (the bodies of the tools it calls). */
function replyTokens(reply: FakeOpenAiReply | undefined): { answered: string[]; sent: string[] } {
  if (reply === undefined || !('text' in reply || 'toolCalls' in reply)) return { answered: [], sent: [] };
  if (reply.toolCalls !== undefined) {
    return {
      answered: [],
      sent: reply.toolCalls.flatMap((c) => tokensIn(String((c.args as { body?: unknown }).body ?? ''))),
    };
  }
  return { answered: tokensIn(reply.text ?? ''), sent: [] };
}

// ---------------------------------------------------------------------------------------------- the app

interface RpcError {
  code: number;
  message: string;
}

/** One JSON-RPC call on `/rpc`; an error answer throws, naming the method and the error. */
async function call<T>(base: string, method: string, params: unknown = {}): Promise<T> {
  const res = await fetch(`${base}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const answer = (await res.json()) as { result?: T; error?: RpcError };
  if (answer.error) throw new Error(`${method} failed: ${answer.error.code} ${answer.error.message}`);
  return answer.result as T;
}

// ---------------------------------------------------------------------------------------------- member API wire

interface MemberWire {
  meerkat_id: string;
  profile: string;
  state: string;
  wired_to: string[];
  session_id?: string;
  labels?: Record<string, string>;
}

/** A committed message of `mobkit/read_session_history` (Meerkat's `MessageWire`, tagged by `role`, plus mobkit's `index`). */
type HistoryMessage = { index: number; created_at: string } & (
  | { role: 'user'; content: string; source?: string; peer?: string; transcript_role?: string }
  | {
      role: 'block_assistant';
      blocks: Array<{ block_type: string; data: { text?: string; id?: string; name?: string; args?: unknown } }>;
      stop_reason: string;
    }
  | { role: 'tool_results'; results: Array<{ tool_use_id: string; content: string; is_error: boolean }> }
);

interface HistoryPage {
  session_id: string;
  message_count: number;
  offset: number;
  limit?: number;
  has_more: boolean;
  messages: HistoryMessage[];
}

interface MemberStatusWire {
  status: string;
  queued_messages: number;
  current_session_id?: string;
  progress: { run_state: string };
}

async function sessionIdOf(base: string, member: MemberId): Promise<string> {
  const answer = await call<{ member_id: string; session_id: string | null }>(
    base,
    'mobkit/member_current_session_id',
    { member_id: member },
  );
  expect(answer.member_id).toBe(member);
  expect(typeof answer.session_id).toBe('string');
  return answer.session_id as string;
}

/** A session's whole committed history, read in pages of 25 (so paging is exercised too). */
async function fullHistory(base: string, sessionId: string): Promise<HistoryMessage[]> {
  const messages: HistoryMessage[] = [];
  for (;;) {
    const page = await call<HistoryPage>(base, 'mobkit/read_session_history', {
      session_id: sessionId,
      offset: messages.length,
      limit: 25,
    });
    expect(page.session_id).toBe(sessionId);
    expect(page.offset).toBe(messages.length);
    messages.push(...page.messages);
    if (!page.has_more) {
      expect(messages.length).toBe(page.message_count);
      return messages;
    }
  }
}

/** The text of a final answer (an assistant message that ends its turn), or undefined. */
function answerText(m: HistoryMessage): string | undefined {
  if (m.role !== 'block_assistant' || m.blocks.some((b) => b.block_type === 'tool_use')) return undefined;
  return m.blocks
    .filter((b) => b.block_type === 'text')
    .map((b) => b.data.text ?? '')
    .join('');
}

/** Per token: how often it arrives (user messages) and how often it is answered (final answers) in `history`. */
function tokenCounts(history: HistoryMessage[]): { received: Map<string, number>; answered: Map<string, number> } {
  const received = new Map<string, number>();
  const answered = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const m of history) {
    if (m.role === 'user') for (const t of tokensIn(m.content)) bump(received, t);
    const text = answerText(m);
    if (text !== undefined) for (const t of tokensIn(text)) bump(answered, t);
  }
  return { received, answered };
}

/** The members' histories (current sessions), keyed by member. */
async function histories(
  base: string,
  sessions: Record<MemberId, string>,
): Promise<Record<MemberId, HistoryMessage[]>> {
  const out = {} as Record<MemberId, HistoryMessage[]>;
  for (const member of MEMBERS) out[member] = await fullHistory(base, sessions[member]);
  return out;
}

/** Waits until each token of `tokens` has a committed final answer in its member's history. */
async function waitAnswered(
  base: string,
  sessions: Record<MemberId, string>,
  tokens: ReadonlyMap<string, MemberId>,
  app: App,
  timeoutMs = 60_000,
): Promise<Record<MemberId, HistoryMessage[]>> {
  let missing: string[] = [];
  return poll(
    `committed answers to ${[...tokens.keys()].join(', ')}`,
    async () => {
      const all = await histories(base, sessions);
      missing = [...tokens].filter(([t, member]) => !tokenCounts(all[member]).answered.has(t)).map(([t]) => t);
      return missing.length === 0 ? all : undefined;
    },
    timeoutMs,
    () => `still unanswered: ${missing.join(', ')}\n--- app output (tail)\n${app.output().slice(-4000)}`,
  );
}

// ---------------------------------------------------------------------------------------------- targets

interface Target {
  name: string;
  env: () => Promise<Record<string, string> | undefined>;
}

let pg: TestPostgres | undefined;

const targets: Target[] = [
  { name: 'SQLite', env: async () => ({}) },
  { name: 'PostgreSQL', env: async () => (pg ? { DATABASE_URL: await pg.createDatabase() } : undefined) },
];

beforeAll(async () => {
  pg = await postgresOrSkip();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

describe.each(targets)('the durable mob on $name (SIGKILL mid-turn with a full inbox, restart)', (target) => {
  let dir = '';
  let fake: FakeOpenAi | undefined;
  const leftovers: number[] = [];

  afterEach(async () => {
    killTree(leftovers);
    leftovers.length = 0;
    await fake?.close();
    fake = undefined;
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('restores members, sessions, wiring, labels and histories; reports the cut run; answers every message once', async (ctx) => {
    const storeEnv = await target.env();
    if (storeEnv === undefined) {
      ctx.skip('PostgreSQL is not available here (see the message above; CI fails instead of skipping)');
      return;
    }
    const held = new Set<string>();
    const openai = await startFakeOpenAi({ answer: script(held) });
    fake = openai;
    dir = mkdtempSync(join(tmpdir(), 'mobkit-durable-mob-'));
    const configDir = join(dir, 'config');
    cpSync(APP_CONFIG, configDir, { recursive: true });
    // The lead's Claude model would go to Anthropic: an OpenAI model sends it to the fake like the workers.
    const mobToml = readFileSync(join(configDir, 'mob.toml'), 'utf8');
    const patched = mobToml.replace(/\[profiles\.lead\]\nmodel = "[^"]*"/, `[profiles.lead]\nmodel = "${LEAD_MODEL}"`);
    expect(patched).not.toBe(mobToml);
    writeFileSync(join(configDir, 'mob.toml'), patched);
    const env = { OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openai.url, ...storeEnv };
    const expected = expectedTokens();
    const only = (ids: string[]) => new Map(ids.map((t) => [t, expected.get(t) as MemberId]));

    // ---- first run: three full rounds (host → lead → both workers → lead)
    let app = await startApp(configDir, env);
    leftovers.push(...processTree(app.child.pid as number));
    await call(app.base, 'mobkit/mob_labels/set', { labels: { team: 'durable', purpose: 'e2e' } });
    const sessions = {} as Record<MemberId, string>;
    for (const member of MEMBERS) sessions[member] = await sessionIdOf(app.base, member);
    for (let k = 1; k <= ROUNDS_BEFORE; k++) {
      await call(app.base, 'mobkit/send_message', { member_id: 'lead', message: `new job ${tok(`job${k}`)}` });
      await waitAnswered(
        app.base,
        sessions,
        only([`job${k}`, `job${k}.w1`, `job${k}.w2`, `res-job${k}.w1`, `res-job${k}.w2`]),
        app,
      );
    }

    // ---- round 4: worker-1's model call is held open (mid-turn); worker-2's part completes
    await call(app.base, 'mobkit/send_message', { member_id: 'lead', message: `new job ${tok('job4')}` });
    const heldRequest = await openai.waitForRequest(
      `worker-1's call for ${HELD_TASK} to be held`,
      (r) => r.model !== LEAD_MODEL && r.messages.some((m) => m.role === 'user' && m.content?.includes(tok(HELD_TASK))),
      { state: 'held' },
    );
    // ---- messages that wait in worker-1's inbox: two host sends, then round 5 puts a peer task behind them
    for (const d of ['direct-1', 'direct-2']) {
      const sent = await call<{ accepted: boolean }>(app.base, 'mobkit/send_message', {
        member_id: 'worker-1',
        message: `a direct question ${tok(d)}`,
      });
      expect(sent.accepted).toBe(true);
    }
    await call(app.base, 'mobkit/send_message', { member_id: 'lead', message: `new job ${tok('job5')}` });
    // Everything else settles (committed), so the only work cut by the kill is worker-1's.
    await waitAnswered(
      app.base,
      sessions,
      only(['job4', 'job4.w2', 'res-job4.w2', 'job5', 'job5.w2', 'res-job5.w2']),
      app,
    );
    const w1 = await call<MemberStatusWire>(app.base, 'mobkit/member_status', { member_id: 'worker-1' });
    expect(w1.progress.run_state).toBe('run_open');
    expect(w1.queued_messages).toBeGreaterThanOrEqual(3); // direct-1, direct-2, job5.w1 (and any heartbeat)
    const beforeHistories = await histories(app.base, sessions);
    expect(tokenCounts(beforeHistories['worker-1']).received.get('job5.w1')).toBeUndefined(); // still in the inbox
    const before = {
      members: await call<MemberWire[]>(app.base, 'mobkit/list_members'),
      labels: await call<{ labels: Record<string, string> }>(app.base, 'mobkit/mob_labels/get'),
    };
    expect(before.members.map((m) => m.meerkat_id).sort()).toEqual([...MEMBERS]);
    expect(before.labels.labels).toEqual({ team: 'durable', purpose: 'e2e' });

    // ---- SIGKILL the app (and its module children) while worker-1 is mid-turn with a full inbox
    const tree = processTree(app.child.pid as number);
    leftovers.push(...tree);
    const exited = new Promise((r) => app.child.once('exit', r));
    process.kill(app.child.pid as number, 'SIGKILL');
    await exited;
    killTree(tree);
    await openai.waitForRequest('the held call to be cut', (r) => r === heldRequest, { state: 'aborted' });

    // ---- second run on the same store
    app = await startApp(configDir, env);
    leftovers.push(...processTree(app.child.pid as number));
    const members = await call<MemberWire[]>(app.base, 'mobkit/list_members');
    const byId = (list: MemberWire[]) => [...list].sort((a, b) => a.meerkat_id.localeCompare(b.meerkat_id));
    expect(byId(members)).toEqual(byId(before.members)); // ids, profiles, labels, wiring, session ids
    expect(await call(app.base, 'mobkit/mob_labels/get')).toEqual(before.labels);
    for (const member of MEMBERS) expect(await sessionIdOf(app.base, member)).toBe(sessions[member]);

    // Every message accepted before the kill is answered after it (worker-1's cut run continues, its
    // inbox runs, the lead gets the results).
    const after = await waitAnswered(app.base, sessions, expected, app, 90_000);

    // Every message committed before the kill is still there, in place.
    for (const member of MEMBERS) {
      expect(after[member].slice(0, beforeHistories[member].length)).toEqual(beforeHistories[member]);
    }

    // Exactly once: each token arrives once at its member (and nowhere else) and is answered once there.
    const counts = Object.fromEntries(MEMBERS.map((m) => [m, tokenCounts(after[m])])) as Record<
      MemberId,
      ReturnType<typeof tokenCounts>
    >;
    const wrong: string[] = [];
    for (const [t, member] of expected) {
      for (const m of MEMBERS) {
        const received = counts[m].received.get(t) ?? 0;
        const want = m === member ? 1 : 0;
        if (received !== want) wrong.push(`${t} reached ${m} ${received}×`);
      }
      const answered = counts[member].answered.get(t) ?? 0;
      if (answered !== 1) wrong.push(`${t} answered ${answered}× by ${member}`);
    }
    expect(wrong).toEqual([]);

    // The fake's side: each token was answered once and each peer send was made once by a call the app
    // got to the end of (the held call, cut by the kill, is not one of them).
    const delivered = openai.requests.filter((r) => r.state === 'answered');
    const answeredByFake = new Map<string, number>();
    const sentByFake = new Map<string, number>();
    for (const r of delivered) {
      const { answered, sent } = replyTokens(r.reply);
      for (const t of answered) answeredByFake.set(t, (answeredByFake.get(t) ?? 0) + 1);
      for (const t of sent) sentByFake.set(t, (sentByFake.get(t) ?? 0) + 1);
    }
    const peerTokens = [...expected.keys()].filter((t) => t.includes('.w'));
    expect([...expected.keys()].filter((t) => answeredByFake.get(t) !== 1)).toEqual([]);
    expect(peerTokens.filter((t) => sentByFake.get(t) !== 1)).toEqual([]);

    // The cut run is reported: one run_failed with error_class "interrupted", for worker-1's session.
    const events = await call<Array<{ member_id: string | null; event: { payload?: Record<string, unknown> } }>>(
      app.base,
      'mobkit/query_events',
      { kinds: ['agent'], event_types: ['run_failed'], limit: 1000 },
    );
    const interrupted = events.filter(
      (e) => e.event.payload?.type === 'run_failed' && e.event.payload?.error_class === 'interrupted',
    );
    expect(interrupted.map((e) => [e.member_id, e.event.payload?.session_id])).toEqual([
      ['worker-1', sessions['worker-1']],
    ]);

    // The orchestrator got the original's resume notice (once).
    const notices = after.lead.filter((m) => m.role === 'user' && m.source === 'resume');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.role === 'user' && notices[0].content).toMatch(
      /^Mob 'reference-mob' resumed with 3 active meerkats and 2 wiring links\. Reconcile worker state and continue orchestration\.$/,
    );

    const stopped = new Promise((r) => app.child.once('exit', r));
    app.child.kill('SIGTERM');
    await stopped;
  }, 240_000);
});
