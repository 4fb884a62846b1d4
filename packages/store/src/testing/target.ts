import type { MobKitStore } from '@mobkit/core';

/**
 * What {@link describeStoreConformance} runs against: how to open a fresh store of the adapter under
 * test, and optionally how to open the same data again and from another process.
 *
 * @example
 * ```ts
 * const dir = mkdtempSync(join(tmpdir(), 'my-store-'));
 * let n = 0;
 * let path = '';
 * describeStoreConformance('my adapter', {
 *   open: () => openMyStore((path = join(dir, `db-${n++}`))),
 *   reopen: () => openMyStore(path),
 *   child: { module: fileURLToPath(new URL('./fixtures/open-my-store.mjs', import.meta.url)), env: () => ({ MY_STORE_PATH: path }) },
 *   cleanup: () => rm(path, { recursive: true, force: true }),
 * });
 * ```
 */
export interface StoreConformanceTarget {
  /** Opens a fresh, empty store (a new file, database or schema each call). */
  open(): Promise<MobKitStore>;
  /**
   * Opens the data of the store the last {@link open} call created again, after the suite closed
   * it (or a child process holding it was killed). `previous` is that closed store. Without it, the
   * reopen cases and the kill -9 case are skipped.
   */
  reopen?(previous: MobKitStore): Promise<MobKitStore>;
  /**
   * A module a child process opens the store with, for the cases that need two processes (claims
   * held across processes, kill -9 mid-write). Without it, those cases are skipped.
   */
  child?: {
    /**
     * The absolute path of an ES module plain `node` can import (`.mjs`, or `.js` in a
     * `"type": "module"` package; no TypeScript) exporting `openStore(): Promise<MobKitStore>`, which
     * opens the same store as the last {@link StoreConformanceTarget.open} call. Child stores must use
     * the system clock.
     */
    module: string;
    /** Variables added to the child's environment, read when it is started (after `open()`). */
    env?(): Record<string, string>;
    /** How long a child case may take (default 60,000 ms). */
    timeoutMs?: number;
  };
  /**
   * The time the stores from {@link open} measure expiry by, when the suite may move it (e.g. a
   * `ManualClock` passed to the adapter): `advance` moves it forward. Without it the suite uses real
   * short TTLs ({@link realTtlMs}) and waits them out. The cross-process expiry case needs real time
   * and is skipped when a clock is given.
   */
  clock?: { advance(ms: number): unknown };
  /** The TTL the expiry cases use when there is no {@link clock} (default 500 ms). */
  realTtlMs?: number;
  /** Runs after each case, once the suite has closed every store it opened: remove files, drop schemas. */
  cleanup?(): Promise<void> | void;
  /** Why {@link reopen} or {@link child} is missing, shown in the skipped cases' names. */
  skipReasons?: { reopen?: string; child?: string };
}
