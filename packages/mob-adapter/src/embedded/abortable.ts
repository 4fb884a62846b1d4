/**
 * Iterates `source`, but stops waiting as soon as `signal` aborts (even if the source ignores it):
 * the pending step rejects with `reason()` (default `Error('aborted')`) and the source is told to return.
 */
export async function* abortable<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
  reason: () => Error = () => new Error('aborted'),
): AsyncIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(reason());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (signal.aborted) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
