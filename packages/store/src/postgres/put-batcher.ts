/**
 * Record puts issued together inside one `transaction(fn)` (e.g. with `Promise.all`) go out as
 * multi-row statements on the transaction's connection, in the order they were issued.
 * @module
 */
import { type RecordWrite, putMany, rowIdOf } from './record-writes.js';
import type { Queryable, Row, Tables } from './sql.js';

interface Pending {
  write: RecordWrite;
  resolve: (row: Row) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the puts a transaction issues within one turn of the event loop and sends them at the end
 * of it (or sooner, when the transaction sends any other statement, so the server sees every statement
 * in the order it was issued). Two puts of one row go in successive statements, in order.
 */
export class PutBatcher {
  private pending: Pending[] = [];

  constructor(
    private readonly client: Queryable,
    private readonly t: Tables,
  ) {}

  /** Queues `write`; resolves with its row once its statement answered. */
  put(write: RecordWrite): Promise<Row> {
    return new Promise<Row>((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.flush());
      this.pending.push({ write, resolve, reject });
    });
  }

  /** Sends every queued put now. */
  flush(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    let segment: Pending[] = [];
    const rows = new Set<string>();
    const send = () => {
      const results = putMany(
        this.client,
        this.t,
        segment.map((p) => p.write),
      );
      for (const [i, p] of segment.entries()) (results[i] as Promise<Row>).then(p.resolve, p.reject);
      segment = [];
      rows.clear();
    };
    for (const p of pending) {
      const id = rowIdOf(p.write);
      if (rows.has(id)) send();
      segment.push(p);
      rows.add(id);
    }
    send();
  }
}
