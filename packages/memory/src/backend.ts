/**
 * The slice of core's storage ports memory writes through, and the volatile (in-process) backend
 * used when no store is given. A `MobKitStore` fits {@link MemoryBackend} as it is.
 * @module
 */
import { MobKitError, type StoreJson, type StoreRecord } from '@mobkit/core';

/** The record operations memory uses (a subset of core's `RecordsPort`). */
export interface MemoryRecords {
  get<T extends StoreJson = StoreJson>(namespace: string, key: string): Promise<StoreRecord<T> | undefined>;
  put<T extends StoreJson>(
    namespace: string,
    key: string,
    value: T,
    options?: { expectedVersion?: number; index?: string; range?: number; text?: string },
  ): Promise<StoreRecord<T>>;
  delete(namespace: string, key: string): Promise<boolean>;
  list<T extends StoreJson = StoreJson>(
    namespace: string,
    query?: { prefix?: string; index?: string; rangeMax?: number },
  ): Promise<StoreRecord<T>[]>;
  search<T extends StoreJson = StoreJson>(
    namespace: string,
    text: string,
    options?: { limit?: number },
  ): Promise<StoreRecord<T>[]>;
}

/** Records plus all-or-nothing transactions (a `MobKitStore` is one). */
export interface MemoryBackend {
  readonly records: MemoryRecords;
  transaction<T>(fn: (tx: { readonly records: MemoryRecords }) => Promise<T>): Promise<T>;
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** An in-process backend: records in maps, transactions serialized and rolled back from a journal. */
export function volatileBackend(nowMs: () => number): MemoryBackend {
  const tables = new Map<string, Map<string, StoreRecord>>();
  const table = (ns: string) => {
    let t = tables.get(ns);
    if (t === undefined) {
      t = new Map();
      tables.set(ns, t);
    }
    return t;
  };
  let journal: Array<[string, string, StoreRecord | undefined]> | undefined;
  const copy = <T extends StoreJson>(r: StoreRecord): StoreRecord<T> =>
    ({ ...r, value: structuredClone(r.value) }) as StoreRecord<T>;

  const records: MemoryRecords = {
    async get<T extends StoreJson>(ns: string, key: string) {
      const r = tables.get(ns)?.get(key);
      return r === undefined ? undefined : copy<T>(r);
    },
    async put<T extends StoreJson>(
      ns: string,
      key: string,
      value: T,
      options: { expectedVersion?: number; index?: string; range?: number; text?: string } = {},
    ) {
      const t = table(ns);
      const existing = t.get(key);
      if (options.expectedVersion !== undefined && options.expectedVersion !== (existing?.version ?? 0)) {
        throw new MobKitError(
          'VersionConflict',
          `record ${ns}/${key} is at version ${existing?.version ?? 0}, not ${options.expectedVersion}`,
        );
      }
      const stored: StoreRecord = {
        namespace: ns,
        key,
        value: structuredClone(value),
        version: (existing?.version ?? 0) + 1,
        updatedAtMs: nowMs(),
        ...(options.index === undefined ? {} : { index: options.index }),
        ...(options.range === undefined ? {} : { range: options.range }),
        ...(options.text === undefined ? {} : { text: options.text }),
      };
      journal?.push([ns, key, existing]);
      t.set(key, stored);
      return copy<T>(stored);
    },
    async delete(ns: string, key: string) {
      const t = tables.get(ns);
      const existing = t?.get(key);
      if (t === undefined || existing === undefined) return false;
      journal?.push([ns, key, existing]);
      t.delete(key);
      return true;
    },
    async list<T extends StoreJson>(ns: string, q: { prefix?: string; index?: string; rangeMax?: number } = {}) {
      const out: StoreRecord<T>[] = [];
      for (const r of tables.get(ns)?.values() ?? []) {
        if (q.prefix !== undefined && !r.key.startsWith(q.prefix)) continue;
        if (q.index !== undefined && r.index !== q.index) continue;
        if (q.rangeMax !== undefined && !(r.range !== undefined && r.range < q.rangeMax)) continue;
        out.push(copy<T>(r));
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async search<T extends StoreJson>(ns: string, text: string, options: { limit?: number } = {}) {
      const query = [...new Set(words(text))];
      if (query.length === 0) return [];
      const hits: Array<{ r: StoreRecord; score: number }> = [];
      for (const r of tables.get(ns)?.values() ?? []) {
        const counts = new Map<string, number>();
        for (const w of words(r.text ?? '')) counts.set(w, (counts.get(w) ?? 0) + 1);
        let score = 0;
        for (const w of query) score = counts.has(w) && score >= 0 ? score + (counts.get(w) as number) : -1;
        if (score > 0) hits.push({ r, score });
      }
      hits.sort((a, b) => b.score - a.score || (a.r.key < b.r.key ? -1 : 1));
      return hits.slice(0, options.limit ?? hits.length).map((h) => copy<T>(h.r));
    },
  };

  let chain: Promise<unknown> = Promise.resolve();
  return {
    records,
    transaction<T>(fn: (tx: { readonly records: MemoryRecords }) => Promise<T>): Promise<T> {
      const run = chain.then(async () => {
        journal = [];
        try {
          return await fn({ records });
        } catch (error) {
          for (const [ns, key, previous] of journal.reverse()) {
            if (previous === undefined) table(ns).delete(key);
            else table(ns).set(key, previous);
          }
          throw error;
        } finally {
          journal = undefined;
        }
      });
      chain = run.catch(() => undefined);
      return run;
    },
  };
}
