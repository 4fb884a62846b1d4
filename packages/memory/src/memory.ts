/**
 * The memory engine: keyed entity/topic assertions per store (spec §11), with supersession and
 * `as_of` queries, compare-and-set on (entity, topic, store) slots, conflict signals (explicit and
 * automatic), keyword search, durable through core's storage ports.
 * @module
 */
import { type Clock, type MobKitStore, MobKitError, type StoreJson, sequenceId, systemClock } from '@mobkit/core';
import { type MemoryBackend, type MemoryRecords, volatileBackend } from './backend.js';
import {
  MEMORY_STORES,
  type MemoryAssertion,
  type MemoryConflictLookup,
  type MemoryConflictQuery,
  type MemoryConflictSignal,
  type MemoryIndexResult,
  type MemoryQueryResult,
  type MemorySearchResult,
  type MemoryStoreName,
  type MemoryStoresResult,
} from './types.js';

/** Options of {@link MemoryStore}. */
export interface MemoryOptions {
  /** Where memory lives; without one it is kept in this process only (gone when it stops). */
  store?: MobKitStore;
  /** The time of `indexed_at_ms`, `valid_from_ms`, `updated_at_ms` (default: the system clock). */
  clock?: Clock;
  /** Topics that keep one current fact per (entity, store): a new fact supersedes the current one. */
  singleValuedTopics?: readonly string[];
}

/** The records namespaces memory writes (all under `memory.`). */
export const MEMORY_NAMESPACES = Object.freeze({
  /** Current facts: key `entity|topic|store|assertion_id`, index = store, range = valid_from_ms, text = fact. */
  current: 'memory.current',
  /** Superseded facts, same keys; kept for `as_of` queries. */
  history: 'memory.history',
  /** Conflict signals: key `entity|topic|store`, index = store. */
  conflicts: 'memory.conflicts',
  /** One record per (entity, topic, store) slot; its record version is the slot version. */
  slots: 'memory.slots',
  /** The assertion id counter. */
  meta: 'memory.meta',
});

const NS = MEMORY_NAMESPACES;
const COUNTER_KEY = 'assertion_seq';
const SEARCH_DEFAULT_LIMIT = 20;
const SEARCH_MAX_LIMIT = 200;
const RACE_RETRIES = 20;

/** A VersionConflict on the caller's `expected_version` (not a race on memory's own records). */
class StaleSlot extends MobKitError<'VersionConflict'> {}

function canonical(value: string): string {
  return value.trim().toLowerCase();
}
function enc(value: string): string {
  return encodeURIComponent(value);
}
function slotKey(entity: string, topic: string, store: string): string {
  return `${enc(entity)}|${enc(topic)}|${store}`;
}
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `a ${typeof value}`;
}
function invalid(field: string, expected: string, value: unknown): MobKitError {
  return new MobKitError('InvalidInput', `memory: ${field} must be ${expected}, got ${describe(value)}`, {
    details: { field, got: describe(value) },
  });
}
function record(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(what, 'an object', value);
  return value as Record<string, unknown>;
}
function optString(params: Record<string, unknown>, field: string): string | undefined {
  const value = params[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(field, 'a string', value);
  return value;
}
function optBool(params: Record<string, unknown>, field: string): boolean | undefined {
  const value = params[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(field, 'a boolean (true or false)', value);
  return value;
}
function optWhole(params: Record<string, unknown>, field: string): number | undefined {
  const value = params[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(field, 'a whole number >= 0', value);
  }
  return value;
}
function storeName(value: string | undefined): MemoryStoreName {
  const name = canonical(value ?? 'knowledge_graph');
  if (!(MEMORY_STORES as readonly string[]).includes(name)) {
    throw new MobKitError(
      'UnsupportedStore',
      `memory: store ${JSON.stringify(value)} is not one of ${MEMORY_STORES.join(', ')}`,
      { details: { field: 'store', store: value, supported: [...MEMORY_STORES] } },
    );
  }
  return name as MemoryStoreName;
}
function optStore(params: Record<string, unknown>): MemoryStoreName | undefined {
  const value = optString(params, 'store');
  return value === undefined || value.trim() === '' ? undefined : storeName(value);
}
function optKey(params: Record<string, unknown>, field: string): string | undefined {
  const value = optString(params, field);
  return value === undefined || value.trim() === '' ? undefined : canonical(value);
}
function idNumber(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1));
}
function byId(a: MemoryAssertion, b: MemoryAssertion): number {
  return idNumber(a.assertion_id) - idNumber(b.assertion_id);
}

/** Runs a backend call, turning a store failure into `MemoryBackendUnavailable` (our own errors pass). */
async function backendCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof StaleSlot) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new MobKitError('MemoryBackendUnavailable', `Memory backend unavailable: ${what} failed: ${message}`, {
      cause: error,
    });
  }
}

interface ParsedIndex {
  entity: string;
  topic: string;
  store: MemoryStoreName;
  fact: string | undefined;
  metadata: Record<string, StoreJson> | undefined;
  conflict: boolean;
  conflictReason: string | undefined;
  singleValued: boolean | undefined;
  expectedVersion: number | undefined;
}

/**
 * Keyed memory: facts about (entity, topic) in one of five stores, conflict signals, supersession
 * with `as_of` queries, compare-and-set, keyword search. Every method takes and returns the wire
 * shapes (snake_case), so the RPC layer passes them through. Every write is one store transaction:
 * when the store fails it rejects with `MemoryBackendUnavailable` (-32010) and nothing changed.
 */
export class MemoryStore implements MemoryConflictLookup {
  private readonly backend: MemoryBackend;
  private readonly clock: Clock;
  private readonly singleValued: ReadonlySet<string>;

  constructor(options: MemoryOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.backend = options.store ?? volatileBackend(() => this.clock.nowMs());
    const topics = options.singleValuedTopics ?? [];
    if (!Array.isArray(topics)) throw invalid('singleValuedTopics', 'an array of topic names', topics);
    this.singleValued = new Set(
      topics.map((t, i) => {
        if (typeof t !== 'string' || t.trim() === '') throw invalid(`singleValuedTopics[${i}]`, 'a topic name', t);
        return canonical(t);
      }),
    );
  }

  /** `mobkit/memory/stores`: each store with its record count (current facts + conflict signals). */
  async stores(): Promise<MemoryStoresResult> {
    return backendCall('stores', async () => {
      const stores = [];
      for (const store of MEMORY_STORES) {
        const facts = await this.backend.records.list(NS.current, { index: store });
        const conflicts = await this.backend.records.list(NS.conflicts, { index: store });
        stores.push({ store, record_count: facts.length + conflicts.length });
      }
      return { stores };
    });
  }

  /**
   * `mobkit/memory/index`: records a fact and/or a conflict signal on (entity, topic, store).
   * Errors: `EntityRequired`, `TopicRequired`, `UnsupportedStore`, `FactRequiredWhenConflictUnset`,
   * `InvalidInput` (a field of the wrong type, named), `VersionConflict` (stale `expected_version`),
   * `MemoryBackendUnavailable`.
   */
  async index(request: unknown): Promise<MemoryIndexResult> {
    const req = this.parseIndex(request);
    for (let attempt = 0; ; attempt++) {
      try {
        return await backendCall('index', () => this.backend.transaction((tx) => this.indexIn(tx.records, req)));
      } catch (error) {
        // A VersionConflict on memory's own records means another process raced this one: retry.
        const race =
          error instanceof MobKitError &&
          error.code === 'MemoryBackendUnavailable' &&
          error.cause instanceof MobKitError &&
          error.cause.code === 'VersionConflict';
        if (!race || attempt >= RACE_RETRIES) throw error;
      }
    }
  }

  private parseIndex(request: unknown): ParsedIndex {
    const params = record(request, 'params');
    const rawEntity = params.entity;
    if (rawEntity !== undefined && rawEntity !== null && typeof rawEntity !== 'string') {
      throw invalid('entity', 'a string', rawEntity);
    }
    const entity = canonical(rawEntity ?? '');
    if (entity === '') {
      throw new MobKitError('EntityRequired', 'memory index: entity is required (a non-blank string)', {
        details: { field: 'entity' },
      });
    }
    const rawTopic = params.topic;
    if (rawTopic !== undefined && rawTopic !== null && typeof rawTopic !== 'string') {
      throw invalid('topic', 'a string', rawTopic);
    }
    const topic = canonical(rawTopic ?? '');
    if (topic === '') {
      throw new MobKitError('TopicRequired', 'memory index: topic is required (a non-blank string)', {
        details: { field: 'topic' },
      });
    }
    const store = storeName(optString(params, 'store'));
    const rawFact = optString(params, 'fact');
    const fact = rawFact === undefined || rawFact.trim() === '' ? undefined : rawFact;
    let metadata: Record<string, StoreJson> | undefined;
    if (params.metadata !== undefined && params.metadata !== null) {
      const m = params.metadata;
      if (typeof m !== 'object' || Array.isArray(m)) throw invalid('metadata', 'an object', m);
      try {
        metadata = JSON.parse(JSON.stringify(m)) as Record<string, StoreJson>;
      } catch (error) {
        throw new MobKitError('InvalidInput', 'memory: metadata must be plain JSON (it could not be serialized)', {
          details: { field: 'metadata' },
          cause: error,
        });
      }
    }
    const conflict = optBool(params, 'conflict') ?? false;
    const conflictReason = optString(params, 'conflict_reason');
    const singleValued = optBool(params, 'single_valued');
    const expectedVersion = optWhole(params, 'expected_version');
    if (fact === undefined && !conflict) {
      throw new MobKitError(
        'FactRequiredWhenConflictUnset',
        'memory index: a fact is required unless conflict is true (send fact, or conflict: true with conflict_reason)',
        { details: { field: 'fact' } },
      );
    }
    return { entity, topic, store, fact, metadata, conflict, conflictReason, singleValued, expectedVersion };
  }

  private async indexIn(records: MemoryRecords, req: ParsedIndex): Promise<MemoryIndexResult> {
    const now = this.clock.nowMs();
    const slot = slotKey(req.entity, req.topic, req.store);
    const slotRecord = await records.get(NS.slots, slot);
    const slotVersion = slotRecord?.version ?? 0;
    if (req.expectedVersion !== undefined && req.expectedVersion !== slotVersion) {
      throw new StaleSlot(
        'VersionConflict',
        `memory index: ${req.entity}/${req.topic} in ${req.store} is at version ${slotVersion}, not expected_version ${req.expectedVersion}; query again and retry`,
        { details: { field: 'expected_version', expected: req.expectedVersion, actual: slotVersion } },
      );
    }
    const conflictKey = slot;
    let conflictReason: string | undefined;
    let raiseConflict = req.conflict;
    if (req.conflict) conflictReason = req.conflictReason;
    let assertionId: string | undefined;

    if (req.fact !== undefined) {
      const counter = await records.get<{ next: number }>(NS.meta, COUNTER_KEY);
      const n = counter?.value.next ?? 0;
      await records.put(NS.meta, COUNTER_KEY, { next: n + 1 }, { expectedVersion: counter?.version ?? 0 });
      assertionId = sequenceId('memory-assert', n);
      const version = slotVersion + 1;
      await records.put(
        NS.slots,
        slot,
        { entity: req.entity, topic: req.topic, store: req.store },
        {
          expectedVersion: slotVersion,
        },
      );
      const rawSource = req.metadata?.source;
      const source = typeof rawSource === 'string' && rawSource.trim() !== '' ? rawSource : undefined;
      const assertion: MemoryAssertion = {
        assertion_id: assertionId,
        entity: req.entity,
        topic: req.topic,
        store: req.store,
        fact: req.fact,
        ...(req.metadata === undefined ? {} : { metadata: req.metadata }),
        indexed_at_ms: now,
        valid_from_ms: now,
        ...(source === undefined ? {} : { source }),
        version,
      };
      if (req.singleValued ?? this.singleValued.has(req.topic)) {
        const current = (await records.list(NS.current, { prefix: `${slot}|` })).map((r) => ({
          key: r.key,
          value: r.value as unknown as MemoryAssertion,
        }));
        const disagreeing = new Set<string>();
        for (const { key, value } of current) {
          if (value.source === source || value.fact === req.fact) {
            const closed: MemoryAssertion = { ...value, valid_to_ms: now, superseded_by: assertionId };
            await records.delete(NS.current, key);
            await records.put(NS.history, key, closed as unknown as StoreJson, {
              index: value.store,
              range: value.valid_from_ms,
            });
          } else {
            disagreeing.add(value.source ?? '(no source)');
          }
        }
        if (disagreeing.size > 0) {
          const sources = [...disagreeing, source ?? '(no source)'].map((s) => JSON.stringify(s)).join(' and ');
          const auto = `single-valued topic ${JSON.stringify(req.topic)} has different current facts from sources ${sources}`;
          raiseConflict = true;
          conflictReason = conflictReason === undefined ? auto : `${conflictReason}; ${auto}`;
        }
      }
      await records.put(NS.current, `${slot}|${assertionId}`, assertion as unknown as StoreJson, {
        index: req.store,
        range: now,
        text: req.fact,
      });
    }

    let conflictActive: boolean;
    if (raiseConflict) {
      const signal: MemoryConflictSignal = {
        entity: req.entity,
        topic: req.topic,
        store: req.store,
        ...(conflictReason === undefined ? {} : { reason: conflictReason }),
        updated_at_ms: now,
      };
      await records.put(NS.conflicts, conflictKey, signal as unknown as StoreJson, { index: req.store });
      conflictActive = true;
    } else {
      conflictActive = (await records.get(NS.conflicts, conflictKey)) !== undefined;
    }
    return {
      entity: req.entity,
      topic: req.topic,
      store: req.store,
      ...(assertionId === undefined ? {} : { assertion_id: assertionId }),
      conflict_active: conflictActive,
    };
  }

  /**
   * `mobkit/memory/query`: assertions and conflicts matching every given filter. Current facts by
   * default; with `as_of_ms`, the facts that held then (`valid_from_ms <= as_of_ms < valid_to_ms`) and
   * the conflict signals last raised by then. Assertions in id order, conflicts in key order.
   */
  async query(request: unknown = {}): Promise<MemoryQueryResult> {
    const params = record(request, 'params');
    const entity = optKey(params, 'entity');
    const topic = optKey(params, 'topic');
    const store = optStore(params);
    const asOf = params.as_of_ms;
    if (asOf !== undefined && asOf !== null && (typeof asOf !== 'number' || !Number.isFinite(asOf))) {
      throw invalid('as_of_ms', 'a number of milliseconds since the epoch', asOf);
    }
    const asOfMs = typeof asOf === 'number' ? asOf : undefined;
    const prefix =
      entity === undefined ? undefined : topic === undefined ? `${enc(entity)}|` : `${slotKey(entity, topic, '')}`;
    const keep = (v: { entity: string; topic: string; store: string }) =>
      (entity === undefined || v.entity === entity) &&
      (topic === undefined || v.topic === topic) &&
      (store === undefined || v.store === store);
    return backendCall('query', async () => {
      const filter = {
        ...(prefix === undefined ? {} : { prefix }),
        ...(store === undefined || prefix !== undefined ? {} : { index: store }),
        ...(asOfMs === undefined ? {} : { rangeMax: asOfMs + 1 }),
      };
      const rows = await this.backend.records.list(NS.current, filter);
      if (asOfMs !== undefined) {
        const past = await this.backend.records.list(NS.history, filter);
        rows.push(
          ...past.filter((r) => {
            const to = (r.value as unknown as MemoryAssertion).valid_to_ms;
            return to === undefined || to > asOfMs;
          }),
        );
      }
      const assertions = rows
        .map((r) => r.value as unknown as MemoryAssertion)
        .filter(keep)
        .sort(byId);
      const conflictRows = await this.backend.records.list(NS.conflicts, {
        ...(prefix === undefined ? {} : { prefix }),
      });
      const conflicts = conflictRows
        .map((r) => r.value as unknown as MemoryConflictSignal)
        .filter(keep)
        .filter((c) => asOfMs === undefined || c.updated_at_ms <= asOfMs);
      return { assertions, conflicts };
    });
  }

  /**
   * `mobkit/memory/search`: current facts containing every word of `text` (the records port's text
   * index: SQLite FTS5, PostgreSQL full-text, a word scan in memory), best first, optionally narrowed
   * to an entity and/or store. No embeddings: see {@link memoryCapabilities}.
   */
  async search(request: unknown): Promise<MemorySearchResult> {
    const params = record(request, 'params');
    const text = params.text;
    if (typeof text !== 'string' || text.trim() === '') throw invalid('text', 'a non-blank string of keywords', text);
    const entity = optKey(params, 'entity');
    const store = optStore(params);
    const rawLimit = params.limit;
    if (
      rawLimit !== undefined &&
      rawLimit !== null &&
      (typeof rawLimit !== 'number' || !Number.isInteger(rawLimit) || rawLimit < 1 || rawLimit > SEARCH_MAX_LIMIT)
    ) {
      throw invalid('limit', `a whole number from 1 to ${SEARCH_MAX_LIMIT}`, rawLimit);
    }
    const limit = typeof rawLimit === 'number' ? rawLimit : SEARCH_DEFAULT_LIMIT;
    const keep = (a: MemoryAssertion) =>
      (entity === undefined || a.entity === entity) && (store === undefined || a.store === store);
    return backendCall('search', async () => {
      const filtered = entity !== undefined || store !== undefined;
      // With filters, fetch more than asked and widen until enough hits pass or the index is exhausted.
      for (let fetch = filtered ? limit * 4 : limit; ; fetch *= 4) {
        const rows = await this.backend.records.search(NS.current, text, { limit: fetch });
        const hits = rows.map((r) => r.value as unknown as MemoryAssertion).filter(keep);
        if (hits.length >= limit || rows.length < fetch) return { assertions: hits.slice(0, limit) };
      }
    });
  }

  /** The conflict signals matching `query` (entity and topic canonicalized), in key order. */
  async conflicts(query: MemoryConflictQuery = {}): Promise<MemoryConflictSignal[]> {
    return (await this.query(query)).conflicts;
  }

  /** True when a conflict signal exists for the entity (and topic, when given) in any store. */
  async hasConflict(query: MemoryConflictQuery = {}): Promise<boolean> {
    return (await this.conflicts(query)).length > 0;
  }

  /** {@link MemoryConflictLookup.lookup}: a conflict for this entity and topic in any store. */
  async lookup(key: { entity: string; topic: string }): Promise<boolean> {
    const params = record(key, 'key');
    const entity = optKey(params, 'entity');
    const topic = optKey(params, 'topic');
    if (entity === undefined) throw invalid('entity', 'a non-blank string', params.entity);
    if (topic === undefined) throw invalid('topic', 'a non-blank string', params.topic);
    return this.hasConflict({ entity, topic });
  }

  /** {@link MemoryConflictLookup.any}: whether memory holds any conflict signal. */
  async any(): Promise<boolean> {
    return backendCall('conflict lookup', async () => (await this.backend.records.list(NS.conflicts)).length > 0);
  }

  /** The `memory.conflict_read` shape: the first conflict signal for entity/topic, or null. */
  async conflictRead(key: { entity: string; topic: string }): Promise<{ conflict: MemoryConflictSignal | null }> {
    const found = await this.conflicts(key);
    return { conflict: found[0] ?? null };
  }

  /**
   * Removes the conflict signal of (entity, topic, store) once it is resolved; resolves true when
   * there was one. Facts are not touched.
   */
  async clearConflict(key: { entity: string; topic: string; store?: string }): Promise<boolean> {
    const params = record(key, 'key');
    const entity = optKey(params, 'entity');
    const topic = optKey(params, 'topic');
    if (entity === undefined) throw invalid('entity', 'a non-blank string', params.entity);
    if (topic === undefined) throw invalid('topic', 'a non-blank string', params.topic);
    const store = optStore(params) ?? 'knowledge_graph';
    return backendCall('clear conflict', () =>
      this.backend.transaction((tx) => tx.records.delete(NS.conflicts, slotKey(entity, topic, store))),
    );
  }

  /** The version of an (entity, topic, store) slot: how many facts were written to it (0: none). */
  async slotVersion(key: { entity: string; topic: string; store?: string }): Promise<number> {
    const params = record(key, 'key');
    const entity = optKey(params, 'entity') ?? '';
    const topic = optKey(params, 'topic') ?? '';
    const store = optStore(params) ?? 'knowledge_graph';
    return backendCall('slot version', async () => {
      const slot = await this.backend.records.get(NS.slots, slotKey(entity, topic, store));
      return slot?.version ?? 0;
    });
  }
}

/** Creates a {@link MemoryStore} (same as `new MemoryStore(options)`). */
export function createMemory(options: MemoryOptions = {}): MemoryStore {
  return new MemoryStore(options);
}
