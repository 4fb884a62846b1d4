// Durability against a real kill: a child indexes facts into a SQLite file and is SIGKILLed
// mid-stream; reopening the file shows every acknowledged write, and ids continue without reuse.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '@mobkit/store';
import { builtEntry, childEnv } from '@mobkit/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemory } from '../src/index.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const storeDir = fileURLToPath(new URL('../../store/', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/indexer.mjs', import.meta.url));
let memoryEntry = '';
let storeEntry = '';
const children: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(() => {
  memoryEntry = builtEntry(packageDir);
  storeEntry = builtEntry(storeDir);
}, 240_000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

interface Ack {
  i: number;
  id: string;
}

/** Runs the indexer; SIGKILLs it once `killAfter` writes were acknowledged (or lets it finish). */
async function run(db: string, count: number, prefix: string, killAfter?: number): Promise<Ack[]> {
  const proc = spawn(process.execPath, [child, memoryEntry, storeEntry, db, String(count), prefix], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const acks = () => out.split('\n').filter((l) => l.startsWith('{'));
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (killAfter !== undefined && acks().length >= killAfter && proc.exitCode === null) proc.kill('SIGKILL');
    });
    proc.on('exit', (code, signal) => {
      if (killAfter !== undefined ? signal === 'SIGKILL' : code === 0) resolve();
      else reject(new Error(`indexer exited ${code ?? signal}: ${err}`));
    });
  });
  if (killAfter === undefined) expect(out.endsWith('done\n')).toBe(true);
  return acks().flatMap((l) => {
    try {
      return [JSON.parse(l) as Ack]; // a line cut by the kill is not an acknowledgement
    } catch {
      return [];
    }
  });
}

const idNumber = (id: string) => Number(id.slice('memory-assert-'.length));

describe('memory on SQLite survives SIGKILL mid-stream', () => {
  it('every acknowledged write is there after the kill, and ids continue without reuse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mobkit-memory-sigkill-'));
    dirs.push(dir);
    const db = join(dir, 'state.db');
    const first = await run(db, 2_000, 'a', 150);
    expect(first.length).toBeGreaterThanOrEqual(150);
    expect(first.length).toBeLessThan(2_000);

    const store = await openStore({ kind: 'sqlite', path: db });
    try {
      const memory = createMemory({ store, singleValuedTopics: ['status'] });
      // Every assertion the file holds: the current facts and the superseded ones (kept in history).
      const current = (await memory.query({})).assertions;
      const everything = (await memory.query({ as_of_ms: Number.MAX_SAFE_INTEGER - 1 })).assertions;
      const superseded = await store.records.list('memory.history');
      const seen = new Map<string, string>();
      for (const a of [...current, ...superseded.map((r) => r.value as { assertion_id: string; fact: string })]) {
        seen.set(a.assertion_id, a.fact);
      }
      expect(everything).toEqual(current); // superseded facts all closed before now
      expect(superseded.length).toBeGreaterThan(0);
      for (const ack of first) expect(seen.get(ack.id)).toBe(`fact ${ack.i}`);
      const maxBefore = Math.max(...[...seen.keys()].map(idNumber));

      // The reopened memory continues after the highest id; so does a second child.
      const next = await memory.index({ entity: 'parent', topic: 'after', fact: 'after the kill' });
      expect(idNumber(next.assertion_id as string)).toBe(maxBefore + 1);
      await store.close();
      const second = await run(db, 40, 'b');
      expect(second).toHaveLength(40);
      const secondIds = second.map((a) => idNumber(a.id));
      expect(Math.min(...secondIds)).toBeGreaterThan(maxBefore + 1);
      expect(new Set(secondIds).size).toBe(40);
    } finally {
      await store.close();
    }
  }, 120_000);
});
