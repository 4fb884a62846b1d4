import { appendFile, open, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MobKitError } from '@mobkit/core';
import { parseLedgerText } from './ledger-text.js';
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

/**
 * The file a {@link FileLedger} appends to, opened in append mode: `FileHandle` of `node:fs/promises`
 * fits. Injectable (`FileLedger.open(path, { openFile })`) to test short writes and a full disk.
 */
export interface LedgerFile {
  /** Writes `length` bytes of `buffer` from `offset` at the end; may write fewer (a short write). */
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  /** Makes what was written durable (fsync). */
  sync(): Promise<void>;
  /** Cuts the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link FileLedger.open}. */
export interface FileLedgerOptions {
  /** Opens the file for appending (default `fs.promises.open(path, 'a')`). */
  openFile?: (path: string) => Promise<LedgerFile>;
}

interface PendingLine {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * An append-only JSONL ledger file: one entry per line. `append` resolves only once its whole line
 * is written (short writes are continued) and fsynced; concurrent appends share one write and
 * fsync. A write or fsync that fails (ENOSPC, EIO) rejects the appends of its batch and cuts the
 * file back to its last durable line before anything else is appended; if even that fails, every
 * later append fails until the ledger is reopened. On open, a torn last line (a crash mid-write)
 * is dropped and cut off, a torn fragment in front of a later line (left by an older writer) is
 * dropped and the file rewritten without it, and any other unreadable line is `LedgerCorrupt`
 * naming the line.
 */
export class FileLedger implements DeliveryLedger {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private flushing = false;
  private broken: MobKitError | undefined;
  private readonly pending: PendingLine[] = [];

  private constructor(
    /** The ledger file. */
    readonly path: string,
    private readonly file: LedgerFile,
    private readonly loaded: LedgerEntry[],
    /** Bytes of the file known durable (every line up to here is whole). */
    private size: number,
    /** True when a torn last line was found and cut off. */
    readonly repairedTornLine: boolean,
    /** Torn fragments found in front of later lines and removed at open. */
    readonly repairedTornFragments: number,
  ) {}

  /** Opens (creating if needed) the ledger at `path`, repairs torn writes, and reads what it holds. */
  static async open(path: string, options: FileLedgerOptions = {}): Promise<FileLedger> {
    const text = await readLedgerFile(path);
    const parsed = parseLedgerText(text);
    if (parsed.corruptLine !== undefined) {
      throw new MobKitError(
        'LedgerCorrupt',
        `delivery ledger ${path}: line ${parsed.corruptLine} is not a ledger entry; fix or move the file`,
        { details: { path, line: parsed.corruptLine } },
      );
    }
    let size: number;
    if (parsed.tornFragments > 0) size = await rewrite(path, parsed.entries);
    else if (parsed.tornLast) {
      await truncate(path, parsed.goodBytes);
      size = parsed.goodBytes;
    } else if (text.length > 0 && !text.endsWith('\n')) {
      // A complete last entry without its newline: finish the line so the next append starts cleanly.
      await appendFile(path, '\n', { flush: true });
      size = Buffer.byteLength(text) + 1;
    } else size = Buffer.byteLength(text);
    const file = await (options.openFile ?? ((p: string) => open(p, 'a')))(path);
    return new FileLedger(path, file, parsed.entries, size, parsed.tornLast, parsed.tornFragments);
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
          if (this.broken !== undefined) throw this.broken;
          const bytes = Buffer.from(batch.map((p) => p.line).join(''));
          await this.writeAll(bytes);
          await this.file.sync();
          this.size += bytes.length;
          for (const p of batch) p.resolve();
        } catch (error) {
          const failure =
            error === this.broken
              ? (error as MobKitError)
              : new MobKitError(
                  'LedgerWriteFailed',
                  `delivery ledger ${this.path}: append failed (${(error as Error).message})`,
                  { cause: error, details: { path: this.path } },
                );
          if (error !== this.broken) await this.cutBack(error);
          for (const p of batch) p.reject(failure);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Writes all of `bytes`, continuing after short writes. */
  private async writeAll(bytes: Buffer): Promise<void> {
    for (let offset = 0; offset < bytes.length; ) {
      const { bytesWritten } = await this.file.write(bytes, offset, bytes.length - offset);
      if (!(bytesWritten > 0)) throw new Error(`write made no progress at byte ${offset} of ${bytes.length}`);
      offset += bytesWritten;
    }
  }

  /**
   * After a failed write or fsync, removes whatever part of the batch reached the file, so no later
   * line is appended after a torn fragment (and nothing unacknowledged replays after a restart).
   * If the file cannot be cut back, the ledger refuses every later append until it is reopened
   * (opening repairs it).
   */
  private async cutBack(cause: unknown): Promise<void> {
    try {
      await this.file.truncate(this.size);
      await this.file.sync();
    } catch (error) {
      this.broken = new MobKitError(
        'LedgerWriteFailed',
        `delivery ledger ${this.path}: a failed append (${(cause as Error).message}) left a partial line that could not be cut off (${(error as Error).message}); restart to repair the ledger`,
        { cause: error, details: { path: this.path } },
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.file.close();
  }
}

/** The ledger's text ('' when the file does not exist yet); `InvalidConfig` when it cannot be read. */
async function readLedgerFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new MobKitError('InvalidConfig', `delivery ledger ${path}: cannot read it (${(error as Error).message})`, {
      cause: error,
      details: { path },
    });
  }
}

/** Replaces the ledger with `entries` (written to a temporary file, fsynced, renamed over it); returns its size. */
async function rewrite(path: string, entries: LedgerEntry[]): Promise<number> {
  const bytes = Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const temp = `${path}.repair-${process.pid}`;
  await writeFile(temp, bytes, { flush: true });
  await rename(temp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return bytes.length;
}
