import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtEntry, childEnv, fixturePath } from '@mobkit/test-utils';

// Each "run" is a NEW node process on the built package, killed with SIGKILL after its sends, so a
// restart is a real one: nothing in memory survives, only the durable ledger.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const sender = fixturePath('delivery', 'keyless-sender.mjs');
let entry = '';
const dirs: string[] = [];
const children: ChildProcess[] = [];
let server: Server | undefined;

beforeAll(() => {
  entry = builtEntry(packageDir);
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

/** A loopback webhook receiver that counts requests and keeps their headers and bodies. */
async function receiver(): Promise<{ url: string; hits: Array<{ headers: IncomingHttpHeaders; body: unknown }> }> {
  const hits: Array<{ headers: IncomingHttpHeaders; body: unknown }> = [];
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: JSON.parse(text) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

interface SendLine {
  delivery_id?: string;
  status?: string;
  error?: string;
  code?: string;
}

/** Runs one sender process to `ready`, then kills it with SIGKILL; returns its per-send lines. */
async function runAndKill(mode: string, ledger: string, url: string, count: number, run: number): Promise<SendLine[]> {
  const child = spawn(process.execPath, [sender, entry, mode, ledger, url, String(count), String(run)], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.endsWith('ready\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`sender exited ${code} before ready: ${err}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', (_, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== 'ready')
    .map((l) => JSON.parse(l) as SendLine);
}

function tempLedger(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-restart-'));
  dirs.push(dir);
  return join(dir, 'ledger.jsonl');
}

describe('keyless sends across a SIGKILL restart (durable ledger, loopback webhook)', () => {
  for (const mode of ['direct', 'runtime']) {
    it(`${mode}: every keyless send after the restart reaches the sink, under a delivery id never used before`, async () => {
      const { url, hits } = await receiver();
      const ledger = tempLedger();
      const count = 5;
      const first = await runAndKill(mode, ledger, url, count, 1);
      const second = await runAndKill(mode, ledger, url, count, 2);
      for (const line of [...first, ...second]) {
        expect(line.code).toBeUndefined();
        expect(line.error).toBeUndefined();
        expect(line.status).toBe('sent');
      }
      const ids = [...first, ...second].map((l) => l.delivery_id);
      expect(new Set(ids).size).toBe(2 * count);
      // Every send is a request at the receiver, and none carries an Idempotency-Key an earlier run used.
      expect(hits).toHaveLength(2 * count);
      expect(hits.map((h) => h.body)).toEqual(
        [1, 2].flatMap((run) =>
          Array.from({ length: count }, (_, n) => expect.objectContaining({ payload: { run, n } })),
        ),
      );
      const keys = hits.map((h) => h.headers['idempotency-key']);
      expect(new Set(keys).size).toBe(2 * count);
      for (const hit of hits) {
        const body = hit.body as { delivery_id: string; idempotency_key: string | null };
        expect(hit.headers['idempotency-key']).toBe(body.idempotency_key ?? body.delivery_id);
      }
      for (const id of ids) expect(id).toMatch(/^delivery-[0-9a-z]{9}-[0-9a-z]{4,}[0-9a-f]{10}$/);
    }, 60_000);
  }
});
