import { requireMessageSize } from '../message-size.js';
import type { PeerEffect } from './journal.js';
import { type Member, isActive } from './member.js';

/** What the comms tools need from the mob: the roster. */
export interface CommsHost {
  readonly mobId: string;
  /** The bound of one peer message body (a longer one is refused with `MessageTooLarge`). */
  readonly maxMessageBytes: number;
  member(id: string): Member | undefined;
}

function sendPeer(
  host: CommsHost,
  from: Member,
  peerId: string,
  body: unknown,
  mode: unknown,
  effects: PeerEffect[],
): { sent: true; peer_id: string } {
  if (typeof body !== 'string' || body.trim() === '') throw new Error('send_message: body must be non-empty text');
  const target = host.member(peerId);
  if (!from.wired.has(peerId) || !isActive(target)) {
    throw new Error(
      `peer_not_found_or_not_trusted: '${peerId}' is not a wired peer of '${from.id}' (call peers to list wired peers)`,
    );
  }
  requireMessageSize(body, host.maxMessageBytes, { memberId: peerId, field: 'send_message: body' });
  effects.push({ target, item: { kind: 'peer', from: from.id, body }, mode: mode === 'steer' ? 'steer' : 'queue' });
  return { sent: true, peer_id: peerId };
}

/**
 * Runs a comms tool for member `m`: `peers` lists its wired peers (`{peer_id, name, description}`,
 * the name as Meerkat's `{mob}/{role}/{id}`), `send_message` queues a message for a wired peer,
 * `reply_to_peer` answers the peer whose message started the run. A send is not delivered here: it
 * is pushed to `effects`, which the agent loop commits with the tool's result and then delivers.
 * Misuse throws, which the loop turns into an error result for the model.
 */
export function runCommsTool(
  host: CommsHost,
  m: Member,
  name: string,
  args: Record<string, unknown>,
  effects: PeerEffect[],
): unknown {
  if (name === 'peers') {
    return {
      peers: [...m.wired].sort().map((id) => {
        const p = host.member(id);
        return {
          peer_id: id,
          name: `${host.mobId}/${p?.profile.name ?? '?'}/${id}`,
          description: p?.profile.peerDescription ?? '',
        };
      }),
    };
  }
  if (name === 'send_message') {
    const peer = args.peer_id;
    if (typeof peer !== 'string' || peer.trim() === '')
      throw new Error('send_message: peer_id is required (call peers to list wired peers)');
    return sendPeer(host, m, peer, args.body, args.handling_mode, effects);
  }
  if (m.replyTo === undefined)
    throw new Error('reply_to_peer: no peer message started this run; use send_message with a peer_id');
  return sendPeer(host, m, m.replyTo, args.body, args.handling_mode, effects);
}
