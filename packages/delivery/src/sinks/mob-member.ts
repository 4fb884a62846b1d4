import { MobKitError } from '@mobkit/core';
import { SinkError, type SinkAdapter, type SinkMessage, type SinkOutcome } from './types.js';

/**
 * Hands the payload to a mob member. The unified runtime wires it to `mob.sendMessage(member, …)`.
 * The recipient of the resolution is the member id. Throw a `SinkError` to choose whether a retry
 * may help; any other throw counts as retryable.
 */
export type MobMemberHandler = (memberId: string, payload: unknown, message: SinkMessage) => unknown;

/** The `mob_member` sink: delivery to a member of the mob through a callback. */
export class MobMemberSink implements SinkAdapter {
  readonly adapter = 'mob_member';
  constructor(private readonly handler: MobMemberHandler) {
    if (typeof handler !== 'function')
      throw new MobKitError(
        'InvalidInput',
        'MobMemberSink: handler must be a function (memberId, payload, message) => …',
      );
  }

  async send(message: SinkMessage): Promise<SinkOutcome> {
    try {
      await this.handler(message.recipient, message.payload, message);
      return { ok: true };
    } catch (error) {
      if (error instanceof SinkError) return { ok: false, retryable: error.retryable, error: error.message };
      return {
        ok: false,
        retryable: true,
        error: `mob member ${message.recipient}: ${(error as Error)?.message ?? String(error)}`,
      };
    }
  }
}
