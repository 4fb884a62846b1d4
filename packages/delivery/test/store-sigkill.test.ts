import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtEntry, childEnv } from '@mobkit/test-utils';
import { IN_DOUBT_ERROR } from '../src/index.js';

// Real processes on the built packages: a sender is SIGKILLed mid-burst, and a new one on the same
// SQLite file sends the same burst again. Only what the store holds survives.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const storeDir = fileURLToPath(new URL('../../store/', import.meta.url));
const sender = fileURLToPath(new URL('./store-sender.mjs', import.meta.url));
let deliveryEntry = '';
let storeEntry = '';
const children: ChildProcess[] = [];
const dirs: string[] = [];
let server: Server | undefined;

beforeAll(() => {
  deliveryEntry = builtEntry(packageDir);
  storeEntry = builtEntry(storeDir);
}, 240_000);

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  }
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

interface Ack {
  key: string;
  delivery_id: string;
  status: string;
  error?: string;
}

/** Runs a sender; with `killAfter`, SIGKILLs it once that many sends were acknowledged. */
async function run(db: string, url: string, count: number, killAfter?: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [sender, deliveryEntry, storeEntry, db, url, String(count), '16'], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const acks = () => out.split('\n').filter((l) => l.startsWith('{'));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (killAfter !== undefined && acks().length >= killAfter && child.exitCode === null) {
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (killAfter !== undefined ? signal === 'SIGKILL' : code === 0) resolve();
      else reject(new Error(`sender exited ${code ?? signal}: ${err}`));
    });
  });
  if (killAfter === undefined) expect(out.endsWith('done\n')).toBe(true);
  // A line cut by the kill is not an acknowledgement.
  return acks().flatMap((l) => {
    try {
      return [JSON.parse(l) as Ack];
    } catch {
      return [];
    }
  });
}

describe('store-backed delivery survives SIGKILL mid-burst (SQLite)', () => {
  it('the same burst sent again after a kill: 0 duplicates at the sink, 0 lost acknowledged sends', async () => {
    const received = new Map<string, number>();
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const key = String(req.headers['idempotency-key']);
        received.set(key, (received.get(key) ?? 0) + 1);
        // A little latency, so the kill lands with sends in flight.
        setTimeout(() => res.writeHead(204).end(), 2);
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const dir = mkdtempSync(join(tmpdir(), 'mobkit-delivery-sigkill-'));
    dirs.push(dir);
    const db = join(dir, 'state.db');
    const count = 400;

    const first = await run(db, url, count, 120);
    expect(first.length).toBeGreaterThanOrEqual(120);
    expect(first.length).toBeLessThan(count);
    const second = await run(db, url, count);

    // 0 duplicates: no key reached the sink twice.
    expect([...received.entries()].filter(([, n]) => n > 1)).toEqual([]);
    // 0 lost acknowledged sends: each was received, and the rerun answers the same delivery.
    const again = new Map(second.map((a) => [a.key, a]));
    expect(again.size).toBe(count);
    for (const ack of first) {
      expect(ack.status).toBe('sent');
      expect(received.get(ack.key)).toBe(1);
      expect(again.get(ack.key)?.delivery_id).toBe(ack.delivery_id);
    }
    // Every send of the rerun is sent, or in doubt (begun when the first sender died; never re-sent).
    const inDoubt = second.filter((a) => a.status !== 'sent');
    for (const a of inDoubt) expect(a).toMatchObject({ status: 'failed', error: IN_DOUBT_ERROR });
    expect(inDoubt.length).toBeLessThanOrEqual(16);
    for (const a of second) if (a.status === 'sent') expect(received.get(a.key)).toBe(1);
  }, 120_000);
});
