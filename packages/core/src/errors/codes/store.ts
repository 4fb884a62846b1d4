import type { ErrorCodeInfo } from './types.js';

/** Codes raised by the storage ports' adapters (`@mobkit/store`), the event log and the session stores. Reuse a code from core.ts when the meaning is the same. */
export const storeErrorCodes = {
  StoreUnavailable: {
    rpc: -32000,
    http: 503,
    summary: 'the store could not be opened or reached (path not writable, server down, bad URL); nothing was started',
  },
  StoreCorrupt: { rpc: -32000, http: 500, summary: 'the store file or database is not a MobKit store or is damaged' },
  StoreSchemaTooNew: {
    rpc: -32000,
    http: 500,
    summary: 'the store was written by a newer schema version than this MobKit knows; upgrade MobKit',
  },
  StoreWriteFailed: {
    rpc: -32000,
    http: 503,
    summary: 'a write to the store failed (disk full, connection lost); it was not acknowledged',
  },
  StoreClosed: { rpc: -32000, http: 503, summary: 'the store was closed' },
  VersionConflict: {
    rpc: -32000,
    http: 409,
    summary: 'a compare-and-set write found another version than the one expected; read again and retry',
  },
  EventLogBackpressure: {
    rpc: -32000,
    http: 503,
    summary: 'the event log writer is behind and its buffer is full; the event was counted as dropped',
  },
  NoEventLogConfigured: { rpc: -32000, http: 404, summary: 'the runtime has no event log (no store)' },
  SessionStoreLockHeld: { rpc: -32011, http: 409, summary: 'another live process holds the session store lock' },
  StaleLockRecoveryFailed: {
    rpc: -32011,
    http: 500,
    summary: 'a stale session store lock could not be removed and taken over',
  },
  SessionStoreIo: { rpc: -32011, http: 500, summary: 'a session store file could not be read or written' },
  SessionStoreSerialize: { rpc: -32011, http: 500, summary: 'a session row could not be serialized' },
  InvalidStoreData: {
    rpc: -32011,
    http: 500,
    summary: 'the session store holds data that is not a list of session rows',
  },
  BigQueryConfiguration: {
    rpc: -32011,
    http: 400,
    summary: 'the BigQuery session store lacks a project id or an access token, or a setting is invalid',
  },
  BigQueryHttp: { rpc: -32011, http: 502, summary: 'the BigQuery API could not be reached or timed out' },
  BigQueryApi: { rpc: -32011, http: 502, summary: 'the BigQuery API answered with an error or rejected rows' },
  BigQueryInvalidResponse: { rpc: -32011, http: 502, summary: 'the BigQuery API answer had an unexpected shape' },
  EmptyBigQueryDataset: { rpc: -32602, http: 400, summary: 'the BigQuery dataset name is empty' },
  EmptyBigQueryTable: { rpc: -32602, http: 400, summary: 'the BigQuery table name is empty' },
  InvalidBigQueryName: {
    rpc: -32602,
    http: 400,
    summary: 'a BigQuery dataset or table name has characters other than A-Z a-z 0-9 _ -',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
