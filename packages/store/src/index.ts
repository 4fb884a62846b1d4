/**
 * @mobkit/store — adapters behind core's storage ports.
 * @packageDocumentation
 */

// memory
export { createMemoryStore, type MemoryStoreOptions } from './memory/index.js';
