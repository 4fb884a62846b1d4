import { describe, expect, it } from 'vitest';
import { isMobKitError } from '@mobkit/core';
import { RouteTable, WILDCARD_ROUTE } from './index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isMobKitError(error) ? error.code : `not a MobKitError: ${String(error)}`;
  }
  return undefined;
}

const base = { routeKey: 'k', recipient: 'alice', sink: 'email', targetModule: 'delivery' };

describe('RouteTable.add validation (spec 7.1)', () => {
  it.each([
    [{ ...base, routeKey: '  ' }, 'EmptyRouteKey'],
    [{ ...base, recipient: '' }, 'EmptyRecipient'],
    [{ ...base, channel: '   ' }, 'InvalidChannel'],
    [{ ...base, sink: ' ' }, 'EmptySink'],
    [{ ...base, targetModule: '' }, 'EmptyTargetModule'],
    [{ ...base, retryMax: 11 }, 'RetryMaxExceedsCap'],
    [{ ...base, rateLimitPerMinute: 0 }, 'InvalidRateLimitPerMinute'],
    [{ ...base, backoffMs: -1 }, 'InvalidInput'],
  ])('rejects %j with %s', (route, code) => {
    const table = new RouteTable();
    expect(codeOf(() => table.add(route))).toBe(code);
    expect(table.size).toBe(0);
  });

  it('names the cap and the provided value in RetryMaxExceedsCap', () => {
    try {
      new RouteTable().add({ ...base, retryMax: 12 });
      expect.unreachable();
    } catch (error) {
      expect(isMobKitError(error, 'RetryMaxExceedsCap')).toBe(true);
      expect((error as { details: unknown }).details).toMatchObject({ provided: 12, cap: 10 });
      expect((error as Error).message).toContain('retry_max');
    }
  });

  it('accepts retry_max 10, trims strings, and upserts by route_key', () => {
    const table = new RouteTable();
    const stored = table.add({ ...base, routeKey: ' k ', recipient: ' alice ', channel: ' sms ', retryMax: 10 });
    expect(stored).toEqual({
      routeKey: 'k',
      recipient: 'alice',
      channel: 'sms',
      sink: 'email',
      targetModule: 'delivery',
      retryMax: 10,
    });
    table.add({ ...base, sink: 'webhook' });
    expect(table.size).toBe(1);
    expect(table.get('k')?.sink).toBe('webhook');
    expect(table.get('k')?.channel).toBeUndefined();
  });

  it('accepts the wire (snake_case) form too', () => {
    const table = new RouteTable();
    table.add({
      route_key: 'w',
      recipient: 'bob',
      sink: 'webhook',
      target_module: 'delivery',
      rate_limit_per_minute: 5,
    });
    expect(table.get('w')).toEqual({
      routeKey: 'w',
      recipient: 'bob',
      sink: 'webhook',
      targetModule: 'delivery',
      rateLimitPerMinute: 5,
    });
  });
});

describe('RouteTable.delete and list', () => {
  it('lists sorted by key, deletes and returns the route, RouteNotFound for unknown keys', () => {
    const table = new RouteTable([
      { ...base, routeKey: 'charlie' },
      { ...base, routeKey: 'alpha' },
      { ...base, routeKey: 'bravo' },
    ]);
    expect(table.list().map((r) => r.routeKey)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(table.delete('bravo').routeKey).toBe('bravo');
    expect(table.list().map((r) => r.routeKey)).toEqual(['alpha', 'charlie']);
    expect(codeOf(() => table.delete('bravo'))).toBe('RouteNotFound');
    expect(codeOf(() => table.delete('  '))).toBe('EmptyRouteKey');
  });
});

describe('RouteTable.match priority (wildcard_routes suite)', () => {
  const table = new RouteTable([
    {
      routeKey: 'a-double',
      recipient: WILDCARD_ROUTE,
      channel: WILDCARD_ROUTE,
      sink: 's-double',
      targetModule: 'delivery',
    },
    {
      routeKey: 'b-star-recipient',
      recipient: '*',
      channel: 'sms',
      sink: 's-star-recipient',
      targetModule: 'delivery',
    },
    { routeKey: 'c-star-channel', recipient: 'alice', channel: '*', sink: 's-star-channel', targetModule: 'delivery' },
    { routeKey: 'd-exact', recipient: 'alice', channel: 'sms', sink: 's-exact', targetModule: 'delivery' },
    { routeKey: 'e-exact-nochannel', recipient: 'bob', sink: 's-bob-any', targetModule: 'delivery' },
  ]);

  it('exact recipient + exact channel beats every wildcard', () => {
    expect(table.match('alice', 'sms')?.sink).toBe('s-exact');
  });
  it('exact recipient + "*" channel beats "*" recipient', () => {
    expect(table.match('alice', 'push')?.sink).toBe('s-star-channel');
  });
  it('exact recipient with absent channel matches any channel at exact priority', () => {
    expect(table.match('bob', 'sms')?.sink).toBe('s-bob-any');
  });
  it('"*" recipient + exact channel beats "*"/"*"', () => {
    expect(table.match('carol', 'sms')?.sink).toBe('s-star-recipient');
  });
  it('"*"/"*" catches the rest', () => {
    expect(table.match('carol', 'push')?.sink).toBe('s-double');
  });
  it('no match without wildcards', () => {
    expect(new RouteTable([{ ...base }]).match('carol', 'sms')).toBeUndefined();
  });
  it('within one priority level the first key wins', () => {
    const t = new RouteTable([
      { routeKey: 'z', recipient: 'dave', sink: 'later', targetModule: 'delivery' },
      { routeKey: 'm', recipient: 'dave', channel: 'notification', sink: 'earlier', targetModule: 'delivery' },
    ]);
    expect(t.match('dave', 'notification')?.sink).toBe('earlier');
  });
});
