import { MobRuntimeError } from '../errors.js';

/** The rkat-rpc methods the adapter cannot work without. */
const REQUIRED_METHODS = ['mob/create', 'mob/spawn', 'mob/members', 'mob/member_send', 'mob/events', 'mob/stream_open'];

/** Refuses a server with another `major.minor` contract or without the mob methods the adapter needs. */
export function checkContract(version: string, methods: string[], accepted: string[]): void {
  const majorMinor = version.split('.').slice(0, 2).join('.');
  if (!accepted.includes(majorMinor)) {
    throw new MobRuntimeError(
      'VERSION_MISMATCH',
      `rkat-rpc speaks contract ${version || '(none)'}, this adapter supports ${accepted.join(', ')}; install a matching Meerkat`,
      { details: { contractVersion: version, accepted } },
    );
  }
  for (const needed of REQUIRED_METHODS) {
    if (!methods.includes(needed)) {
      throw new MobRuntimeError('INTERNAL', `rkat-rpc does not offer ${needed}; build it with the mob feature`, {
        code: 'MobCapabilityMissing',
        details: { method: needed },
      });
    }
  }
}
