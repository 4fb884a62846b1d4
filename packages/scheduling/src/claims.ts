import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { wireCodec, wireEncoder } from '@mobkit/core';
import { z } from 'zod';
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

const ms = z.number().int().min(0);

/** Wire (JSONL) form of a claim. */
export const ScheduleClaimWireSchema = z.object({
  claim_key: z.string(),
  schedule_id: z.string(),
  due_tick_ms: ms,
  tick_ms: ms,
  claimed_at_ms: z.number().int(),
});
/** A claim as written in the claim log. */
export type ScheduleClaimWire = z.input<typeof ScheduleClaimWireSchema>;

/** The codec between a wire claim and {@link ScheduleClaim}. */
export const ScheduleClaimSchema = wireCodec(ScheduleClaimWireSchema, {
  decode: (w): ScheduleClaim => ({
    claimKey: w.claim_key,
    scheduleId: w.schedule_id,
    dueTickMs: w.due_tick_ms,
    tickMs: w.tick_ms,
    claimedAtMs: w.claimed_at_ms,
  }),
  encode: (c) => ({
    claim_key: c.claimKey,
    schedule_id: c.scheduleId,
    due_tick_ms: c.dueTickMs,
    tick_ms: c.tickMs,
    claimed_at_ms: c.claimedAtMs,
  }),
});

/** Converts a claim to its wire form (its codec's encoder). */
export const claimToWire: (claim: ScheduleClaim) => ScheduleClaimWire = wireEncoder(ScheduleClaimSchema);

/** A claim-log line's claim, or `null` when it is not one. */
function claimFromWire(value: unknown): ScheduleClaim | null {
  const parsed = ScheduleClaimSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
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
  /**
   * Takes one claim durably if no one else holds it (a store shared by several processes); resolves
   * false when another owner already claimed that key, and the dispatcher then skips the tick.
   * Optional: without it the dispatcher calls {@link append}.
   */
  claim?(claim: ScheduleClaim): Promise<boolean>;
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
