// Generators of hostile JSON-RPC input, as the bytes a peer sends. JSON is assembled as TEXT (never
// through JSON.stringify of a built value) so inputs can carry what no JS object holds: duplicate keys,
// own `__proto__` keys, nesting thousands of levels deep, numbers that overflow, strings of ~2 MiB,
// and bytes that are not UTF-8.
import fc from 'fast-check';

/** The framing limits of @mobkit/core (64 levels, 1 MiB): lengths and depths are drawn around them. */
const MAX_DEPTH = 64;
const MAX_BYTES = 1024 * 1024;

/** Names `Object.prototype` (and friends) answer to: as method names and as param keys. */
const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  'prototype',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  'toJSON',
] as const;

/** Every param name the built-in methods read (so generated params hit the schemas, not only unknown keys). */
const KNOWN_FIELDS = [
  'member_id',
  'meerkat_id',
  'profile',
  'module_id',
  'message',
  'content',
  'initial_message',
  'label_key',
  'label_value',
  'labels',
  'context',
  'resume_session_id',
  'additional_instructions',
  'modules',
  'tool',
  'arguments',
  'timeout_ms',
  'scope',
  'last_event_id',
  'agent_id',
  'route',
  'route_key',
  'recipient',
  'sink',
  'channel',
  'target_module',
  'limit',
  'resolution',
  'payload',
  'idempotency_key',
  'schedules',
  'schedule_id',
  'interval',
  'timezone',
  'enabled',
  'jitter_ms',
  'catch_up',
  'tick_ms',
  'retry_max',
  'backoff_ms',
  'rate_limit_per_minute',
] as const;

/** Values a method would take for real, so some generated calls pass validation and mutate the mob. */
const PLAUSIBLE_STRINGS = [
  'worker',
  'w-1',
  'w-2',
  'fuzz-member',
  'router',
  'delivery',
  'mob',
  'agent',
  'interaction',
  'text',
  '*',
  '*/5 * * * *',
  'UTC',
  'webhook',
  'hello',
  ' ',
  '',
];

const text = (value: unknown) => JSON.stringify(value);
const objectText = (pairs: ReadonlyArray<readonly [string, string]>) =>
  `{${pairs.map(([k, v]) => `${text(k)}:${v}`).join(',')}}`;

/** One UTF-16 unit of any value, lone surrogates included (JSON.stringify writes those as `\udXXX`). */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Scalar JSON text: odd numbers, control characters, lone surrogates, plausible names. */
const scalarText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'null',
    'true',
    'false',
    '0',
    '-0',
    '1',
    '-1',
    '1.5',
    '1e400',
    '-1e400',
    '1e-400',
    '9007199254740993',
    '123456789012345678901234567890',
    '600001',
    '"\\u0000"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => text(n)),
  fc.string({ unit: anyUnit, maxLength: 24 }).map(text),
  fc.constantFrom(...PLAUSIBLE_STRINGS).map(text),
);

/** A string of `bytes` UTF-8 bytes (one to four bytes a character, or a 6-byte escape), around the limits up to ~2 MiB. */
const longStringText: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 64 * 1024 }) },
      { weight: 2, arbitrary: fc.constantFrom(MAX_BYTES - 200, MAX_BYTES - 1, MAX_BYTES + 1, 2 * MAX_BYTES) },
      { weight: 1, arbitrary: fc.integer({ min: MAX_BYTES, max: 2 * MAX_BYTES }) },
    ),
    fc.constantFrom(['x', 1], ['é', 2], ['€', 3], ['𝄞', 4], ['\\u0000', 6], ['\\"', 2]),
  )
  .map(([bytes, [unit, size]]) => `"${(unit as string).repeat(Math.max(1, Math.floor(bytes / (size as number))))}"`);

/** A value nested `depth` levels (arrays, objects or both), around and far past the 64-level limit. */
const deepText: fc.Arbitrary<string> = fc
  .record({
    depth: fc.oneof(
      fc.integer({ min: MAX_DEPTH - 4, max: MAX_DEPTH + 4 }),
      fc.integer({ min: MAX_DEPTH + 5, max: 20_000 }),
    ),
    kind: fc.constantFrom('array', 'object', 'mixed', 'proto'),
    leaf: scalarText,
  })
  .map(({ depth, kind, leaf }) => {
    if (kind === 'array') return `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
    if (kind === 'object') return `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
    if (kind === 'proto') return `${'{"__proto__":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
    const half = Math.ceil(depth / 2);
    return `${'[{"k":'.repeat(half)}${leaf}${'}]'.repeat(half)}`;
  });

const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_FIELDS) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: anyUnit, maxLength: 12 }) },
);

/** Small JSON values: scalars, and arrays and objects (prototype keys, duplicates) a few levels deep. */
const { value: smallValueText } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { weight: 4, arbitrary: scalarText },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`) },
    { weight: 1, arbitrary: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 4 }).map(objectText) },
  ),
}));

/** A param's value: mostly small, sometimes ~2 MiB long, nested past the limit, or all prototype keys. */
const fieldValueText = fc.oneof(
  { weight: 80, arbitrary: smallValueText },
  { weight: 1, arbitrary: longStringText },
  { weight: 1, arbitrary: deepText },
  {
    weight: 1,
    arbitrary: fc
      .array(smallValueText, { minLength: PROTOTYPE_KEYS.length, maxLength: PROTOTYPE_KEYS.length })
      .map((values) => objectText(PROTOTYPE_KEYS.map((k, i) => [k, values[i] as string] as const))),
  },
);

/**
 * Where a run's marker goes: only in EXTRA keys (top-level unknown params or request members), never
 * in a field a method reads, so a method that legitimately stores and returns what it was given (a
 * member id, a label) can never make it appear; a marker in any `result` is an echo of input.
 */
function markerPair(marker: string): fc.Arbitrary<readonly [string, string]> {
  return fc.constantFrom<readonly [string, string]>(
    ['fuzz_extra', text(marker)],
    ['__proto__', text(marker)],
    ['constructor', text(marker)],
    [marker, 'true'],
    ['fuzz_nested', `{"echo":[${text(marker)}],"__proto__":{"polluted":${text(marker)}}}`],
  );
}

/** Params: absent, an object of known/unknown/prototype keys (the marker among the extras), an array, a scalar, or deep. */
function paramsText(marker: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 10,
      arbitrary: fc
        .tuple(fc.array(fc.tuple(keyArb, fieldValueText), { maxLength: 6 }), fc.option(markerPair(marker)))
        .map(([pairs, extra]) => objectText(extra ? [...pairs, extra] : pairs)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.array(fieldValueText, { maxLength: 4 }), fc.boolean())
        .map(([items, withMarker]) => `[${(withMarker ? [...items, text(marker)] : items).join(',')}]`),
    },
    { weight: 1, arbitrary: scalarText },
    { weight: 1, arbitrary: deepText },
  );
}

/** A method name: every advertised method (most weight), prototype names, unknown and module-proxy names, wrong types. */
function methodText(methods: readonly string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...methods).map(text) },
    { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS).map(text) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...PROTOTYPE_KEYS, 'teleport', '', 'status/', 'delivery/send')
        .chain((name) => fc.constantFrom(`mobkit/${name}`, `${name}/x`, `router/${name}`, `${name}/`).map(text)),
    },
    { weight: 1, arbitrary: fc.string({ unit: anyUnit, maxLength: 20 }).map(text) },
    { weight: 1, arbitrary: smallValueText },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** Valid params of the built-in methods: mutated (a field dropped, retyped, an extra key added) they probe each schema's edges. */
const TEMPLATES: Record<string, Record<string, unknown>> = {
  'mobkit/spawn_member': { profile: 'worker', meerkat_id: 'fuzz-member' },
  'mobkit/send_message': { member_id: 'w-1', message: 'hello' },
  'mobkit/get_member': { member_id: 'w-1' },
  'mobkit/retire_member': { member_id: 'fuzz-member' },
  'mobkit/respawn_member': { member_id: 'w-2' },
  'mobkit/find_members': { label_key: 'role', label_value: 'lead' },
  'mobkit/ensure_member': { profile: 'worker', meerkat_id: 'w-3', labels: { role: 'lead' }, context: { a: 1 } },
  'mobkit/reconcile': { modules: [] },
  'mobkit/call_tool': { module_id: 'router', tool: 'echo', arguments: {} },
  'mobkit/events/subscribe': { scope: 'agent', agent_id: 'w-1' },
  'mobkit/routing/resolve': { recipient: 'w-1', channel: 'transactional' },
  'mobkit/routing/routes/add': {
    route: {
      route_key: 'fuzz-route',
      recipient: 'w-1',
      channel: 'transactional',
      sink: 'member',
      target_module: 'delivery',
    },
  },
  'mobkit/routing/routes/delete': { route_key: 'fuzz-route' },
  'mobkit/delivery/send': { resolution: { route_id: 'r', recipient: 'w-1', sink: 'member' }, payload: 'hi' },
  'mobkit/delivery/history': { limit: 5 },
  'mobkit/scheduling/evaluate': {
    schedules: [{ schedule_id: 's', interval: '*/1 * * * *', timezone: 'UTC', enabled: true }],
    tick_ms: 60_000,
  },
  'mobkit/scheduling/dispatch': {
    schedules: [{ schedule_id: 's', interval: '*/1 * * * *', timezone: 'UTC', enabled: true }],
    tick_ms: 120_000,
  },
  'mobkit/query_events': {
    member_id: 'w-1',
    kinds: ['agent'],
    event_types: ['run_completed'],
    after_seq: 0,
    limit: 10,
  },
};

/**
 * A near-valid call of an advertised method: its template's fields with some dropped, some given a
 * generated value of another type, and maybe an extra key carrying the marker.
 */
export function nearValidText(methods: readonly string[], marker: string): fc.Arbitrary<string> {
  return fc
    .record({
      method: fc.constantFrom(...methods),
      id: fc.integer({ min: 0, max: 1_000_000 }),
      keep: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      retyped: fc.array(fc.option(smallValueText, { freq: 4 }), { minLength: 8, maxLength: 8 }),
      extra: fc.option(markerPair(marker), { freq: 2 }),
    })
    .map(({ method, id, keep, retyped, extra }) => {
      const pairs: Array<readonly [string, string]> = [];
      Object.entries(TEMPLATES[method] ?? {}).forEach(([key, value], i) => {
        if (keep[i] === false && keep[(i + 1) % keep.length] === false) return;
        pairs.push([key, retyped[i] ?? text(value)]);
      });
      if (extra) pairs.push(extra);
      return `{"jsonrpc":"2.0","id":${id},"method":${text(method)},"params":${objectText(pairs)}}`;
    });
}

/** An id: number, string, null, absent (a notification), or invalid (object, array, bool, overflowing). */
const idText: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1_000_000 }).map(String) },
  { weight: 3, arbitrary: fc.string({ unit: anyUnit, maxLength: 10 }).map(text) },
  { weight: 1, arbitrary: fc.constant('null') },
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('{}', '[1]', 'true', '1e400', '1.5', '-0', '{"__proto__":1}') },
);

/** One request object's text: every member optional or wrong, extra members, duplicates, the marker among the extras. */
export function requestText(methods: readonly string[], marker: string): fc.Arbitrary<string> {
  return fc
    .record({
      jsonrpc: fc.oneof(
        { weight: 10, arbitrary: fc.constant<string | undefined>('"2.0"') },
        { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, '"1.0"', '2', '2.0', 'null', '" 2.0"') },
      ),
      id: idText,
      method: methodText(methods),
      params: paramsText(marker),
      extra: fc.option(markerPair(marker), { freq: 2 }),
      duplicate: fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('method', 'params', 'id', 'jsonrpc'), smallValueText) },
      ),
    })
    .map(({ jsonrpc, id, method, params, extra, duplicate }) => {
      const pairs: Array<readonly [string, string]> = [];
      if (jsonrpc !== undefined) pairs.push(['jsonrpc', jsonrpc]);
      if (id !== undefined) pairs.push(['id', id]);
      if (method !== undefined) pairs.push(['method', method]);
      if (params !== undefined) pairs.push(['params', params]);
      if (extra) pairs.push(extra);
      if (duplicate) pairs.push(duplicate);
      return objectText(pairs);
    });
}

/** A batch: empty, or requests mixed with notifications, scalars, nested arrays and deep members. */
export function batchText(methods: readonly string[], marker: string): fc.Arbitrary<string> {
  const member = fc.oneof(
    { weight: 8, arbitrary: requestText(methods, marker) },
    { weight: 1, arbitrary: scalarText },
    { weight: 1, arbitrary: smallValueText },
    { weight: 1, arbitrary: fc.constant('[]') },
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('[]', '[[]]', '[[],[]]', '[null]', '[ ]') },
    { weight: 8, arbitrary: fc.array(member, { minLength: 1, maxLength: 12 }).map((items) => `[${items.join(',')}]`) },
  );
}

/** Byte sequences that are not UTF-8: stray continuation bytes, overlongs, surrogates, past U+10FFFF, truncated. */
const INVALID_UTF8 = [
  [0xff],
  [0xfe],
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xf0, 0x9f],
  [0xe2, 0x82],
  [0xc3],
];
const invalidUtf8 = fc
  .array(fc.constantFrom(...INVALID_UTF8), { minLength: 1, maxLength: 4 })
  .map((seqs) => Buffer.from(seqs.flat()));

/** Raw bytes on the wire: random bytes, requests with invalid UTF-8 spliced in or inside a string, truncated requests. */
export function rawBytes(methods: readonly string[], marker: string): fc.Arbitrary<Buffer> {
  const request = requestText(methods, marker);
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
    fc.tuple(request, fc.nat(), invalidUtf8).map(([t, at, bad]) => {
      const bytes = Buffer.from(t);
      const cut = at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, cut), bad, bytes.subarray(cut)]);
    }),
    fc
      .tuple(fc.constantFrom(...methods, 'constructor'), fc.constantFrom(...KNOWN_FIELDS), invalidUtf8, fc.boolean())
      .map(([method, field, bad, asKey]) => {
        const head = Buffer.from(`{"jsonrpc":"2.0","id":1,"method":${text(method)},"params":{"`);
        const body = asKey
          ? [bad, Buffer.from(`":"${'w-1'}"}}`)]
          : [Buffer.from(`${field}":"w-`), bad, Buffer.from('"}}')];
        return Buffer.concat([head, ...body]);
      }),
    fc.tuple(request, fc.nat()).map(([t, n]) => Buffer.from(t.slice(0, n % (t.length + 1)))),
    fc
      .tuple(request, fc.integer({ min: 0, max: 255 }))
      .map(([t, b]) => Buffer.concat([Buffer.from(t), Buffer.from([b])])),
  );
}

/** The extremes on their own: deep or huge params, request members and batch members. */
export function extremeText(methods: readonly string[]): fc.Arbitrary<string> {
  const big = fc.oneof(deepText, longStringText);
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(...methods, ...PROTOTYPE_KEYS), fc.constantFrom(...KNOWN_FIELDS, '__proto__'), big)
      .map(([m, field, v]) => `{"jsonrpc":"2.0","id":1,"method":${text(m)},"params":{${text(field)}:${v}}}`),
    fc
      .tuple(fc.constantFrom(...methods), big)
      .map(([m, v]) => `{"jsonrpc":"2.0","id":2,"method":${text(m)},"params":[${v}]}`),
    fc.tuple(fc.constantFrom(...methods), big).map(([m, v]) => `{"jsonrpc":"2.0","id":3,"method":${text(m)},"x":${v}}`),
    fc.tuple(big).map(([v]) => `{"jsonrpc":"2.0","id":${v},"method":"mobkit/status"}`),
    fc.tuple(big).map(([v]) => `{"jsonrpc":"2.0","id":4,"method":${v}}`),
    fc.tuple(fc.constantFrom(...methods), big).map(([m, v]) => `[{"jsonrpc":"2.0","id":5,"method":${text(m)}},${v}]`),
    deepText,
  );
}
