/**
 * A FIFO lock: each `run` starts after every earlier one settled. The memory store runs each write
 * and each transaction through one, so a transaction's writes are never interleaved with others.
 */
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every earlier `run` has settled; resolves or rejects with its result. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
