/**
 * The in-memory adapter of the storage ports.
 * @module
 */
export { createMemoryStore, type MemoryStoreOptions } from './store.js';
