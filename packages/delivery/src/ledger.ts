import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { MobKitError } from '@mobkit/core';
import type { DeliveryRecordWire, DeliveryResolutionWire } from './schema.js';

/** Written before the first attempt: a delivery started (so a crash never leads to a second send). */
export interface LedgerBeginEntry {
  kind: 'begin';
  delivery_id: string;
  resolution: DeliveryResolutionWire;
  payload: unknown;
  idempotency_key?: string;
  at_ms: number;
}

/** Written when a delivery finished: its final record and the resolution it was sent along. */
export interface LedgerRecordEntry {
  kind: 'record';
  record: DeliveryRecordWire;
  resolution: DeliveryResolutionWire;
}

/** One line of the delivery ledger. */
export type LedgerEntry = LedgerBeginEntry | LedgerRecordEntry;

/**
 * Where delivery keeps its records and idempotency keys. `replay()` gives what an earlier run
 * wrote (oldest first); `append()` must be durable when it resolves. Implement it to put the ledger
 * in a database instead of a file.
 */
export interface DeliveryLedger {
  /** Entries written by earlier runs, oldest first. */
  replay(): Iterable<LedgerEntry>;
  /** Appends one entry durably. */
  append(entry: LedgerEntry): Promise<void>;
  /** Releases the underlying resources. */
  close(): Promise<void>;
}

/** A ledger that lives in memory (the default when no ledger path is configured). */
export class MemoryLedger implements DeliveryLedger {
  /** Every appended entry (plus the initial ones), oldest first. */
  readonly entries: LedgerEntry[];
  constructor(initial: Iterable<LedgerEntry> = []) {
    this.entries = [...initial];
  }
  replay(): Iterable<LedgerEntry> {
    return [...this.entries];
  }
  async append(entry: LedgerEntry): Promise<void> {
    this.entries.push(entry);
  }
  async close(): Promise<void> {}
}

function isEntry(value: unknown): value is LedgerEntry {
  if (value === null || typeof value !== 'object') return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'begin' || kind === 'record';
}

/**
 * An append-only JSONL ledger file: one entry per line, each line written and fsynced before
 * `append` resolves (concurrent appends share one write and fsync). On open, a torn last line (a crash mid-write) is dropped and cut off the
 * file; an unreadable line before the last one is `LedgerCorrupt` naming the line.
 */
export class FileLedger implements DeliveryLedger {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private flushing = false;
  private readonly pending: Array<{ line: string; resolve: () => void; reject: (error: unknown) => void }> = [];

  private constructor(
    /** The ledger file. */
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly loaded: LedgerEntry[],
    /** True when a torn last line was found and cut off. */
    readonly repairedTornLine: boolean,
  ) {}

  /** Opens (creating if needed) the ledger at `path` and reads what it holds. */
  static async open(path: string): Promise<FileLedger> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new MobKitError(
          'InvalidConfig',
          `delivery ledger ${path}: cannot read it (${(error as Error).message})`,
          { cause: error, details: { path } },
        );
      }
    }
    const entries: LedgerEntry[] = [];
    let goodBytes = 0;
    let torn = false;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      const isLast = i === lines.length - 1;
      if (line.trim() === '') {
        if (!isLast) goodBytes += Buffer.byteLength(line) + 1;
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (!isEntry(parsed)) {
        // Only the last line can be torn by a crash (no newline after it yet); cut it off.
        const trailingOnly = lines.slice(i + 1).every((l) => l.trim() === '');
        if (isLast || trailingOnly) {
          torn = true;
          break;
        }
        throw new MobKitError(
          'LedgerCorrupt',
          `delivery ledger ${path}: line ${i + 1} is not a ledger entry; fix or move the file`,
          {
            details: { path, line: i + 1 },
          },
        );
      }
      entries.push(parsed);
      goodBytes += Buffer.byteLength(line) + 1;
    }
    if (torn) await truncate(path, goodBytes);
    else if (text.length > 0 && !text.endsWith('\n')) {
      // A complete last entry without its newline: finish the line so the next append starts cleanly.
      const fix = await open(path, 'a');
      await fix.write('\n');
      await fix.sync();
      await fix.close();
    }
    const handle = await open(path, 'a');
    return new FileLedger(path, handle, entries, torn);
  }

  replay(): Iterable<LedgerEntry> {
    return [...this.loaded];
  }

  append(entry: LedgerEntry): Promise<void> {
    if (this.closed)
      return Promise.reject(new MobKitError('LedgerWriteFailed', `delivery ledger ${this.path}: closed`));
    // Group commit: entries appended while a write+fsync runs go out together in the next one;
    // each append still resolves only after its own line is on disk.
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(entry)}\n`, resolve, reject });
      if (!this.flushing) this.queue = this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.pending.length);
        try {
          await this.handle.write(batch.map((p) => p.line).join(''));
          await this.handle.sync();
          for (const p of batch) p.resolve();
        } catch (error) {
          const failure = new MobKitError(
            'LedgerWriteFailed',
            `delivery ledger ${this.path}: append failed (${(error as Error).message})`,
            {
              cause: error,
              details: { path: this.path },
            },
          );
          for (const p of batch) p.reject(failure);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.handle.close();
  }
}
