// Drives the console in real Chromium (playwright-core with the system's Chromium: CHROMIUM_PATH or
// /usr/bin/chromium). With `CI` set, a browser that cannot start FAILS the test; without `CI` the tests
// are skipped with the reason. Needs the built console script (`dist/console/console-app.js`): the root
// `npm test` builds first; locally run `npx tsup` in this package before.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { defaultConsoleAssetsDir } from '../src/index.js';
import { signToken, startTestApp, type TestApp } from './helpers.js';

/** The part of the page's `window` these tests read (the test is compiled without the DOM lib). */
interface BrowserWindow {
  sessionStorage: { getItem(key: string): string | null };
}

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let browser: Browser | undefined;
let launchError: unknown;
const apps: TestApp[] = [];

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
  for (const a of apps.splice(0)) await a.close();
});

/** The browser, or: under CI a failure, otherwise a skip with the reason. */
function needBrowser(ctx: TestContext): Browser {
  if (browser) return browser;
  const reason = `Chromium could not be started from ${executablePath}: ${launchError instanceof Error ? launchError.message.split('\n')[0] : String(launchError)}`;
  if (process.env.CI)
    throw new Error(
      `${reason} (CI is set, so this fails instead of skipping; install the Debian chromium package or set CHROMIUM_PATH)`,
    );
  ctx.skip(reason);
  throw new Error('unreachable');
}

async function newPage(b: Browser): Promise<Page> {
  const context = await b.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

describe('console in Chromium', () => {
  it('the console bundle is built', () => {
    expect(existsSync(`${defaultConsoleAssetsDir()}console-app.js`)).toBe(true);
  });

  it('auth off: lists the members, the activity feed receives events, the chat box gets a reply', async (ctx) => {
    const b = needBrowser(ctx);
    const app = await startTestApp();
    apps.push(app);
    const page = await newPage(b);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}/console`);

    // Agents with their profile, state, wiring and labels.
    const items = page.getByTestId('agent-item');
    await expect.poll(() => items.count()).toBe(4);
    expect(await page.getByTestId('console-loading').count()).toBe(0);
    expect(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-member-id')))).toEqual([
      'auditor-1',
      'lead-1',
      'worker-1',
      'worker-2',
    ]);
    const lead = page.locator('[data-testid="agent-item"][data-member-id="lead-1"]');
    await expect.poll(() => lead.getByTestId('agent-label').textContent()).toBe('Team Lead');
    expect(await lead.getByTestId('agent-profile').textContent()).toBe('lead');
    expect(await lead.getByTestId('agent-state').textContent()).toBe('active');
    expect(await lead.getByTestId('agent-wiring').textContent()).toContain('worker-1');
    expect(await lead.getByTestId('agent-labels').textContent()).toContain('display_name=Team Lead');
    // Modules and their health.
    const mod = page.locator('[data-testid="module-item"][data-module-id="beacon"]');
    await expect.poll(() => mod.getByTestId('module-state').textContent()).toBe('Healthy');
    expect(await page.getByTestId('runtime-running').textContent()).toBe('modules running');

    // The live activity feed over SSE.
    await expect.poll(() => page.getByTestId('feed-status').textContent()).toBe('live');
    await app.mob.sendMessage('worker-1', 'work from the host');
    const workerEvent = page.locator(
      '[data-testid="activity-item"][data-member-id="worker-1"][data-event-type="run_completed"]',
    );
    await expect.poll(() => workerEvent.count()).toBe(1);
    expect(await workerEvent.textContent()).toContain('pong');

    // The chat box: only members that accept messages are offered; the reply streams in.
    const options = await page
      .getByTestId('chat-member')
      .locator('option')
      .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    expect(options).toEqual(['lead-1', 'worker-1']);
    await page.getByTestId('chat-member').selectOption('lead-1');
    await page.getByTestId('chat-input').fill('hello from the browser');
    await page.getByTestId('chat-send').click();
    await expect.poll(() => page.getByTestId('chat-status').textContent()).toBe('done');
    expect(await page.getByTestId('chat-reply').textContent()).toBe('pong');
    // The chat's run shows up in the activity feed too.
    await expect
      .poll(() =>
        page.locator('[data-testid="activity-item"][data-member-id="lead-1"][data-event-type="run_started"]').count(),
      )
      .toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('auth on: asks for a token, then works with it (kept in sessionStorage, sent as Bearer)', async (ctx) => {
    const b = needBrowser(ctx);
    const app = await startTestApp({ requireAppAuth: true, withModule: false });
    apps.push(app);
    const page = await newPage(b);
    await page.goto(`${app.url}/console`);
    await page.getByTestId('auth-required').waitFor();
    await expect.poll(() => page.getByTestId('auth-error').textContent()).toBe('unauthorized: missing_credentials');

    // A token of someone not on the allowlist is refused with the reason.
    await page.getByTestId('token-input').fill(await signToken('stranger@example.com'));
    await page.getByTestId('token-save').click();
    await expect.poll(() => page.getByTestId('auth-error').textContent()).toBe('unauthorized: email_not_allowlisted');

    const token = await signToken();
    await page.getByTestId('token-input').fill(token);
    await page.getByTestId('token-save').click();
    await expect.poll(() => page.getByTestId('agent-item').count()).toBe(4);
    const tokenInTab = await page.evaluate(
      (key) => (globalThis as unknown as BrowserWindow).sessionStorage.getItem(key),
      'mobkit.console.token',
    );
    expect(tokenInTab).toBe(token);
    await expect.poll(() => page.getByTestId('feed-status').textContent()).toBe('live');

    await page.getByTestId('chat-input').fill('hello with a token');
    await page.getByTestId('chat-send').click();
    await expect.poll(() => page.getByTestId('chat-status').textContent()).toBe('done');
    expect(await page.getByTestId('chat-reply').textContent()).toBe('pong');
    await expect
      .poll(() => page.locator('[data-testid="activity-item"][data-event-type="run_completed"]').count())
      .toBeGreaterThan(0);

    // A reload keeps the token for the tab; ?auth_token= also works and is removed from the address bar.
    await page.reload();
    await expect.poll(() => page.getByTestId('agent-item').count()).toBe(4);
    const fresh = await newPage(b);
    await fresh.goto(`${app.url}/console?auth_token=${encodeURIComponent(token)}`);
    await expect.poll(() => fresh.getByTestId('agent-item').count()).toBe(4);
    expect(fresh.url()).toBe(`${app.url}/console`);
    await fresh.context().close();
    await page.context().close();
  }, 30_000);
});
