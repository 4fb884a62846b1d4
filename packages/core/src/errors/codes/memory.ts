import type { ErrorCodeInfo } from './types.js';

/** Codes raised by `@mobkit/memory` (spec §11). */
export const memoryErrorCodes = {
  EntityRequired: { rpc: -32602, http: 400, summary: 'a memory index call needs a non-blank entity' },
  TopicRequired: { rpc: -32602, http: 400, summary: 'a memory index call needs a non-blank topic' },
  UnsupportedStore: {
    rpc: -32602,
    http: 400,
    summary: 'the memory store is not one of knowledge_graph, vector, timeline, todo, top_of_mind',
  },
  FactRequiredWhenConflictUnset: {
    rpc: -32602,
    http: 400,
    summary: 'a memory index call without conflict: true needs a fact',
  },
  MemoryBackendUnavailable: {
    rpc: -32010,
    http: 503,
    summary: 'the memory backend (the store) failed the write; nothing was changed',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
