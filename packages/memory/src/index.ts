/**
 * `@mobkit/memory`: keyed entity/topic assertions per store with conflict signals, supersession
 * with `as_of` queries, compare-and-set and keyword search, durable through core's storage ports.
 * @module
 */
export { MemoryStore, createMemory, MEMORY_NAMESPACES, type MemoryOptions } from './memory.js';
export {
  MEMORY_STORES,
  memoryCapabilities,
  type MemoryStoreName,
  type MemoryAssertion,
  type MemoryConflictSignal,
  type MemoryIndexRequest,
  type MemoryIndexResult,
  type MemoryQueryRequest,
  type MemoryQueryResult,
  type MemoryStoresResult,
  type MemorySearchRequest,
  type MemorySearchResult,
  type MemoryConflictQuery,
  type MemoryConflictLookup,
} from './types.js';
