import type { MobKitStore } from '@mobkit/core';
import {
  STORE_EXPORT_FORMAT,
  STORE_EXPORT_VERSION,
  type StoreExportClaim,
  type StoreExportEvent,
  type StoreExportHeader,
  type StoreExportRecord,
  type StoreTransferCounts,
} from './format.js';

/** How many entries each read of the source asks for. */
const PAGE = 1_000;

/** Options of {@link exportStore}. */
export interface ExportStoreOptions {
  /** The export's `exported_at_ms` (default `Date.now()`). */
  nowMs?: number;
}

/**
 * Writes every part of `store` as JSON lines through `write` (one call per line, no newline; awaited,
 * so a slow file or socket holds the export back): a header (format, version, source), every event
 * with its seq, every record of every namespace with its index, range and text, the live claims of every namespace,
 * and an end line with the counts. Uses only the ports, so it works on every adapter; the result
 * imports with {@link importStore}. Leases are not exported (they are elections, held for seconds).
 * Resolves with the counts.
 */
export async function exportStore(
  store: MobKitStore,
  write: (line: string) => void | Promise<void>,
  options: ExportStoreOptions = {},
): Promise<StoreTransferCounts> {
  const emit = async (line: object) => {
    await write(JSON.stringify(line));
  };
  const header: StoreExportHeader = {
    type: 'header',
    format: STORE_EXPORT_FORMAT,
    version: STORE_EXPORT_VERSION,
    source_kind: store.info.kind,
    source_location: store.info.location,
    source_schema_version: store.info.schemaVersion,
    exported_at_ms: options.nowMs ?? Date.now(),
  };
  await emit(header);
  const counts: StoreTransferCounts = { events: 0, records: 0, claims: 0 };

  for (let afterSeq = 0; ; ) {
    const page = await store.events.query({ afterSeq, limit: PAGE, order: 'asc' });
    for (const entry of page) {
      const line: StoreExportEvent = {
        type: 'event',
        seq: entry.seq,
        id: entry.id,
        timestamp_ms: entry.timestampMs,
        member_id: entry.memberId,
        kind: entry.kind,
        event_type: entry.eventType,
        data: entry.data,
      };
      await emit(line);
      counts.events += 1;
      afterSeq = entry.seq;
    }
    if (page.length === 0) break;
  }

  const namespaces = await store.records.namespaces();
  for (const namespace of namespaces) {
    for (let afterKey: string | undefined; ; ) {
      const page = await store.records.list(namespace, {
        limit: PAGE,
        ...(afterKey === undefined ? {} : { afterKey }),
      });
      for (const record of page) {
        const line: StoreExportRecord = {
          type: 'record',
          namespace,
          key: record.key,
          value: record.value,
          version: record.version,
          updated_at_ms: record.updatedAtMs,
          ...(record.index === undefined ? {} : { index: record.index }),
          ...(record.range === undefined ? {} : { range: record.range }),
          ...(record.text === undefined ? {} : { text: record.text }),
        };
        await emit(line);
        counts.records += 1;
        afterKey = record.key;
      }
      if (page.length < PAGE) break;
    }
  }

  for (const namespace of await store.claims.namespaces()) {
    for (const holder of await store.claims.list(namespace)) {
      const line: StoreExportClaim = {
        type: 'claim',
        namespace,
        key: holder.key,
        owner: holder.owner,
        claimed_at_ms: holder.claimedAtMs,
        ...(holder.expiresAtMs === undefined ? {} : { expires_at_ms: holder.expiresAtMs }),
      };
      await emit(line);
      counts.claims += 1;
    }
  }

  await emit({ type: 'end', ...counts });
  return counts;
}
