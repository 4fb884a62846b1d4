/**
 * How a port runs its work: the store's own ports check it is open and take the write lock for
 * writes; a transaction's ports run on its draft directly, while it is still running.
 */
export interface PortAccess {
  /** Runs a read. */
  read<T>(fn: () => T): Promise<T>;
  /** Runs a write. */
  write<T>(fn: () => T): Promise<T>;
}
