import { MobRuntimeError, type MobErrorWireCode } from '../errors.js';

/** A JSON-RPC error object as rkat-rpc sends it. */
export interface RkatRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

const PREFIXES: Array<[string, MobErrorWireCode]> = [
  ['mob not found:', 'MOB_NOT_FOUND'],
  ['profile not found:', 'PROFILE_NOT_FOUND'],
  ['mob member not found:', 'MEMBER_NOT_FOUND'],
  ['mob member already exists:', 'MEMBER_ALREADY_EXISTS'],
  ['mob member is not externally addressable:', 'NOT_EXTERNALLY_ADDRESSABLE'],
  ['invalid state transition:', 'INVALID_TRANSITION'],
  ['definition error:', 'DEFINITION_ERROR'],
  ['invalid mob definition:', 'DEFINITION_ERROR'],
  ['wiring error:', 'WIRING_ERROR'],
  ['topology violation:', 'TOPOLOGY_VIOLATION'],
  ['unsupported for runtime mode', 'UNSUPPORTED_FOR_MODE'],
  ['kickoff wait timed out', 'TIMEOUT'],
  ['member ready wait timed out', 'TIMEOUT'],
];

/**
 * Maps an rkat-rpc error to a {@link MobRuntimeError} (meerkat-mob.md §4.6 and §5.4): by code first
 * (−32002 BUSY retryable, −32027 STALE_CURSOR, −32028 STALE_FENCE, −32025 SCOPE_DENIED, −32010
 * PROVIDER_ERROR, −32601 capability missing), then −32602 by message prefix; anything else is
 * INTERNAL with the message kept. The original code, message and data stay in `details`.
 */
export function mapRkatRpcError(error: RkatRpcErrorObject, method: string): MobRuntimeError {
  const details = {
    rpcCode: error.code,
    rpcMessage: error.message,
    method,
    ...(error.data !== undefined ? { data: error.data } : {}),
  };
  const byCode: Record<number, MobErrorWireCode> = {
    [-32002]: 'BUSY',
    [-32027]: 'STALE_CURSOR',
    [-32028]: 'STALE_FENCE',
    [-32025]: 'SCOPE_DENIED',
    [-32010]: 'PROVIDER_ERROR',
  };
  const direct = byCode[error.code];
  if (direct) return new MobRuntimeError(direct, error.message, { details, retryable: direct === 'BUSY' });
  if (error.code === -32601) {
    return new MobRuntimeError(
      'INTERNAL',
      `rkat-rpc does not support ${method}: ${error.message} (build it with the mob feature, or upgrade it)`,
      {
        code: 'MobCapabilityMissing',
        details,
      },
    );
  }
  if (error.code === -32602) {
    const lower = error.message.toLowerCase();
    for (const [prefix, code] of PREFIXES)
      if (
        lower.startsWith(prefix) ||
        (code === 'UNSUPPORTED_FOR_MODE' && lower.includes('only valid for turn_driven'))
      ) {
        return new MobRuntimeError(code, error.message, { details });
      }
    if (lower.startsWith('invalid params')) return new MobRuntimeError('INVALID_INPUT', error.message, { details });
  }
  return new MobRuntimeError('INTERNAL', `rkat-rpc ${method} failed: ${error.message}`, { details });
}
