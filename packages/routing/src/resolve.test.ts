import { describe, expect, it } from 'vitest';
import { ManualClock, isMobKitError } from '@mobkit/core';
import {
  RouteTable,
  RoutingService,
  TrustedResolutions,
  inferSink,
  resolveRouting,
  routingResolutionToWire,
  type RoutingResolvedEvent,
} from './index.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isMobKitError(error) ? error.code : `not a MobKitError: ${String(error)}`;
  }
  return undefined;
}

describe('resolveRouting defaults and sink inference', () => {
  it('resolves user@example.com to email/delivery with the spec defaults (seed e2e_004)', async () => {
    const trusted = new TrustedResolutions();
    const r = await resolveRouting({ recipient: 'user@example.com' }, { trusted });
    expect(routingResolutionToWire(r)).toEqual({
      route_id: 'route-000000',
      recipient: 'user@example.com',
      channel: 'notification',
      sink: 'email',
      target_module: 'delivery',
      retry_max: 1,
      backoff_ms: 250,
      rate_limit_per_minute: 2,
    });
    expect(trusted.get('route-000000')).toEqual(r);
  });

  it('infers sms for a leading +, webhook otherwise', async () => {
    expect(inferSink('+15550100')).toBe('sms');
    expect(inferSink('https://hooks.example/x')).toBe('webhook');
    expect(inferSink('ops-team')).toBe('webhook');
    expect(inferSink('a+b@example.com')).toBe('email');
    const trusted = new TrustedResolutions();
    expect((await resolveRouting({ recipient: ' +4670 ' }, { trusted })).sink).toBe('sms');
    expect((await resolveRouting({ recipient: ' +4670 ' }, { trusted })).recipient).toBe('+4670');
  });

  it('issues route-000000, route-000001, … in order', async () => {
    const trusted = new TrustedResolutions();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await resolveRouting({ recipient: `r${i}` }, { trusted })).routeId);
    expect(ids).toEqual(['route-000000', 'route-000001', 'route-000002']);
  });

  it('keeps the caller values when given', async () => {
    const r = await resolveRouting(
      { recipient: 'x', channel: 'alerts', retryMax: 10, backoffMs: 5, rateLimitPerMinute: 7 },
      { trusted: new TrustedResolutions() },
    );
    expect(r).toMatchObject({ channel: 'alerts', retryMax: 10, backoffMs: 5, rateLimitPerMinute: 7 });
  });
});

describe('resolveRouting checks', () => {
  const trusted = new TrustedResolutions();
  it.each([
    [{ recipient: '  ' }, 'EmptyRecipient'],
    [{ recipient: 'x', channel: ' ' }, 'InvalidChannel'],
    [{ recipient: 'x', retryMax: 11 }, 'RetryMaxExceedsCap'],
    [{ recipient: 'x', rateLimitPerMinute: 0 }, 'InvalidRateLimitPerMinute'],
    [{ recipient: 'x', backoffMs: 1.5 }, 'InvalidInput'],
  ])('%j → %s', async (request, code) => {
    expect(await codeOf(resolveRouting(request, { trusted }))).toBe(code);
  });

  it('requires router and delivery loaded when loadedModules is given', async () => {
    expect(await codeOf(resolveRouting({ recipient: 'x' }, { trusted, loadedModules: ['delivery'] }))).toBe(
      'RouterModuleNotLoaded',
    );
    expect(await codeOf(resolveRouting({ recipient: 'x' }, { trusted, loadedModules: ['router'] }))).toBe(
      'DeliveryModuleNotLoaded',
    );
    await expect(
      resolveRouting({ recipient: 'x' }, { trusted, loadedModules: () => ['router', 'delivery'] }),
    ).resolves.toBeDefined();
  });

  it('issues no route id for a rejected request', async () => {
    const t = new TrustedResolutions();
    await codeOf(resolveRouting({ recipient: '' }, { trusted: t }));
    expect(t.issuedCount).toBe(0);
    expect((await resolveRouting({ recipient: 'x' }, { trusted: t })).routeId).toBe('route-000000');
  });
});

describe('router-module overrides, then runtime-route overrides', () => {
  it('sends the defaulted wire request to the router and applies its overrides', async () => {
    const seen: unknown[] = [];
    const r = await resolveRouting(
      { recipient: 'user@example.com' },
      {
        trusted: new TrustedResolutions(),
        router: (req) => {
          seen.push(req);
          return JSON.stringify({
            sink: 'webhook',
            target_module: 'delivery',
            retry_max: 4,
            backoff_ms: null,
            unrelated: true,
          });
        },
      },
    );
    expect(seen).toEqual([
      {
        recipient: 'user@example.com',
        channel: 'notification',
        retry_max: 1,
        backoff_ms: 250,
        rate_limit_per_minute: 2,
      },
    ]);
    expect(r).toMatchObject({ sink: 'webhook', retryMax: 4, backoffMs: 250 });
  });

  it('accepts camelCase overrides from a TypeScript router function', async () => {
    const r = await resolveRouting(
      { recipient: 'x' },
      { trusted: new TrustedResolutions(), router: () => ({ retryMax: 3, backoffMs: 10, targetModule: 'delivery' }) },
    );
    expect(r).toMatchObject({ retryMax: 3, backoffMs: 10 });
  });

  it('applies a matching runtime route after the router (sink/target always, policy when set)', async () => {
    const routes = new RouteTable([
      {
        routeKey: 'mob.member.alpha',
        recipient: 'alpha',
        channel: 'notification',
        sink: 'mob_member',
        targetModule: 'delivery',
        rateLimitPerMinute: 9,
      },
    ]);
    const r = await resolveRouting(
      { recipient: 'alpha' },
      {
        trusted: new TrustedResolutions(),
        routes,
        router: async () => ({ sink: 'webhook', target_module: 'other', retry_max: 3 }),
      },
    );
    expect(r).toMatchObject({
      sink: 'mob_member',
      targetModule: 'delivery',
      retryMax: 3,
      rateLimitPerMinute: 9,
      backoffMs: 250,
    });
  });

  it('matches the route against the channel the router chose', async () => {
    const routes = new RouteTable([
      { routeKey: 'k', recipient: '*', channel: 'alerts', sink: 'pager', targetModule: 'delivery' },
    ]);
    const r = await resolveRouting(
      { recipient: 'x' },
      { trusted: new TrustedResolutions(), routes, router: () => ({ channel: 'alerts' }) },
    );
    expect(r).toMatchObject({ channel: 'alerts', sink: 'pager' });
  });

  it('re-checks the caps after overrides and rejects bad router answers', async () => {
    const trusted = new TrustedResolutions();
    expect(await codeOf(resolveRouting({ recipient: 'x' }, { trusted, router: () => ({ retry_max: 11 }) }))).toBe(
      'RetryMaxExceedsCap',
    );
    expect(
      await codeOf(resolveRouting({ recipient: 'x' }, { trusted, router: () => ({ rate_limit_per_minute: 0 }) })),
    ).toBe('InvalidRateLimitPerMinute');
    expect(await codeOf(resolveRouting({ recipient: 'x' }, { trusted, router: () => ({ sink: ' ' }) }))).toBe(
      'EmptySink',
    );
    expect(await codeOf(resolveRouting({ recipient: 'x' }, { trusted, router: () => ({ retry_max: 'two' }) }))).toBe(
      'InvalidRouterOverrides',
    );
    expect(await codeOf(resolveRouting({ recipient: 'x' }, { trusted, router: () => 'not json' }))).toBe(
      'InvalidRouterOverrides',
    );
    expect(trusted.issuedCount).toBe(0);
  });
});

describe('trusted store and router/resolved events', () => {
  it('remembers at most 512 resolutions, forgetting the oldest', async () => {
    const service = new RoutingService();
    for (let i = 0; i < 513; i++) await service.resolve({ recipient: `r${i}` });
    expect(service.trusted.size).toBe(512);
    expect(service.trusted.get('route-000000')).toBeUndefined();
    expect(service.trusted.get('route-000001')?.recipient).toBe('r1');
    expect(service.trusted.get('route-000512')?.recipient).toBe('r512');
  });

  it('returns frozen resolutions so a caller cannot alter the trusted copy', async () => {
    const service = new RoutingService();
    const r = await service.resolve({ recipient: 'x' });
    expect(() => {
      (r as { sink: string }).sink = 'forged';
    }).toThrow();
    expect(service.trusted.get(r.routeId)?.sink).toBe('webhook');
  });

  it('emits router/resolved with evt-routing ids and timestamps never behind the merged stream or each other', async () => {
    const events: RoutingResolvedEvent[] = [];
    const clock = new ManualClock(1_000);
    let latest = 5_000;
    const service = new RoutingService({ clock, emit: (e) => events.push(e), latestEventMs: () => latest });
    const r0 = await service.resolve({ recipient: 'user@example.com' });
    latest = 0;
    await service.resolve({ recipient: 'b' });
    clock.set(9_000);
    await service.resolve({ recipient: 'c' });
    expect(events.map((e) => [e.eventId, e.timestampMs])).toEqual([
      ['evt-routing-000000', 5_000],
      ['evt-routing-000001', 5_000],
      ['evt-routing-000002', 9_000],
    ]);
    expect(events[0]).toMatchObject({
      source: 'module',
      event: { kind: 'module', module: 'router', eventType: 'resolved' },
    });
    expect(events[0]?.event.payload).toEqual(routingResolutionToWire(r0));
  });
});
