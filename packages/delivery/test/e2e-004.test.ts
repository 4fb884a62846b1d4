import { describe, expect, it } from 'vitest';
import { ManualClock, type EventEnvelope } from '@mobkit/core';
// Delivery depends on core only; this scenario wires the real routing package in-process the way
// the umbrella runtime will (routing's trusted store → delivery's lookup), importing its sources.
import { RoutingService, routingResolutionToWire } from '../../routing/src/index.js';
import { DeliveryService, MemorySink, MobMemberSink, type DeliveryResolution } from '../src/index.js';
import { codeOf } from './fixtures.js';

describe('seed e2e_004: resolve then deliver', () => {
  it('user@example.com on transactional → sink email, target delivery; send with a key → sent', async () => {
    const events: EventEnvelope[] = [];
    const clock = new ManualClock(10_000);
    const routing = new RoutingService({ clock, emit: (e) => events.push(e), loadedModules: ['router', 'delivery'] });
    const email = new MemorySink();
    const delivery = new DeliveryService({
      sinks: { email },
      trusted: routing.trusted,
      clock,
      emit: (e) => events.push(e),
      loadedModules: ['router', 'delivery'],
    });

    const resolution = await routing.resolve({ recipient: 'user@example.com', channel: 'transactional' });
    expect(routingResolutionToWire(resolution)).toMatchObject({
      route_id: 'route-000000',
      sink: 'email',
      target_module: 'delivery',
      channel: 'transactional',
    });

    const record = await delivery.send({ resolution, payload: { text: 'receipt' }, idempotencyKey: 'e2e-004' });
    expect(record).toMatchObject({
      routeId: resolution.routeId,
      status: 'sent',
      targetModule: 'delivery',
      recipient: 'user@example.com',
    });
    expect(email.messages).toHaveLength(1);
    expect(
      events.map((e) => `${(e.event as { module: string }).module}/${(e.event as { eventType: string }).eventType}`),
    ).toEqual(['router/resolved', 'delivery/send']);

    // A resolution routing never issued, or one with an altered field, is refused.
    const forged: DeliveryResolution = { ...resolution, recipient: 'attacker@example.com' };
    expect(await codeOf(delivery.send({ resolution: forged, payload: 1 }))).toBe('ForgedResolution');
    expect(await codeOf(delivery.send({ resolution: { ...resolution, routeId: 'route-000777' }, payload: 1 }))).toBe(
      'UnknownRouteId',
    );
  });

  it('roster routes (sink mob_member) reach a member through the callback', async () => {
    const routing = new RoutingService({
      routes: [
        {
          routeKey: 'mob.member.worker-1',
          recipient: 'worker-1',
          channel: 'notification',
          sink: 'mob_member',
          targetModule: 'delivery',
        },
      ],
    });
    const handed: Array<[string, unknown]> = [];
    const delivery = new DeliveryService({
      sinks: { mob_member: new MobMemberSink((member, payload) => void handed.push([member, payload])) },
      trusted: routing.trusted,
    });
    const resolution = await routing.resolve({ recipient: 'worker-1' });
    expect(resolution.sink).toBe('mob_member');
    await delivery.send({ resolution, payload: { text: 'please review' } });
    expect(handed).toEqual([['worker-1', { text: 'please review' }]]);
  });
});
