// Preloaded into the fuzzed gateway (`node --expose-gc --import <this file> …`): on SIGUSR2 it runs a full
// garbage collection and reports the resident set size on stderr, so the fuzz suite can compare the
// memory the process keeps before and after a storm. Writes nothing to stdout (the gateway's protocol).
import { readFileSync } from 'node:fs';

/** VmRSS of this process in KiB, from /proc (0 where /proc is missing). */
function rssKib() {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

process.on('SIGUSR2', () => {
  if (typeof globalThis.gc !== 'function') {
    process.stderr.write('[fuzz-gc] unavailable: run with --expose-gc\n');
    return;
  }
  // Two passes: the first frees what finalizers and weak references still held.
  globalThis.gc();
  setImmediate(() => {
    globalThis.gc();
    const { heapUsed, external } = process.memoryUsage();
    process.stderr.write(`[fuzz-gc] rss_kib=${rssKib()} heap_used=${heapUsed} external=${external}\n`);
  });
});
