import type { ErrorCodeInfo } from './types.js';

/** Codes raised by `@mobkit/gating` (spec §10; the original's names, plus the durable gate's own). */
export const gatingErrorCodes = {
  UnknownPendingId: { rpc: -32602, http: 404, summary: 'no pending approval was ever issued with this pending_id' },
  SelfApprovalForbidden: { rpc: -32602, http: 403, summary: 'the actor of a gated action cannot approve it' },
  ApproverMismatch: {
    rpc: -32602,
    http: 403,
    summary: 'the approver is not the requested_approver of the pending action (or not the caller)',
  },
  AlreadyDecided: {
    rpc: -32602,
    http: 409,
    summary: 'the pending action was already decided (or timed out) differently; the recorded decision stands',
  },
  GatingPendingLimit: {
    rpc: -32000,
    http: 429,
    summary: 'the table of pending approvals is full; decide or let some time out first (nothing is evicted)',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
