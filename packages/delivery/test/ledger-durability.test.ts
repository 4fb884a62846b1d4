import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtEntry, childEnv, fixturePath } from '@mobkit/test-utils';
import {
  DeliveryService,
  FileLedger,
  type LedgerEntry,
  type LedgerFile,
  MemorySink,
  type SinkMessage,
} from '../src/index.js';
import { Issuer, codeOf } from './fixtures.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});
function tempLedger(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-ledger-'));
  dirs.push(dir);
  return join(dir, 'delivery.jsonl');
}
function lines(path: string): LedgerEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LedgerEntry);
}

/**
 * A real file whose writes the test controls: at most `maxChunk` bytes per write (a short write),
 * and, while `full` is set, a write puts half of what it was given on disk and then fails with
 * ENOSPC (a disk that fills up mid-write).
 */
function faultyFile(options: { maxChunk?: number } = {}) {
  const state = { full: false, writes: 0 };
  const openFile = async (path: string): Promise<LedgerFile> => {
    const real = await open(path, 'a');
    return {
      async write(buffer, offset, length) {
        state.writes++;
        const n = Math.min(length, options.maxChunk ?? length);
        if (state.full) {
          await real.write(buffer, offset, Math.max(1, Math.floor(n / 2)));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return real.write(buffer, offset, n);
      },
      sync: () => real.sync(),
      truncate: (len) => real.truncate(len),
      close: () => real.close(),
    };
  };
  return { state, openFile };
}

describe('FileLedger on a failing disk (injected file)', () => {
  it('short writes: loops until every byte of each line is written', async () => {
    const path = tempLedger();
    const { state, openFile } = faultyFile({ maxChunk: 7 });
    const issuer = new Issuer();
    const ledger = await FileLedger.open(path, { openFile });
    const delivery = new DeliveryService({ sinks: { memory: new MemorySink() }, trusted: issuer, ledger });
    const r = issuer.issue({ recipient: 'a' });
    const sent = await Promise.all([1, 2, 3].map((n) => delivery.send({ resolution: r, payload: { n } })));
    await delivery.close();
    expect(state.writes).toBeGreaterThan(20); // each line took many short writes
    const entries = lines(path);
    expect(entries.filter((e) => e.kind === 'record').map((e) => e.kind === 'record' && e.record.delivery_id)).toEqual(
      expect.arrayContaining(sent.map((s) => s.deliveryId)),
    );
    expect(entries).toHaveLength(6);
  });

  it('ENOSPC mid-write: the send is not acknowledged, the torn bytes are cut off, and a restart replays only what was acknowledged', async () => {
    const path = tempLedger();
    const { state, openFile } = faultyFile();
    const issuer = new Issuer();
    const sink = new MemorySink();
    let onSend: (() => void) | undefined;
    const hooked = {
      adapter: 'memory',
      send: (m: SinkMessage) => {
        onSend?.();
        return sink.send(m);
      },
    };
    const ledger = await FileLedger.open(path, { openFile });
    const delivery = new DeliveryService({ sinks: { memory: hooked }, trusted: issuer, ledger });
    const r = issuer.issue({ recipient: 'a' });
    const a = await delivery.send({ resolution: r, payload: 'a', idempotencyKey: 'a' });
    // The disk fills up while B is at the sink: its record line is torn and fails.
    onSend = () => {
      state.full = true;
    };
    const failed = delivery.send({ resolution: r, payload: 'b', idempotencyKey: 'b' });
    await expect(failed).rejects.toMatchObject({ code: 'LedgerWriteFailed' });
    onSend = undefined;
    expect(sink.messages).toHaveLength(2); // B reached the sink once …
    // … but is not in memory as sent: a retry under its key is not a second send.
    state.full = false;
    const retried = await delivery.send({ resolution: r, payload: 'b', idempotencyKey: 'b' });
    expect(retried.status).toBe('failed');
    expect(sink.messages).toHaveLength(2);
    const c = await delivery.send({ resolution: r, payload: 'c', idempotencyKey: 'c' });
    await delivery.close();

    // Restart on the same file: it opens (no torn fragment before later lines), A and C are sent, B is not.
    const reopened = await FileLedger.open(path);
    expect(reopened.repairedTornLine).toBe(false);
    const sink2 = new MemorySink();
    const run2 = new DeliveryService({ sinks: { memory: sink2 }, trusted: issuer, ledger: reopened });
    const byId = new Map(run2.history().map((x) => [x.deliveryId, x.status]));
    expect(byId.get(a.deliveryId)).toBe('sent');
    expect(byId.get(c.deliveryId)).toBe('sent');
    expect([...byId.values()].filter((s) => s === 'sent')).toHaveLength(2);
    for (const key of ['a', 'b', 'c']) await run2.send({ resolution: r, payload: key, idempotencyKey: key });
    expect(sink2.messages).toHaveLength(0);
    await run2.close();
  });

  it('a torn write of a begin line fails the send before any attempt and leaves the file clean', async () => {
    const path = tempLedger();
    const { state, openFile } = faultyFile();
    const issuer = new Issuer();
    const sink = new MemorySink();
    const delivery = new DeliveryService({
      sinks: { memory: sink },
      trusted: issuer,
      ledger: await FileLedger.open(path, { openFile }),
    });
    const r = issuer.issue({ recipient: 'a' });
    state.full = true;
    expect(await codeOf(delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' }))).toBe('LedgerWriteFailed');
    expect(sink.attempts).toHaveLength(0);
    expect(readFileSync(path, 'utf8')).toBe('');
    state.full = false;
    expect((await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' })).status).toBe('sent');
    await delivery.close();
    expect(lines(path).map((e) => e.kind)).toEqual(['begin', 'record']);
  });
});

describe('FileLedger.open repairs a torn fragment followed by later lines', () => {
  it('keeps the entries before and after the fragment, rewrites the file without it, and appends cleanly', async () => {
    const path = tempLedger();
    const issuer = new Issuer();
    const run1 = await DeliveryService.open({ sinks: { memory: new MemorySink() }, trusted: issuer, ledgerPath: path });
    const r = issuer.issue({ recipient: 'a' });
    const first = await run1.send({ resolution: r, payload: 1, idempotencyKey: 'k1' });
    await run1.close();
    const [begin, record] = readFileSync(path, 'utf8').trim().split('\n') as [string, string];
    // What an older writer left after a failed write: a fragment with the next complete line glued to it.
    writeFileSync(path, `${begin}\n${record.slice(0, 40)}${record}\n`);
    const ledger = await FileLedger.open(path);
    expect(ledger.repairedTornFragments).toBe(1);
    expect([...ledger.replay()].map((e) => e.kind)).toEqual(['begin', 'record']);
    const sink = new MemorySink();
    const run2 = new DeliveryService({ sinks: { memory: sink }, trusted: issuer, ledger });
    expect(await run2.send({ resolution: r, payload: 1, idempotencyKey: 'k1' })).toEqual(first);
    await run2.send({ resolution: r, payload: 2 });
    await run2.close();
    expect(sink.attempts).toHaveLength(1);
    expect(lines(path).map((e) => e.kind)).toEqual(['begin', 'record', 'begin', 'record']);
  });
});

describe('FileLedger killed mid-write (SIGKILL of a child process)', () => {
  let entry = '';
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  beforeAll(() => {
    entry = builtEntry(packageDir);
  }, 240_000);

  it('after a restart every acknowledged entry is there and nothing half-written is', async () => {
    const path = tempLedger();
    const child = spawn(process.execPath, [fixturePath('delivery', 'ledger-writer.mjs'), entry, path], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked = new Set<number>();
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const done = out.lastIndexOf('\n');
        for (const l of out.slice(0, done + 1).split('\n')) if (l.startsWith('acked ')) acked.add(Number(l.slice(6)));
        out = out.slice(done + 1);
        if (acked.size >= 40) resolve();
      });
      child.on('exit', (code) => reject(new Error(`writer exited ${code}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', (_, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const ledger = await FileLedger.open(path);
    const found = new Set([...ledger.replay()].map((e) => Number((e as { at_ms: number }).at_ms)));
    for (const i of acked) expect(found.has(i)).toBe(true);
    await ledger.close();
    // What is on disk now is whole lines only.
    const text = readFileSync(path, 'utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    for (const l of text.split('\n').filter((x) => x !== '')) expect(() => JSON.parse(l)).not.toThrow();
  }, 60_000);
});
