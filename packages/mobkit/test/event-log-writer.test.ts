// The event log writer over a real in-memory store: gapless seqs acknowledged in order, group commit,
// counted drops with their notice, and failed appends retried without doubling anything.
import { type EventLogEntry, type EventLogInput, type EventLogPort, MobKitError, systemClock } from '@mobkit/core';
import { createMemoryStore } from '@mobkit/store';
import { describe, expect, it } from 'vitest';
import { type LogEventDraft, runtimeDraft } from '../src/event-log/entries.js';
import { EventLogWriter } from '../src/event-log/writer.js';

const draft = (n: number): LogEventDraft => runtimeDraft(`evt-${n}`, 'runtime', 'test.tick', 1_000 + n, { n });

/** An event log whose appends wait for `release()` and can be told to fail; records every batch it was given. */
function gatedLog(inner: EventLogPort) {
  const batches: EventLogInput[][] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const failures: Array<'before' | 'after'> = [];
  const log: EventLogPort = {
    ...inner,
    append: async (events) => {
      batches.push([...events]);
      await gate;
      const failure = failures.shift();
      if (failure === 'before') throw new MobKitError('StoreWriteFailed', 'disk full (test)');
      const entries = await inner.append(events);
      if (failure === 'after') throw new MobKitError('StoreWriteFailed', 'connection lost after commit (test)');
      return entries;
    },
  };
  return {
    log,
    batches,
    hold: () => {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release: () => open(),
    failNext: (...how: Array<'before' | 'after'>) => failures.push(...how),
  };
}

async function drained(writer: EventLogWriter): Promise<void> {
  expect(await writer.flush(10_000)).toBe(true);
}

describe('EventLogWriter', () => {
  it('appends with gapless seqs continuing the log and tells listeners after the append, in seq order', async () => {
    const store = createMemoryStore();
    await store.events.append([{ id: 'earlier', ...draft(0) }]);
    const writer = new EventLogWriter({ log: store.events, clock: systemClock, lastSeq: 1 });
    const seen: EventLogEntry[] = [];
    writer.subscribe((entry) => seen.push(entry));
    for (let n = 1; n <= 20; n += 1) writer.enqueue(draft(n));
    expect(seen).toEqual([]);
    await drained(writer);
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(seen.map((e) => (e.data as { event_id: string }).event_id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `evt-${i + 1}`),
    );
    expect(writer.status()).toEqual({ lastSeq: 21, pending: 0, dropped: 0 });
    const stored = await store.events.query({ limit: 100 });
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it('group commit: events queued while an append is in flight go in the next batch, at most batchSize each', async () => {
    const gated = gatedLog(createMemoryStore().events);
    const writer = new EventLogWriter({ log: gated.log, clock: systemClock, lastSeq: 0, batchSize: 4 });
    gated.hold();
    writer.enqueue(draft(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(gated.batches.map((b) => b.length)).toEqual([1]);
    for (let n = 2; n <= 11; n += 1) writer.enqueue(draft(n));
    expect(writer.status().pending).toBe(11);
    gated.release();
    await drained(writer);
    expect(gated.batches.map((b) => b.length)).toEqual([1, 4, 4, 2]);
    expect(writer.status()).toEqual({ lastSeq: 11, pending: 0, dropped: 0 });
  });

  it('a full queue drops and counts, then appends one event_log.dropped notice with the count; nothing else is lost', async () => {
    const store = createMemoryStore();
    const gated = gatedLog(store.events);
    const writer = new EventLogWriter({ log: gated.log, clock: systemClock, lastSeq: 0, queueCapacity: 3 });
    const seen: EventLogEntry[] = [];
    writer.subscribe((entry) => seen.push(entry));
    gated.hold();
    const accepted = Array.from({ length: 10 }, (_, i) => writer.enqueue(draft(i + 1)));
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(writer.status()).toMatchObject({ dropped: 7, pending: 3 });
    gated.release();
    await drained(writer);
    const types = seen.map((e) => e.eventType);
    expect(types).toEqual(['test.tick', 'test.tick', 'test.tick', 'event_log.dropped']);
    const notice = seen[3]?.data as { event: { payload: unknown; module: string } };
    expect(notice.event).toMatchObject({ module: 'runtime', payload: { dropped: 7, total_dropped: 7 } });
    expect(seen[3]?.kind).toBe('runtime');
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(writer.status()).toEqual({ lastSeq: 4, pending: 0, dropped: 7 });
    // A second burst reports only its own drops in the next notice; the total keeps counting.
    gated.hold();
    for (let n = 11; n <= 15; n += 1) writer.enqueue(draft(n));
    gated.release();
    await drained(writer);
    const last = seen.at(-1)?.data as { event: { payload: unknown } };
    expect(last.event.payload).toEqual({ dropped: 2, total_dropped: 9 });
    expect(writer.status().dropped).toBe(9);
  });

  it('a failed append is retried with the same ids, reported each time, and acknowledged once', async () => {
    const store = createMemoryStore();
    const gated = gatedLog(store.events);
    const failures: string[] = [];
    const writer = new EventLogWriter({
      log: gated.log,
      clock: systemClock,
      lastSeq: 0,
      onFlushFailure: (error) => failures.push((error as MobKitError).code),
    });
    const seen: number[] = [];
    writer.subscribe((entry) => seen.push(entry.seq));
    // The first attempt fails before writing; the second writes and then loses its answer.
    gated.failNext('before', 'after');
    for (let n = 1; n <= 5; n += 1) writer.enqueue(draft(n));
    await drained(writer);
    expect(failures).toEqual(['StoreWriteFailed', 'StoreWriteFailed']);
    expect(gated.batches).toHaveLength(4); // fail, lose the answer, land; then the outage notice
    expect(gated.batches[2]?.map((e) => e.id)).toEqual(gated.batches[0]?.map((e) => e.id));
    // After the five, the outage itself is logged: two failed attempts, the last error's code.
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    const stored = await store.events.query({ limit: 100 });
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stored[5]).toMatchObject({ kind: 'runtime', eventType: 'event_log.flush_failed' });
    expect((stored[5]?.data as { event?: { payload?: unknown } } | undefined)?.event?.payload).toMatchObject({
      failed_attempts: 2,
      code: 'StoreWriteFailed',
    });
    expect(writer.status()).toEqual({ lastSeq: 6, pending: 0, dropped: 0 });
  });

  it('close flushes what is queued; a store that never recovers leaves the count unwritten and nothing acknowledged', async () => {
    const gated = gatedLog(createMemoryStore().events);
    const writer = new EventLogWriter({ log: gated.log, clock: systemClock, lastSeq: 0 });
    const seen: number[] = [];
    writer.subscribe((entry) => seen.push(entry.seq));
    gated.failNext(...Array.from({ length: 100 }, () => 'before' as const));
    writer.enqueue(draft(1));
    writer.enqueue(draft(2));
    expect(await writer.close(200)).toBe(2);
    expect(seen).toEqual([]);
    expect(writer.enqueue(draft(3))).toBe(false);
  });
});
