/**
 * The wire shapes of memory (spec §11), snake_case exactly as they go on the wire, plus the
 * additive fields of this port (supersession, versions, sources, search).
 * @module
 */
import type { StoreJson } from '@mobkit/core';

/** The five memory stores, in the spec's order; `knowledge_graph` is the default. */
export const MEMORY_STORES = ['knowledge_graph', 'vector', 'timeline', 'todo', 'top_of_mind'] as const;

/** One of {@link MEMORY_STORES}. */
export type MemoryStoreName = (typeof MEMORY_STORES)[number];

/** What memory can do, for `mobkit/capabilities`: keyword search only, no embeddings. */
export const memoryCapabilities = Object.freeze({ semantic_search: false, keyword_search: true } as const);

/** A fact about an entity's topic in one store. */
export interface MemoryAssertion {
  /** `memory-assert-NNNNNN`, never reused (also across restarts). */
  assertion_id: string;
  entity: string;
  topic: string;
  store: MemoryStoreName;
  fact: string;
  metadata?: Record<string, StoreJson>;
  indexed_at_ms: number;
  /** From when the fact holds (its indexing time). */
  valid_from_ms: number;
  /** Until when it held (exclusive), once a newer fact superseded it. */
  valid_to_ms?: number;
  /** The assertion that superseded it. */
  superseded_by?: string;
  /** Who asserted it (`metadata.source` when a non-blank string). */
  source?: string;
  /** The version of the (entity, topic, store) slot this fact was written at (1, 2, …). */
  version: number;
}

/** A conflict signal on an (entity, topic, store) slot. */
export interface MemoryConflictSignal {
  entity: string;
  topic: string;
  store: MemoryStoreName;
  reason?: string;
  updated_at_ms: number;
}

/** `mobkit/memory/index` params. */
export interface MemoryIndexRequest {
  entity: string;
  topic: string;
  store?: string;
  fact?: string;
  metadata?: Record<string, StoreJson>;
  conflict?: boolean;
  conflict_reason?: string;
  /** Keep one current fact on this slot for this call (as if the topic were configured single-valued). */
  single_valued?: boolean;
  /** Compare-and-set: the slot version the caller read (0: nothing was written to it yet). */
  expected_version?: number;
}

/** `mobkit/memory/index` result. */
export interface MemoryIndexResult {
  entity: string;
  topic: string;
  store: MemoryStoreName;
  assertion_id?: string;
  conflict_active: boolean;
}

/** `mobkit/memory/query` params; every field narrows. */
export interface MemoryQueryRequest {
  entity?: string;
  topic?: string;
  store?: string;
  /** What was true at this time (facts with `valid_from_ms <= as_of_ms < valid_to_ms`). */
  as_of_ms?: number;
}

/** `mobkit/memory/query` result. */
export interface MemoryQueryResult {
  assertions: MemoryAssertion[];
  conflicts: MemoryConflictSignal[];
}

/** `mobkit/memory/stores` result. */
export interface MemoryStoresResult {
  stores: Array<{ store: MemoryStoreName; record_count: number }>;
}

/** `mobkit/memory/search` params. */
export interface MemorySearchRequest {
  /** Keywords; a fact matches when it contains every word. */
  text: string;
  entity?: string;
  store?: string;
  /** 1..200, default 20. */
  limit?: number;
}

/** `mobkit/memory/search` result: current facts, best match first. */
export interface MemorySearchResult {
  assertions: MemoryAssertion[];
}

/** A filter of conflict signals (canonicalized like index keys). */
export interface MemoryConflictQuery {
  entity?: string;
  topic?: string;
}

/** What the gate's memory-conflict guard calls (spec §10, r2/r3). */
export interface MemoryConflictLookup {
  /** True when any store holds a conflict signal for this entity and topic. */
  lookup(key: { entity: string; topic: string }): Promise<boolean>;
  /** True when memory holds any conflict signal at all. */
  any(): Promise<boolean>;
}
