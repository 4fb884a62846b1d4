// The console's members list (each member's status and current session) and history view in real Chromium,
// against the REAL member API: the reference app router as mobkit serves it (`createReferenceAppRouter`,
// its JSON-RPC handler with `mobkit/member_status`, `mobkit/member_current_session_id` and
// `mobkit/read_session_history`) over an embedded mob whose members run on a ScriptedLlmClient, so a
// member has a real history (prompts, tool calls and results, peer messages, a failed run).
// Chromium and the built console script as in browser.test.ts (`npx tsup` in this package first).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MobKitConfig } from '@mobkit/core';
import { type EmbeddedMob, MobDefinition, ScriptedLlmClient, createEmbeddedMob } from '@mobkit/mob-adapter';
import express from 'express';
// mobkit depends on this package: these test-only imports must not become a project graph edge (a cycle).
// nx-ignore-next-line
import { MobBootstrapSpec, UnifiedRuntime } from 'mobkit';
// nx-ignore-next-line
import { createReferenceAppRouter } from 'mobkit/http';
import { type Browser, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { SESSION_HISTORY_PAGE_SIZE } from '../src/experience.js';
import { decisionState } from './helpers.js';

/** The part of the page's `window` these tests read (the test is compiled without the DOM lib). */
interface BrowserWindow {
  __pwned?: number;
}

const MOB_TOML = `
[mob]
id = "members-console-mob"
orchestrator = "lead"

[profiles.lead]
model = "gpt-5.2"
peer_description = "Leads"
external_addressable = true
tools = { comms = true }

[profiles.worker]
model = "gpt-5.2"
peer_description = "Works"
external_addressable = true
tools = { comms = true }
max_turns = 40

[wiring]
auto_wire_orchestrator = true
`;

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const USAGE = { inputTokens: 10, outputTokens: 2 };
/** Tool round trips of the long run: 1 prompt + 2 per round trip + 1 answer is more than a page. */
const LONG_RUN_CALLS = 30;
const HOSTILE = '<img src=x onerror="window.__pwned=1">done & <b>dusted</b>';

let browser: Browser | undefined;
let launchError: unknown;

interface MembersApp {
  url: string;
  mob: EmbeddedMob;
  runtime: UnifiedRuntime;
  close(): Promise<void>;
}
let app: MembersApp | undefined;

async function startMembersApp(llm: ScriptedLlmClient): Promise<MembersApp> {
  const mob = await createEmbeddedMob(MobDefinition.fromToml(MOB_TOML), { llm });
  const config: MobKitConfig = { modules: [], discovery: { namespace: 'members-console', modules: [] }, preSpawn: [] };
  const runtime = await UnifiedRuntime.bootstrap(MobBootstrapSpec.fromMob(mob), config, 5_000);
  await runtime.spawnMany([
    { profile: 'lead', meerkatId: 'lead-1', labels: { display_name: 'Team Lead' } },
    { profile: 'worker', meerkatId: 'worker-1' },
  ]);
  const server = await new Promise<Server>((resolve) => {
    const s = express()
      .use(createReferenceAppRouter(runtime, decisionState(false)))
      .listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mob,
    runtime,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await runtime.shutdown();
    },
  };
}

beforeAll(async () => {
  try {
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
      timeout: 20_000,
    });
  } catch (err) {
    launchError = err;
  }
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

function needBrowser(ctx: TestContext): Browser {
  if (browser) return browser;
  const reason = `Chromium could not be started from ${executablePath}: ${launchError instanceof Error ? launchError.message.split('\n')[0] : String(launchError)}`;
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this fails instead of skipping)`);
  ctx.skip(reason);
  throw new Error('unreachable');
}

const member = (page: Page, id: string) => page.locator(`[data-testid="agent-item"][data-member-id="${id}"]`);
const kinds = (history: Locator) =>
  history.getByTestId('history-message').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
const indices = (history: Locator) =>
  history.getByTestId('history-message').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index'))));

describe('console members and history in Chromium (real member API)', () => {
  it('statuses and sessions in the list; the history pages, follows runs, and shows model text as text', async (ctx) => {
    const b = needBrowser(ctx);
    const llm = new ScriptedLlmClient({}, { fallback: { text: 'ok', usage: USAGE } });
    // Run 1 of worker-1: a peer message to the lead, a peer listing, then an answer holding markup.
    llm.script(
      'worker-1',
      { toolCalls: [{ name: 'send_message', args: { peer_id: 'lead-1', body: 'status <i>green</i>' } }], usage: USAGE },
      { text: 'listing peers', toolCalls: [{ name: 'peers' }], usage: USAGE },
      { text: HOSTILE, usage: USAGE },
    );
    app = await startMembersApp(llm);
    const page = await (await b.newContext()).newPage();
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}/console`);
    await expect.poll(() => page.getByTestId('feed-status').textContent()).toBe('live');

    // Run 1, and the lead's run on the peer message.
    await app.runtime.sendMessage('worker-1', 'first task');
    const worker = member(page, 'worker-1');
    await expect.poll(() => worker.getByTestId('member-tokens').textContent()).toBe(`tokens: ${3 * 12}`);
    expect(await worker.getByTestId('member-status').textContent()).toBe('active');
    await expect.poll(() => worker.getByTestId('member-run-state').textContent()).toBe('idle');
    expect(await worker.getByTestId('member-queued').textContent()).toBe('queued: 0');
    expect(await worker.getByTestId('member-error').count()).toBe(0);
    const sessionId = (await app.mob.getMember('worker-1'))?.sessionId;
    expect(sessionId).toEqual(expect.any(String));
    expect(await worker.getByTestId('member-session').getAttribute('data-session-id')).toBe(sessionId);

    // The history of worker-1: a readable transcript of run 1.
    await worker.getByTestId('agent-history').click();
    const history = page.getByTestId('history-view');
    expect(await history.getAttribute('data-member-id')).toBe('worker-1');
    await expect
      .poll(() => kinds(history))
      .toEqual(['user', 'assistant', 'tool_results', 'assistant', 'tool_results', 'assistant']);
    const messages = history.getByTestId('history-message');
    expect(await messages.nth(0).getByTestId('history-text').textContent()).toBe('first task');
    const call = messages.nth(1).getByTestId('history-tool-call');
    expect(await call.getAttribute('data-tool-name')).toBe('send_message');
    expect(await call.textContent()).toContain('status <i>green</i>');
    expect(await messages.nth(2).getByTestId('history-tool-result').getAttribute('data-tool-name')).toBe(
      'send_message',
    );
    expect(await messages.nth(3).getByTestId('history-text').textContent()).toBe('listing peers');
    expect(await messages.nth(4).getByTestId('history-tool-result').getAttribute('data-tool-name')).toBe('peers');
    // Model text is text: the markup shows as typed, nothing of it is an element, its handler never ran.
    expect(await messages.nth(5).getByTestId('history-text').textContent()).toBe(HOSTILE);
    expect(await history.locator('img, b, i').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserWindow).__pwned)).toBeUndefined();
    expect(await history.getByTestId('history-older').count()).toBe(0);
    expect(await history.getByTestId('history-newer').count()).toBe(0);

    // The lead got worker-1's message as a peer message.
    await member(page, 'lead-1').getByTestId('agent-history').click();
    await expect.poll(() => history.getAttribute('data-member-id')).toBe('lead-1');
    await expect.poll(() => kinds(history)).toEqual(['peer', 'assistant']);
    expect(await history.getByTestId('history-message').nth(0).textContent()).toContain('status <i>green</i>');

    // Run 2 of worker-1 while its history is open: more new messages than a page. The view reads one page
    // when the run completes (SSE) and offers the rest.
    await member(page, 'worker-1').getByTestId('agent-history').click();
    await expect.poll(() => kinds(history).then((k) => k.length)).toBe(6);
    for (let i = 0; i < LONG_RUN_CALLS; i++) llm.script('worker-1', { toolCalls: [{ name: 'peers' }], usage: USAGE });
    llm.script('worker-1', { text: 'long run done', usage: USAGE });
    await app.runtime.sendMessage('worker-1', 'second task');
    const total = 6 + 1 + 2 * LONG_RUN_CALLS + 1;
    expect(total - 6).toBeGreaterThan(SESSION_HISTORY_PAGE_SIZE);
    await expect
      .poll(() => history.getByTestId('history-range').textContent())
      .toBe(`messages 1–${6 + SESSION_HISTORY_PAGE_SIZE} of ${total}`);
    await history.getByTestId('history-newer').click();
    await expect.poll(() => history.getByTestId('history-range').textContent()).toBe(`messages 1–${total} of ${total}`);
    expect(await history.getByTestId('history-newer').count()).toBe(0);
    expect(await indices(history)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(await history.getByTestId('history-message').last().getByTestId('history-text').textContent()).toBe(
      'long run done',
    );

    // Opened again, the view starts at the newest page; "Load older" reads the rest, in order.
    await history.getByTestId('history-close').click();
    expect(await page.getByTestId('history-view').count()).toBe(0);
    await member(page, 'worker-1').getByTestId('agent-history').click();
    const from = total - SESSION_HISTORY_PAGE_SIZE;
    await expect
      .poll(() => history.getByTestId('history-range').textContent())
      .toBe(`messages ${from + 1}–${total} of ${total}`);
    expect(await indices(history)).toEqual(Array.from({ length: SESSION_HISTORY_PAGE_SIZE }, (_, i) => from + i));
    await history.getByTestId('history-older').click();
    await expect.poll(() => history.getByTestId('history-range').textContent()).toBe(`messages 1–${total} of ${total}`);
    expect(await history.getByTestId('history-message').first().getByTestId('history-text').textContent()).toBe(
      'first task',
    );
    expect(await history.getByTestId('history-older').count()).toBe(0);

    // A failed run: the status shows its error; the history follows (the prompt was committed).
    llm.script('worker-1', { error: 'the model is down' });
    await app.runtime.sendMessage('worker-1', 'third task');
    await expect
      .poll(() => member(page, 'worker-1').getByTestId('member-error').textContent())
      .toContain('the model is down');
    await expect
      .poll(() => history.getByTestId('history-message').last().getByTestId('history-text').textContent())
      .toBe('third task');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
