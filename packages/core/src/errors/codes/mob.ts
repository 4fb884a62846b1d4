import type { ErrorCodeInfo } from './types.js';

/**
 * Codes raised by the mob: definitions, roster, members, LLM clients, rkat-rpc. Reuse a code from core.ts when the meaning is the same.
 * The Meerkat wire name of each code (`NOT_EXTERNALLY_ADDRESSABLE`, `MEMBER_NOT_FOUND`, …) travels in `details.mobCode`.
 */
export const mobErrorCodes = {
  MobNotFound: { rpc: -32602, http: 404, summary: 'no mob with that id (Meerkat: "mob not found: X")' },
  ProfileNotFound: { rpc: -32602, http: 404, summary: 'the mob definition has no profile with that name' },
  MemberNotFound: {
    rpc: -32602,
    http: 404,
    summary: 'the mob has no member with that id (Meerkat: "mob member not found: X")',
  },
  SessionNotFound: {
    rpc: -32602,
    http: 404,
    summary: 'no session with that id is known to the mob (not in its store, or purged)',
  },
  MemberAlreadyExists: { rpc: -32602, http: 409, summary: 'a member with that id is already in the roster' },
  NotExternallyAddressable: {
    rpc: -32602,
    http: 403,
    summary: "the member's profile is not external_addressable, so the host may not send to it",
  },
  InvalidTransition: {
    rpc: -32602,
    http: 409,
    summary: 'the mob is not in a state that allows the operation (e.g. stopped)',
  },
  DefinitionError: { rpc: -32602, http: 400, summary: 'the mob definition is invalid (profiles, skills, wiring)' },
  WiringError: {
    rpc: -32602,
    http: 400,
    summary: 'a member cannot be wired (e.g. its profile has tools.comms = false)',
  },
  MessageTooLarge: {
    rpc: -32602,
    http: 413,
    summary: 'one message (host send, prompt, initial or peer message) is larger than the max_message_bytes limit',
  },
  UnsupportedForMode: { rpc: -32602, http: 400, summary: "the operation is not valid for the member's runtime_mode" },
  TopologyViolation: { rpc: -32602, http: 403, summary: 'the mob topology forbids this dispatch' },
  MobBusy: {
    rpc: -32002,
    http: 503,
    summary: 'the mob or member is busy (retirement or lifecycle in progress); retry',
  },
  StaleCursor: { rpc: -32027, http: 409, summary: 'the event cursor was pruned from the mob event log' },
  StaleFence: { rpc: -32028, http: 409, summary: 'a stale fence token was presented' },
  ScopeDenied: { rpc: -32025, http: 403, summary: 'the caller lacks the scope the mob operation needs' },
  MobTimeout: { rpc: -32000, http: 504, summary: 'a mob wait (kickoff, readiness, turn) timed out' },
  RunCancelled: {
    rpc: -32000,
    http: 409,
    summary: 'the agent run was cancelled (AbortSignal, cancel, retire or stop)',
  },
  MaxTurnsExceeded: { rpc: -32011, http: 422, summary: 'the agent run hit its max-turns guard before ending its turn' },
  BudgetExceeded: {
    rpc: -32011,
    http: 429,
    summary: 'the run would pass a budget limit (tokens per run or per day, tool calls per run)',
  },
  OutputSchemaMismatch: {
    rpc: -32011,
    http: 422,
    summary: "the run's final answer did not match the profile's output_schema, also after one correction",
  },
  VisionUnsupported: {
    rpc: -32602,
    http: 400,
    summary: "a message carries images but the member's model does not take images",
  },
  ProviderError: {
    rpc: -32010,
    http: 502,
    summary: 'the LLM provider failed (HTTP error, bad stream, refused request)',
  },
  MissingProviderKey: {
    rpc: -32010,
    http: 500,
    summary: 'no API key for the profile provider is set in the environment',
  },
  MobTransport: { rpc: -32603, http: 502, summary: 'the rkat-rpc process exited or sent a frame that is not JSON-RPC' },
  MobVersionMismatch: {
    rpc: -32603,
    http: 502,
    summary: 'the rkat-rpc contract version or method set does not fit this adapter',
  },
  MobCapabilityMissing: { rpc: -32601, http: 501, summary: 'the rkat-rpc build lacks a method the adapter needs' },
} as const satisfies Record<string, ErrorCodeInfo>;
