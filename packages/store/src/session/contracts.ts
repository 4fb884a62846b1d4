/** Which session store a {@link SessionStoreContract} describes. */
export type SessionStoreKind = 'big_query' | 'json_file';

/** What a session store guarantees (spec 12's `SessionStoreContract`). */
export interface SessionStoreContract {
  store: SessionStoreKind;
  /** Reads can materialize the latest row per session. */
  latestRowPerSession: boolean;
  /** Deletions are tombstone rows. */
  tombstonesSupported: boolean;
  /** The read path deduplicates to one row per session. */
  dedupReadPath: boolean;
  /** Writers exclude each other with a lock file. */
  fileLocking: boolean;
  /** A writer killed mid-write leaves the previous state whole. */
  crashRecovery: boolean;
  /** The BigQuery dataset (BigQuery only, else null). */
  bigqueryDataset: string | null;
  /** The BigQuery table (BigQuery only, else null). */
  bigqueryTable: string | null;
}

/** The wire form of a {@link SessionStoreContract} (snake_case). */
export interface SessionStoreContractWire {
  store: SessionStoreKind;
  latest_row_per_session: boolean;
  tombstones_supported: boolean;
  dedup_read_path: boolean;
  file_locking: boolean;
  crash_recovery: boolean;
  bigquery_dataset: string | null;
  bigquery_table: string | null;
}

/**
 * The two session store contracts (spec 12), BigQuery first: BigQuery keeps the latest row per
 * session, tombstones and a deduplicating read path, with no file locking or crash recovery, on
 * the decisions' dataset and table; the JSON file store guarantees all five.
 */
export function sessionStoreContracts(bigquery: { dataset: string; table: string }): SessionStoreContract[] {
  const semantics = { latestRowPerSession: true, tombstonesSupported: true, dedupReadPath: true };
  return [
    {
      store: 'big_query',
      ...semantics,
      fileLocking: false,
      crashRecovery: false,
      bigqueryDataset: bigquery.dataset,
      bigqueryTable: bigquery.table,
    },
    {
      store: 'json_file',
      ...semantics,
      fileLocking: true,
      crashRecovery: true,
      bigqueryDataset: null,
      bigqueryTable: null,
    },
  ];
}

/** Encodes a contract to its wire form. */
export function sessionStoreContractToWire(contract: SessionStoreContract): SessionStoreContractWire {
  return {
    store: contract.store,
    latest_row_per_session: contract.latestRowPerSession,
    tombstones_supported: contract.tombstonesSupported,
    dedup_read_path: contract.dedupReadPath,
    file_locking: contract.fileLocking,
    crash_recovery: contract.crashRecovery,
    bigquery_dataset: contract.bigqueryDataset,
    bigquery_table: contract.bigqueryTable,
  };
}
