import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SchedulingError } from './errors.js';

/** One claimed due tick: `claimKey` = `"<scheduleId>:<dueTickMs>"`. */
export interface ScheduleClaim {
  claimKey: string;
  scheduleId: string;
  dueTickMs: number;
  /** The tick of the dispatch call that claimed it. */
  tickMs: number;
  /** Wall-clock time of the claim (the dispatcher's clock). */
  claimedAtMs: number;
}

/** Wire (JSONL) form of a claim. */
export interface ScheduleClaimWire {
  claim_key: string;
  schedule_id: string;
  due_tick_ms: number;
  tick_ms: number;
  claimed_at_ms: number;
}

/** Converts a claim to its wire form. */
export function claimToWire(claim: ScheduleClaim): ScheduleClaimWire {
  return {
    claim_key: claim.claimKey,
    schedule_id: claim.scheduleId,
    due_tick_ms: claim.dueTickMs,
    tick_ms: claim.tickMs,
    claimed_at_ms: claim.claimedAtMs,
  };
}

function claimFromWire(value: unknown): ScheduleClaim | null {
  if (value === null || typeof value !== 'object') return null;
  const w = value as Partial<ScheduleClaimWire>;
  if (typeof w.claim_key !== 'string' || typeof w.schedule_id !== 'string') return null;
  if (!Number.isInteger(w.due_tick_ms) || !Number.isInteger(w.tick_ms) || !Number.isInteger(w.claimed_at_ms))
    return null;
  return {
    claimKey: w.claim_key,
    scheduleId: w.schedule_id,
    dueTickMs: w.due_tick_ms as number,
    tickMs: w.tick_ms as number,
    claimedAtMs: w.claimed_at_ms as number,
  };
}

/**
 * Where a {@link Dispatcher} keeps its claims so that a restart does not dispatch a claimed tick
 * again. A claim is appended (and made durable) before the dispatch hook runs.
 */
export interface ClaimStore {
  /** Every stored claim, oldest first. */
  load(): Promise<ScheduleClaim[]>;
  /** Stores one new claim durably. */
  append(claim: ScheduleClaim): Promise<void>;
  /** Replaces the stored claims with exactly `claims` (after pruning). Optional. */
  compact?(claims: readonly ScheduleClaim[]): Promise<void>;
  /** Releases files or connections. */
  close(): Promise<void>;
}

/** A claim store that keeps nothing (claims live only in the dispatcher's memory). */
export class MemoryClaimStore implements ClaimStore {
  async load(): Promise<ScheduleClaim[]> {
    return [];
  }
  async append(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Options of {@link JsonlClaimStore}. */
export interface JsonlClaimStoreOptions {
  /** `fdatasync` after every append and compaction (default `true`). */
  fsync?: boolean;
}

/**
 * Claims as JSON lines (`{"claim_key":…,"schedule_id":…,"due_tick_ms":…,"tick_ms":…,"claimed_at_ms":…}`),
 * appended and synced before the dispatch hook runs, like the delivery ledger. A torn last line
 * (crash mid-write) is dropped on load; an unreadable earlier line is `ClaimLogCorrupt`. Compaction
 * rewrites the file atomically (temp file + rename).
 */
export class JsonlClaimStore implements ClaimStore {
  private handle: FileHandle | undefined;
  private readonly fsync: boolean;

  constructor(
    /** The JSONL file (created with its directory on first write). */
    readonly path: string,
    options: JsonlClaimStoreOptions = {},
  ) {
    this.fsync = options.fsync ?? true;
  }

  async load(): Promise<ScheduleClaim[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new SchedulingError(
        'ClaimLogCorrupt',
        `claim log ${this.path} cannot be read: ${(error as Error).message}`,
        {
          cause: error,
          details: { path: this.path },
        },
      );
    }
    const lines = text.split('\n');
    const endsClean = text.endsWith('\n') || text === '';
    const claims: ScheduleClaim[] = [];
    let torn = false;
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === '') continue;
      const isLast = i === lines.length - 1 || (i === lines.length - 2 && lines[lines.length - 1] === '');
      let claim: ScheduleClaim | null = null;
      try {
        claim = claimFromWire(JSON.parse(line));
      } catch {
        claim = null;
      }
      if (claim === null) {
        if (isLast) {
          torn = true;
          continue;
        }
        throw new SchedulingError(
          'ClaimLogCorrupt',
          `claim log ${this.path} line ${i + 1} is not a claim record; fix or remove that line (only a torn last line is skipped)`,
          { details: { path: this.path, line: i + 1 } },
        );
      }
      claims.push(claim);
    }
    if (torn || !endsClean) await this.compact(claims);
    return claims;
  }

  async append(claim: ScheduleClaim): Promise<void> {
    try {
      const handle = await this.open();
      await handle.write(`${JSON.stringify(claimToWire(claim))}\n`);
      if (this.fsync) await handle.datasync();
    } catch (error) {
      throw new SchedulingError(
        'ClaimLogWriteFailed',
        `claim log ${this.path}: cannot append claim ${claim.claimKey}: ${(error as Error).message}`,
        {
          cause: error,
          details: { path: this.path, claim_key: claim.claimKey },
        },
      );
    }
  }

  async compact(claims: readonly ScheduleClaim[]): Promise<void> {
    const temp = `${this.path}.${process.pid}.tmp`;
    try {
      await this.closeHandle();
      await mkdir(dirname(this.path), { recursive: true });
      const handle = await open(temp, 'w');
      try {
        await handle.write(claims.map((c) => `${JSON.stringify(claimToWire(c))}\n`).join(''));
        if (this.fsync) await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      throw new SchedulingError(
        'ClaimLogWriteFailed',
        `claim log ${this.path}: cannot compact: ${(error as Error).message}`,
        {
          cause: error,
          details: { path: this.path },
        },
      );
    }
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  private async open(): Promise<FileHandle> {
    if (this.handle === undefined) {
      await mkdir(dirname(this.path), { recursive: true });
      this.handle = await open(this.path, 'a');
    }
    return this.handle;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.close();
  }
}
