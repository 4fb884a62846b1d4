import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DELIVERY_ID_PATTERN, DeliveryService, FileLedger, MemorySink, type LedgerEntry } from '../src/index.js';
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

describe('durable JSONL ledger', () => {
  it('writes begin and record lines per delivery', async () => {
    const path = tempLedger();
    const issuer = new Issuer();
    const delivery = await DeliveryService.open({
      sinks: { memory: new MemorySink() },
      trusted: issuer,
      ledgerPath: path,
    });
    const sent = await delivery.send({
      resolution: issuer.issue({ recipient: 'a' }),
      payload: { n: 1 },
      idempotencyKey: 'k',
    });
    await delivery.close();
    expect(sent.deliveryId).toMatch(DELIVERY_ID_PATTERN);
    const entries = lines(path);
    expect(entries.map((e) => e.kind)).toEqual(['begin', 'record']);
    expect(entries[1]).toMatchObject({
      kind: 'record',
      record: { delivery_id: sent.deliveryId, status: 'sent', idempotency_key: 'k' },
      resolution: { route_id: 'route-000000' },
    });
  });

  it('a restarted service on the same ledger replays a known key instead of sending again', async () => {
    const path = tempLedger();
    const firstSink = new MemorySink();
    const issuer1 = new Issuer();
    const run1 = await DeliveryService.open({ sinks: { memory: firstSink }, trusted: issuer1, ledgerPath: path });
    const r1 = issuer1.issue({ recipient: 'user@example.com' });
    const original = await run1.send({ resolution: r1, payload: { text: 'once' }, idempotencyKey: 'order-42' });
    const other = await run1.send({ resolution: r1, payload: { text: 'other' } });
    await run1.close();

    // Restart: a fresh router issues the same route again (ids restart), a fresh sink.
    const secondSink = new MemorySink();
    const issuer2 = new Issuer();
    const run2 = await DeliveryService.open({ sinks: { memory: secondSink }, trusted: issuer2, ledgerPath: path });
    const r2 = issuer2.issue({ recipient: 'user@example.com' });
    expect(r2).toEqual(r1);
    const replayed = await run2.send({ resolution: r2, payload: { text: 'once' }, idempotencyKey: 'order-42' });
    expect(replayed).toEqual(original);
    expect(secondSink.attempts).toHaveLength(0);
    expect(await codeOf(run2.send({ resolution: r2, payload: { text: 'changed' }, idempotencyKey: 'order-42' }))).toBe(
      'IdempotencyPayloadMismatch',
    );
    // History survived, and a new delivery gets an id no earlier run used.
    expect(run2.history().map((r) => r.deliveryId)).toEqual([original.deliveryId, other.deliveryId]);
    const fresh = (await run2.send({ resolution: r2, payload: 3 })).deliveryId;
    expect(fresh).toMatch(DELIVERY_ID_PATTERN);
    expect([original.deliveryId, other.deliveryId]).not.toContain(fresh);
    await run2.close();
  });

  it('after a restart, a key on a route id that now names another resolution is a new delivery', async () => {
    const path = tempLedger();
    const issuer1 = new Issuer();
    const run1 = await DeliveryService.open({
      sinks: { memory: new MemorySink() },
      trusted: issuer1,
      ledgerPath: path,
    });
    await run1.send({ resolution: issuer1.issue({ recipient: 'alice' }), payload: 1, idempotencyKey: 'k' });
    await run1.close();
    const sink = new MemorySink();
    const issuer2 = new Issuer();
    const run2 = await DeliveryService.open({ sinks: { memory: sink }, trusted: issuer2, ledgerPath: path });
    const bob = issuer2.issue({ recipient: 'bob' }); // route-000000 again, but for bob
    const record = await run2.send({ resolution: bob, payload: 1, idempotencyKey: 'k' });
    expect(record.recipient).toBe('bob');
    expect(sink.messages).toHaveLength(1);
    await run2.close();
  });

  it('tolerates a torn last line: drops it, cuts it off, keeps appending cleanly', async () => {
    const path = tempLedger();
    const issuer = new Issuer();
    const run1 = await DeliveryService.open({ sinks: { memory: new MemorySink() }, trusted: issuer, ledgerPath: path });
    const r = issuer.issue({ recipient: 'a' });
    const first = await run1.send({ resolution: r, payload: 1, idempotencyKey: 'k' });
    await run1.close();
    appendFileSync(path, '{"kind":"record","record":{"delivery_id":"deliv');
    const ledger = await FileLedger.open(path);
    expect(ledger.repairedTornLine).toBe(true);
    const sink = new MemorySink();
    const run2 = new DeliveryService({ sinks: { memory: sink }, trusted: issuer, ledger });
    expect((await run2.send({ resolution: r, payload: 1, idempotencyKey: 'k' })).deliveryId).toBe(first.deliveryId);
    await run2.send({ resolution: r, payload: 2 });
    await run2.close();
    expect(sink.attempts).toHaveLength(1);
    expect(lines(path).map((e) => e.kind)).toEqual(['begin', 'record', 'begin', 'record']);
  });

  it('an unreadable line before the last is LedgerCorrupt naming the line', async () => {
    const path = tempLedger();
    writeFileSync(path, '{"kind":"begin"}\nnot json\n{"kind":"begin"}\n');
    await expect(FileLedger.open(path)).rejects.toMatchObject({ code: 'LedgerCorrupt', details: { line: 2 } });
  });

  it('a delivery interrupted mid-flight replays as failed and is never sent a second time', async () => {
    const path = tempLedger();
    const issuer = new Issuer();
    const r = issuer.issue({ recipient: 'a' });
    const begin = {
      kind: 'begin',
      delivery_id: 'delivery-000000',
      resolution: {
        route_id: r.routeId,
        recipient: 'a',
        channel: 'notification',
        sink: 'memory',
        target_module: 'delivery',
        retry_max: 1,
        backoff_ms: 0,
        rate_limit_per_minute: 100,
      },
      payload: { n: 1 },
      idempotency_key: 'k',
      at_ms: Date.now(), // within the key's retention (24 h by default)
    };
    writeFileSync(path, `${JSON.stringify(begin)}\n`);
    const sink = new MemorySink();
    const delivery = await DeliveryService.open({ sinks: { memory: sink }, trusted: issuer, ledgerPath: path });
    const record = await delivery.send({ resolution: r, payload: { n: 1 }, idempotencyKey: 'k' });
    expect(record.status).toBe('failed');
    expect(record.attempts[0]?.error).toMatch(/interrupted/);
    expect(sink.attempts).toHaveLength(0);
    await delivery.close();
    expect(lines(path).map((e) => e.kind)).toEqual(['begin', 'record']);
  });
});

describe('FileLedger group commit', () => {
  it('concurrent appends all land, in order, each resolved only after its fsync', async () => {
    const path = tempLedger();
    const ledger = await FileLedger.open(path);
    const entries = Array.from({ length: 50 }, (_, i) => ({
      kind: 'begin' as const,
      delivery_id: `delivery-${String(i).padStart(6, '0')}`,
      resolution: {
        route_id: 'r',
        recipient: 'a',
        channel: 'c',
        sink: 's',
        target_module: 'delivery',
        retry_max: 0,
        backoff_ms: 0,
        rate_limit_per_minute: 1,
      },
      payload: i,
      at_ms: i,
    }));
    await Promise.all(entries.map((e) => ledger.append(e)));
    await ledger.close();
    expect(lines(path).map((e) => (e as { payload: number }).payload)).toEqual(entries.map((_, i) => i));
    await expect(ledger.append(entries[0] as LedgerEntry)).rejects.toMatchObject({ code: 'LedgerWriteFailed' });
  });
});
