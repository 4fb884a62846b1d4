import {
  type EventLogEntry,
  MobKitError,
  type MobKitStore,
  parseJsonText,
  parseWithSchema,
  type StoreJson,
} from '@mobkit/core';
import { z } from 'zod';
import {
  claimLine,
  endLine,
  eventLine,
  headerLine,
  recordLine,
  STORE_EXPORT_FORMAT,
  STORE_EXPORT_VERSION,
  type StoreTransferCounts,
} from './format.js';

/** How many events one `restore` call writes. */
const BATCH = 1_000;

const bodyLine = z.discriminatedUnion('type', [eventLine, recordLine, claimLine, endLine]);

/** Options of {@link importStore}. */
export interface ImportStoreOptions {
  /** The time live claims' remaining TTL is measured from (default `Date.now()`). */
  nowMs?: number;
}

function invalid(lineNo: number, message: string, details: Record<string, unknown> = {}): MobKitError {
  return new MobKitError('InvalidInput', `store import, line ${lineNo}: ${message}`, {
    details: { line: lineNo, ...details },
  });
}

/** Refuses a target that already holds events or records (an import never merges). */
async function assertEmpty(store: MobKitStore): Promise<void> {
  const bounds = await store.events.bounds();
  const namespaces = await store.records.namespaces();
  if (bounds.lastSeq === 0 && bounds.count === 0 && namespaces.length === 0) return;
  throw new MobKitError(
    'InvalidInput',
    `store import needs an empty target, but ${store.info.kind} store ${store.info.location} already holds ${bounds.count} event(s) (last seq ${bounds.lastSeq}) and records in ${namespaces.length} namespace(s); import into a new store`,
    {
      details: {
        location: store.info.location,
        events: bounds.count,
        lastSeq: bounds.lastSeq,
        namespaces: namespaces.length,
      },
    },
  );
}

/**
 * Reads an export written by {@link exportStore} into `store`, which must be EMPTY (no events, no
 * records, and no live claims in the namespaces the file claims in; `InvalidInput` otherwise, before
 * anything is written). Events keep their seqs (through `events.restore`), so SSE `Last-Event-ID`s
 * stay valid; records are put again, so their **versions restart at 1** and `updatedAtMs` is the
 * import's time; claims that are still live keep their owner and the rest of their TTL (their
 * `claimedAtMs` is the import's time). Lines are checked one by one (`InvalidInput` naming the line);
 * a file without its end line, or whose counts differ from it, is refused at the end — what was
 * imported before that stays, so import into a fresh store and discard it on failure.
 */
export async function importStore(
  store: MobKitStore,
  lines: AsyncIterable<string> | Iterable<string>,
  options: ImportStoreOptions = {},
): Promise<StoreTransferCounts> {
  await assertEmpty(store);
  const nowMs = options.nowMs ?? Date.now();
  const counts: StoreTransferCounts = { events: 0, records: 0, claims: 0 };
  const checkedClaimNamespaces = new Set<string>();
  let pending: EventLogEntry[] = [];
  const flush = async () => {
    if (pending.length > 0) await store.events.restore(pending);
    pending = [];
  };
  let lineNo = 0;
  let sawHeader = false;
  let end: z.output<typeof endLine> | undefined;
  for await (const raw of lines) {
    lineNo += 1;
    const text = raw.trim();
    if (text === '') continue;
    if (end !== undefined) throw invalid(lineNo, 'a line after the end line');
    const value = parseJsonText(text, `store import line ${lineNo}`);
    if (!sawHeader) {
      const header = parseWithSchema(headerLine, value, {
        what: `store import header (line ${lineNo})`,
        code: 'InvalidInput',
      });
      if (header.version > STORE_EXPORT_VERSION) {
        throw invalid(
          lineNo,
          `the export is format version ${header.version}; this MobKit reads ${STORE_EXPORT_FORMAT} up to version ${STORE_EXPORT_VERSION}: upgrade MobKit`,
        );
      }
      sawHeader = true;
      continue;
    }
    const line = parseWithSchema(bodyLine, value, { what: `store import line ${lineNo}`, code: 'InvalidInput' });
    switch (line.type) {
      case 'event':
        pending.push({
          seq: line.seq,
          id: line.id,
          timestampMs: line.timestamp_ms,
          memberId: line.member_id,
          kind: line.kind,
          eventType: line.event_type,
          data: line.data as StoreJson,
        });
        counts.events += 1;
        if (pending.length >= BATCH) await flush();
        break;
      case 'record':
        await flush();
        await store.records.put(line.namespace, line.key, line.value as StoreJson, {
          expectedVersion: 0,
          ...(line.index === undefined ? {} : { index: line.index }),
          ...(line.range === undefined ? {} : { range: line.range }),
          ...(line.text === undefined ? {} : { text: line.text }),
        });
        counts.records += 1;
        break;
      case 'claim': {
        await flush();
        if (!checkedClaimNamespaces.has(line.namespace)) {
          if ((await store.claims.list(line.namespace, { limit: 1 })).length > 0) {
            throw invalid(
              lineNo,
              `the target already holds claims in namespace ${line.namespace}; import into a new store`,
            );
          }
          checkedClaimNamespaces.add(line.namespace);
        }
        counts.claims += 1;
        if (line.expires_at_ms !== undefined && line.expires_at_ms <= nowMs) break;
        const ttl = line.expires_at_ms === undefined ? {} : { ttlMs: line.expires_at_ms - nowMs };
        await store.claims.claim(line.namespace, line.key, line.owner, ttl);
        break;
      }
      case 'end':
        await flush();
        end = line;
        break;
    }
  }
  if (!sawHeader) throw invalid(lineNo, `no header line: this is not a ${STORE_EXPORT_FORMAT} file`);
  if (end === undefined) throw invalid(lineNo, 'the file ends without its end line: it was cut off; export again');
  const { type: _type, ...expected } = end;
  if (expected.events !== counts.events || expected.records !== counts.records || expected.claims !== counts.claims) {
    throw invalid(
      lineNo,
      `the end line counts ${JSON.stringify(expected)}, but the file holds ${JSON.stringify(counts)}`,
    );
  }
  return counts;
}
