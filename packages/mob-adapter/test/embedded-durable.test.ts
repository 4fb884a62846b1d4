import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MobKitError, type MobKitStore } from '@mobkit/core';
import { createMemoryStore, openSqliteStore } from '@mobkit/store';
import { builtEntry } from '@mobkit/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedMob,
  type EmbeddedTool,
  type MemberSnapshot,
  MobDefinition,
  type MobEvent,
  ScriptedLlmClient,
  type SessionMessage,
  createEmbeddedMob,
} from '../src/index.js';
import { fixtureDefinition, rejection } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/durable-crash.mjs', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

const CRASH_TEAM = fixtureDefinition('crash-team.toml');

const dirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mob-durable-'));
  dirs.push(dir);
  return dir;
}

async function sqlite(path: string): Promise<MobKitStore> {
  const store = await openSqliteStore({ path });
  cleanups.push(() => store.close());
  return store;
}

async function open(definition: MobDefinition, store: MobKitStore | undefined, llm: ScriptedLlmClient, extra = {}) {
  const mob = await createEmbeddedMob(definition, { llm, ...(store ? { store } : {}), ...extra });
  cleanups.push(() => mob.close());
  return mob;
}

function userContents(messages: SessionMessage[]): string[] {
  return messages.flatMap((m) => (m.role === 'user' ? [m.content] : []));
}

async function allMessages(mob: EmbeddedMob, sessionId: string): Promise<SessionMessage[]> {
  return (await mob.readSessionHistory(sessionId)).messages;
}

/** Waits for the child's `READY <json>` line. */
function ready(child: ChildProcess): Promise<{ members: MemberSnapshot[]; sessions: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) resolve(JSON.parse(line.slice('READY '.length)));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`fixture exited (${code}) before READY: ${err}`)));
  });
}

describe('durable embedded mob', () => {
  // the crash fixture imports the built dist: rebuild it when src/ is newer
  beforeAll(() => {
    builtEntry(PACKAGE_DIR);
  }, 120_000);

  it('survives SIGKILL mid-turn: reports the interrupted runs, continues them without re-running tools, answers every accepted message once', async () => {
    const dir = tmp();
    const db = join(dir, 'store.db');
    const effects = join(dir, 'effects.log');
    const child = spawn(process.execPath, [FIXTURE, db, effects], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const before = await ready(child);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(readFileSync(effects, 'utf8')).toBe('1\n2\n');

    const store = await sqlite(db);
    const llm = new ScriptedLlmClient({}, { fallback: { text: 'done' } });
    const tools: EmbeddedTool[] = [
      {
        definition: { name: 'effect', description: 'a side effect', inputSchema: { type: 'object' } },
        execute: (args) => {
          appendFileSync(effects, `${(args as { n: number }).n}\n`);
          return 'again';
        },
      },
      {
        definition: { name: 'hang', description: 'never ends', inputSchema: { type: 'object' } },
        execute: () => 'should not run',
      },
    ];
    const mob = await open(CRASH_TEAM, store, llm, { options: { tools } });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    // restored as it was
    expect(await mob.listMembers()).toEqual(before.members);
    expect(await mob.mobLabels()).toEqual({ purpose: 'crash test' });
    for (const [id, sid] of Object.entries(before.sessions)) expect(await mob.memberCurrentSessionId(id)).toBe(sid);
    await expect
      .poll(async () => (await mob.waitReady({ timeoutMs: 10_000 })).timedOut, { timeout: 10_000 })
      .toBe(false);
    await mob.waitForIdle(10_000);

    const interrupted = events.flatMap((e) =>
      e.kind === 'agent' && e.event.type === 'run_failed' && e.event.errorClass === 'interrupted' ? [e] : [],
    );
    expect(interrupted.map((e) => e.memberId).sort()).toEqual(['lead', 'worker-1', 'worker-2']);
    for (const e of interrupted)
      expect(e.event.type === 'run_failed' && e.event.error).toMatch(/process stopped mid-run/);
    // no tool ran again
    expect(readFileSync(effects, 'utf8')).toBe('1\n2\n');

    // worker-2: the hanging call came back interrupted, its committed result stayed, the run went on
    const w2 = await allMessages(mob, before.sessions['worker-2'] as string);
    const w2Results = w2.find((m) => m.role === 'tool_results');
    expect(w2Results?.role === 'tool_results' && w2Results.results).toEqual([
      { toolCallId: 'w2-effect', name: 'effect', content: 'effect 2 done', isError: false },
      {
        toolCallId: 'w2-hang',
        name: 'hang',
        content: 'interrupted: the process stopped while this tool call was executing; it was not re-executed',
        isError: true,
      },
    ]);
    expect(w2[w2.length - 1]).toMatchObject({ role: 'assistant', content: 'done', toolCalls: [] });
    const w2Request = llm.requests.find((r) => r.request.caller?.memberId === 'worker-2')?.request;
    expect(w2Request?.messages.at(-1)).toMatchObject({ role: 'tool_results' });

    // worker-1: its run continued after the committed effect; the queued peer and host messages were answered once each
    const w1 = await allMessages(mob, before.sessions['worker-1'] as string);
    const w1Users = userContents(w1);
    expect(w1Users).toEqual(['task A', 'Peer message from lead:\nextra work', 'queued host 1', 'queued host 2']);
    expect(w1.filter((m) => m.role === 'tool_results')).toHaveLength(1);
    expect(w1[w1.length - 1]).toMatchObject({ role: 'assistant', content: 'done' });
    const w1Runs = new Set(w1.map((m) => m.runId));
    expect(w1Runs.size).toBe(2); // the continued run and the one run of the queued messages

    // lead: its send was not repeated (worker-1 has the peer message once), and it got the resume notice
    const lead = await allMessages(mob, before.sessions.lead as string);
    const leadUsers = userContents(lead);
    expect(leadUsers[0]).toBe('coordinate');
    expect(leadUsers).toContain(
      "Mob 'crash-team' resumed with 3 active meerkats and 2 wiring links. Reconcile worker state and continue orchestration.",
    );
    expect(lead.find((m) => m.role === 'user' && m.source === 'resume')).toBeDefined();
    expect(
      lead.filter((m) => m.role === 'assistant' && m.toolCalls.some((c) => c.name === 'send_message')),
    ).toHaveLength(1);
    // nothing left open
    for (const id of ['lead', 'worker-1', 'worker-2'])
      expect(await mob.memberStatus(id)).toMatchObject({ runState: 'idle', queuedMessages: 0 });
    expect(await store.records.list('mob.runs')).toEqual([]);
    expect(await store.records.list('mob.inbox')).toEqual([]);
  }, 30_000);

  describe.each([
    { name: 'memory store', make: async () => createMemoryStore() },
    { name: 'SQLite', make: async () => sqlite(join(tmp(), 's.db')) },
  ])('restore ($name)', ({ make }) => {
    it('restores the roster, labels, wiring, session ids and histories after close; queued messages run', async () => {
      const store = await make();
      const llm = new ScriptedLlmClient({
        'lead-1': [
          { toolCalls: [{ name: 'send_message', args: { peer_id: 'worker-1', body: 'hi' } }] },
          { text: 'lead done' },
        ],
      });
      const first = await open(fixtureDefinition('team.toml'), store, llm);
      await first.spawnMany([
        { profile: 'lead', meerkatId: 'lead-1', labels: { team: 'a' } },
        { profile: 'worker', meerkatId: 'worker-1', runtimeMode: 'turn_driven', additionalInstructions: ['be brief'] },
        { profile: 'critic', meerkatId: 'critic-1' },
      ]);
      await first.unwire('lead-1', 'critic-1');
      await first.wire('worker-1', 'critic-1');
      await first.setMobLabels({ env: 'test' });
      await first.sendMessage('lead-1', 'start');
      await first.waitForIdle(5000);
      await first.sendMessage('worker-1', 'for later'); // turn_driven: stays queued
      const members = await first.listMembers();
      const histories = Object.fromEntries(members.map((m) => [m.meerkatId, first.history(m.meerkatId)]));
      const pages = Object.fromEntries(
        await Promise.all(
          members.map(async (m) => [m.meerkatId, await first.readSessionHistory(m.sessionId as string)]),
        ),
      );
      const statuses = await first.memberStatus('lead-1');
      await first.close();

      const llm2 = new ScriptedLlmClient({ 'worker-1': [{ text: 'answered' }] });
      const second = await open(fixtureDefinition('team.toml'), store, llm2, { notifyOrchestratorOnResume: false });
      expect(await second.listMembers()).toEqual(members);
      expect(await second.mobLabels()).toEqual({ env: 'test' });
      for (const m of members) {
        expect(second.history(m.meerkatId)).toEqual(histories[m.meerkatId]);
        expect(await second.readSessionHistory(m.sessionId as string)).toEqual(pages[m.meerkatId]);
      }
      const restoredStatus = await second.memberStatus('lead-1');
      expect(restoredStatus).toMatchObject({
        tokensUsed: statuses.tokensUsed,
        outputPreview: 'lead done',
        currentSessionId: statuses.currentSessionId,
      });
      expect(await second.memberStatus('worker-1')).toMatchObject({ queuedMessages: 2 });
      const result = await second.runTurn('worker-1', 'now');
      expect(result.text).toBe('answered');
      const req = llm2.requests.find((r) => r.key === 'worker-1')?.request;
      expect(req?.system).toContain('be brief');
      expect(req?.messages.slice(-3)).toEqual([
        { role: 'user', content: 'Peer message from lead-1:\nhi' },
        { role: 'user', content: 'for later' },
        { role: 'user', content: 'now' },
      ]);
      await second.waitForIdle(5000);
    });

    it('holds restored work until releaseRestoredWork with holdRestoredWork, then runs it', async () => {
      const store = await make();
      const first = await open(CRASH_TEAM, store, new ScriptedLlmClient({}));
      await first.spawn({ profile: 'worker', meerkatId: 'w-1', runtimeMode: 'turn_driven' });
      await first.sendMessage('w-1', 'queued before the restart');
      await first.close();
      const llm = new ScriptedLlmClient({ 'lead-1': [{ text: 'noted' }] });
      const second = await open(CRASH_TEAM, store, llm);
      await second.spawn({ profile: 'lead', meerkatId: 'lead-1' });
      await second.close();

      const llm3 = new ScriptedLlmClient({ 'lead-1': [{ text: 'resumed, noted' }] });
      const third = await open(CRASH_TEAM, store, llm3, { holdRestoredWork: true });
      const seen: string[] = [];
      third.subscribe((e) => {
        if (e.kind === 'agent') seen.push(`${e.memberId}:${e.event.type}`);
      });
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
      expect(llm3.requests).toHaveLength(0);
      expect(seen).toEqual([]);
      expect(await third.memberStatus('lead-1')).toMatchObject({ queuedMessages: 0, runState: 'idle' });
      third.releaseRestoredWork();
      third.releaseRestoredWork(); // idempotent
      await third.waitForIdle(5000);
      expect(llm3.requests.map((r) => r.key)).toEqual(['lead-1']);
      expect(JSON.stringify(llm3.requests[0]?.request.messages.at(-1))).toContain(
        "Mob 'crash-team' resumed with 2 active meerkats",
      );
      expect(seen).toContain('lead-1:run_completed');
    });

    it('keeps the mob stopped across a restart, and several mobs apart in one store', async () => {
      const store = await make();
      const team = await open(fixtureDefinition('team.toml'), store, new ScriptedLlmClient());
      const other = await open(CRASH_TEAM, store, new ScriptedLlmClient());
      await team.spawn({ profile: 'worker', meerkatId: 'w' });
      await other.spawn({ profile: 'worker', meerkatId: 'x' });
      await team.stop();
      await team.close();
      await other.close();
      const team2 = await open(fixtureDefinition('team.toml'), store, new ScriptedLlmClient());
      const other2 = await open(CRASH_TEAM, store, new ScriptedLlmClient());
      expect(await team2.status()).toBe('Stopped');
      expect(await other2.status()).toBe('Running');
      expect((await team2.listMembers()).map((m) => m.meerkatId)).toEqual(['w']);
      expect((await other2.listMembers()).map((m) => m.meerkatId)).toEqual(['x']);
      await team2.resume();
      expect(await team2.status()).toBe('Running');
    });

    it('keeps retired members final across a restart and purges from the store', async () => {
      const store = await make();
      const mob = await open(fixtureDefinition('team.toml'), store, new ScriptedLlmClient({ w: [{ text: 'bye' }] }));
      await mob.spawn({ profile: 'worker', meerkatId: 'w', runtimeMode: 'turn_driven' });
      await mob.runTurn('w', 'hello');
      const sid = await mob.memberCurrentSessionId('w');
      await mob.retire('w');
      await mob.close();
      const again = await open(fixtureDefinition('team.toml'), store, new ScriptedLlmClient());
      expect(await again.memberStatus('w')).toMatchObject({ status: 'completed', isFinal: true, outputPreview: 'bye' });
      expect((await again.collectCompleted()).map((c) => c.memberId)).toEqual(['w']);
      expect((await again.readSessionHistory(sid)).messageCount).toBe(2);
      expect(await again.purgeMember('w')).toEqual({ memberId: 'w', sessions: 1, messages: 2, inboxItems: 0 });
      for (const ns of ['mob.messages', 'mob.sessions', 'mob.finals', 'mob.members', 'mob.inbox'])
        expect(await store.records.list(ns, { prefix: 'team/' })).toEqual([]);
    });

    it('applies historyRetention per member after a run and at restore; indexes stay stable', async () => {
      const store = await make();
      const llm = new ScriptedLlmClient();
      const mob = await open(fixtureDefinition('team.toml'), store, llm);
      await mob.spawn({ profile: 'worker', meerkatId: 'w', runtimeMode: 'turn_driven' });
      for (let i = 0; i < 4; i++) await mob.runTurn('w', `q${i}`);
      const sid = await mob.memberCurrentSessionId('w');
      expect((await mob.readSessionHistory(sid)).messageCount).toBe(8);
      await mob.close();
      const pruned = await open(fixtureDefinition('team.toml'), store, llm, { historyRetention: { maxMessages: 3 } });
      await pruned.waitForIdle(5000);
      await expect.poll(async () => (await pruned.readSessionHistory(sid)).messages.length).toBe(3);
      const page = await pruned.readSessionHistory(sid);
      expect(page).toMatchObject({ messageCount: 8, offset: 5, hasMore: false });
      expect(page.messages.map((m) => m.index)).toEqual([5, 6, 7]);
      await pruned.runTurn('w', 'q4');
      const after = await pruned.readSessionHistory(sid);
      expect(after.messages.map((m) => m.index)).toEqual([7, 8, 9]);
      expect(await store.records.list('mob.messages', { prefix: 'team/' })).toHaveLength(3);
    });
  });

  it('fails a send with the store error and keeps nothing when the write fails', async () => {
    const inner = createMemoryStore();
    let fail = false;
    const store: MobKitStore = {
      ...inner,
      info: inner.info,
      events: inner.events,
      claims: inner.claims,
      leases: inner.leases,
      close: () => inner.close(),
      transaction: (fn) => inner.transaction(fn),
      records: {
        ...inner.records,
        get: (ns, key) => inner.records.get(ns, key),
        list: (ns, q) => inner.records.list(ns, q),
        delete: (ns, key, o) => inner.records.delete(ns, key, o),
        search: (ns, t, o) => inner.records.search(ns, t, o),
        namespaces: () => inner.records.namespaces(),
        put: (ns, key, value, o) => {
          if (fail) return Promise.reject(new MobKitError('StoreUnavailable', 'disk full'));
          return inner.records.put(ns, key, value, o);
        },
      },
    };
    const mob = await open(fixtureDefinition('team.toml'), store, new ScriptedLlmClient());
    await mob.spawn({ profile: 'worker', meerkatId: 'w', runtimeMode: 'turn_driven' });
    fail = true;
    const err = await rejection(mob.sendMessage('w', 'lost?'));
    expect(err.message).toContain('disk full');
    expect((await mob.memberStatus('w')).queuedMessages).toBe(0);
    expect(await rejection(mob.setMobLabels({ a: 'b' }))).toMatchObject({
      message: expect.stringContaining('disk full'),
    });
    expect(await mob.mobLabels()).toEqual({});
    fail = false;
  });

  it('compacts the model-visible history past auto_compact_threshold; the session keeps everything and a restore sees the summary', async () => {
    const def = MobDefinition.fromToml(`
[mob]
id = "compact"
[profiles.worker]
model = "m"
external_addressable = true
auto_compact_threshold = 200
tools = { comms = true }
`);
    const store = createMemoryStore();
    const llm = new ScriptedLlmClient(
      {},
      { fallback: { text: 'a fairly long answer that fills the history quickly' } },
    );
    const mob = await open(def, store, llm);
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn({ profile: 'worker', meerkatId: 'w', runtimeMode: 'turn_driven' });
    for (let i = 0; i < 6; i++) await mob.runTurn('w', `question number ${i} with some padding text`);
    const compacted = events.filter((e) => e.kind === 'agent' && e.event.type === 'compacted');
    expect(compacted.length).toBeGreaterThan(0);
    const visible = mob.history('w');
    expect(visible[0]?.role === 'user' && visible[0].content).toMatch(/^Summary of the earlier conversation:/);
    const sid = await mob.memberCurrentSessionId('w');
    const page = await mob.readSessionHistory(sid);
    const summaries = page.messages.filter((m) => m.role === 'system');
    expect(summaries.length).toBe(compacted.length);
    expect(summaries[0]).not.toHaveProperty('keptFrom');
    expect(userContents(page.messages).filter((c) => c.startsWith('question number'))).toHaveLength(6);
    const lastPrompt = llm.requests.at(-1)?.request.messages ?? [];
    expect(lastPrompt.length).toBeLessThan(12);
    await mob.close();
    const again = await open(def, store, llm);
    expect(again.history('w')).toEqual(visible);
  });
});
