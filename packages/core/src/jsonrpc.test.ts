import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MobKitError } from './errors/error.js';
import {
  DEFAULT_RPC_LIMITS,
  RPC_ERROR,
  type RpcHandler,
  type RpcRequest,
  handleRpcText,
  isNotification,
  methodNotFound,
  parseRpcMessage,
  parseRpcParams,
  rpcError,
  rpcErrorFromException,
  rpcResult,
  stringifyRpcResponses,
} from './jsonrpc.js';

const EchoParams = z.object({ modules: z.array(z.string()), timeout_ms: z.number().int().positive().optional() });

async function handler(request: RpcRequest): Promise<unknown> {
  switch (request.method) {
    case 'echo':
      return request.params;
    case 'mobkit/reconcile': {
      const params = parseRpcParams(EchoParams, request.params, request.method);
      return { accepted: params.modules.length };
    }
    case 'fail':
      throw new MobKitError('InvalidInput', 'member_id must not be blank', { details: { field: 'member_id' } });
    case 'crash':
      throw new TypeError('boom');
    default:
      throw methodNotFound(request.method);
  }
}

describe('parseRpcMessage', () => {
  it('parses a single request and a notification', () => {
    const single = parseRpcMessage('{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}');
    expect(single.batch).toBe(false);
    expect(single.entries[0]).toEqual({
      ok: true,
      request: { jsonrpc: '2.0', id: 1, method: 'echo', params: { a: 1 } },
    });
    const note = parseRpcMessage('{"jsonrpc":"2.0","method":"echo"}');
    const entry = note.entries[0];
    expect(entry?.ok && isNotification(entry.request)).toBe(true);
  });

  it('-32700 with id null for text that is not JSON', () => {
    const message = parseRpcMessage('{"jsonrpc":"2.0",');
    expect(message.entries[0]).toEqual({
      ok: false,
      response: { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } },
    });
  });

  it('-32600 for a wrong version, a missing method, bad params and an empty batch', () => {
    const cases = [
      '{"jsonrpc":"1.0","id":3,"method":"x"}',
      '{"jsonrpc":"2.0","id":4}',
      '{"jsonrpc":"2.0","id":5,"method":"x","params":7}',
      '[]',
      '42',
      '{"jsonrpc":"2.0","id":{"no":1},"method":"x"}',
    ];
    for (const text of cases) {
      const entry = parseRpcMessage(text).entries[0];
      expect(entry?.ok, text).toBe(false);
      if (entry && !entry.ok) expect(entry.response.error.code, text).toBe(-32600);
    }
    const keepsId = parseRpcMessage('{"jsonrpc":"1.0","id":3,"method":"x"}').entries[0];
    if (keepsId && !keepsId.ok) expect(keepsId.response.id).toBe(3);
  });
});

describe('handleRpcText', () => {
  it('answers a request with its result', async () => {
    expect(await handleRpcText('{"jsonrpc":"2.0","id":"a","method":"echo","params":[1,2]}', handler)).toEqual({
      jsonrpc: '2.0',
      id: 'a',
      result: [1, 2],
    });
  });

  it('sends nothing for a notification, but runs it', async () => {
    let ran = 0;
    const response = await handleRpcText('{"jsonrpc":"2.0","method":"tick"}', () => {
      ran += 1;
      return 'ignored';
    });
    expect(response).toBeUndefined();
    expect(ran).toBe(1);
  });

  it('answers a batch in order, skipping notifications and keeping invalid members as errors', async () => {
    const text = JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'echo', params: { x: 1 } },
      { jsonrpc: '2.0', method: 'echo' },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      { foo: 'bar' },
    ]);
    const responses = (await handleRpcText(text, handler)) as unknown[];
    expect(responses).toEqual([
      { jsonrpc: '2.0', id: 1, result: { x: 1 } },
      {
        jsonrpc: '2.0',
        id: 2,
        error: {
          code: -32601,
          message: 'Method not found: nope',
          data: { code: 'RpcMethodNotFound', details: { method: 'nope' } },
        },
      },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: jsonrpc must be "2.0"' } },
    ]);
  });

  it('a batch of notifications only produces no response', async () => {
    expect(
      await handleRpcText('[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]', handler),
    ).toBeUndefined();
  });

  it('-32602 names the parameter path', async () => {
    const response = await handleRpcText(
      '{"jsonrpc":"2.0","id":9,"method":"mobkit/reconcile","params":{"modules":["a",7]}}',
      handler,
    );
    expect(response).toMatchObject({ id: 9, error: { code: -32602 } });
    const message = (response as { error: { message: string } }).error.message;
    expect(message).toMatch(/^Invalid params: modules\[1\]: expected string, got (integer|number)$/);
  });

  it('-32602 names a missing parameter', async () => {
    const response = await handleRpcText('{"jsonrpc":"2.0","id":9,"method":"mobkit/reconcile","params":{}}', handler);
    expect((response as { error: { message: string } }).error.message).toContain('modules: required');
  });

  it('maps a MobKitError through the code table and keeps its details; hides stacks of other errors', async () => {
    const mapped = await handleRpcText('{"jsonrpc":"2.0","id":1,"method":"fail"}', handler);
    expect(mapped).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32602,
        message: 'member_id must not be blank',
        data: { code: 'InvalidInput', details: { field: 'member_id' } },
      },
    });
    const crashed = await handleRpcText('{"jsonrpc":"2.0","id":2,"method":"crash"}', handler);
    expect(crashed).toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: { code: RPC_ERROR.INTERNAL_ERROR, message: 'Internal error: boom' },
    });
  });
});

const nested = (depth: number, leaf = '1') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
const request = (params: string, id: unknown = 1, method = 'echo') =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"${method}","params":${params}}`;

describe('framing limits', () => {
  it('the defaults are documented numbers', () => {
    expect(DEFAULT_RPC_LIMITS).toEqual({ maxDepth: 64, maxMessageBytes: 1024 * 1024 });
  });

  it('params nested 10,000 levels deep are -32602 naming the limit, with the id, and never reach the handler', async () => {
    let ran = 0;
    const response = await handleRpcText(request(nested(10_000), 7, 'constructor'), () => {
      ran += 1;
      return 'ran';
    });
    expect(ran).toBe(0);
    expect(response).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: -32602,
        message: 'Invalid params: request nesting deeper than 64 levels',
        data: { code: 'RpcParamsTooDeep', details: { max_depth: 64 } },
      },
    });
    expect(() => JSON.stringify(response)).not.toThrow();
  });

  it('the request object is level 1: params at the limit pass, one level more is refused', async () => {
    // {params: [[…1…]]}: the request is level 1, so params may nest 63 arrays.
    expect(await handleRpcText(request(nested(63)), handler)).toMatchObject({ id: 1, result: expect.any(Array) });
    expect(await handleRpcText(request(nested(64)), handler)).toMatchObject({ id: 1, error: { code: -32602 } });
  });

  it('a deep member other than params is -32600 naming the limit', async () => {
    const text = `{"jsonrpc":"2.0","id":1,"method":"echo","extra":${nested(100)}}`;
    expect(await handleRpcText(text, handler)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32600,
        message: 'Invalid Request: request nesting deeper than 64 levels',
        data: { code: 'RpcNestingTooDeep', details: { max_depth: 64 } },
      },
    });
  });

  it('each member of a batch is measured on its own: a deep one is refused, its neighbours are answered', async () => {
    const text = `[${request('[1]', 1)},${request(nested(5_000), 2)},${request('{"a":1}', 3)}]`;
    expect(await handleRpcText(text, handler)).toMatchObject([
      { id: 1, result: [1] },
      { id: 2, error: { code: -32602, message: 'Invalid params: request nesting deeper than 64 levels' } },
      { id: 3, result: { a: 1 } },
    ]);
  });

  it('a message over the byte limit is -32600 naming the limit, counted in UTF-8 bytes, before it is parsed', async () => {
    const limits = { maxDepth: 64, maxMessageBytes: 64 };
    const fits = request('["é"]'); // 48 characters, 49 bytes
    expect(parseRpcMessage(fits, limits).entries[0]).toMatchObject({ ok: true });
    const over = request(`["${'é'.repeat(20)}"]`); // 67 characters, 87 bytes
    expect(parseRpcMessage(over, limits)).toEqual({
      batch: false,
      entries: [
        {
          ok: false,
          response: {
            jsonrpc: '2.0',
            id: null,
            error: {
              code: -32600,
              message: 'Invalid Request: message larger than 64 bytes',
              data: { code: 'RpcMessageTooLarge', details: { max_bytes: 64 } },
            },
          },
        },
      ],
    });
    const big = request(JSON.stringify('x'.repeat(DEFAULT_RPC_LIMITS.maxMessageBytes)));
    expect(await handleRpcText(big, handler)).toMatchObject({
      id: null,
      error: { code: -32600, message: 'Invalid Request: message larger than 1048576 bytes' },
    });
  });

  it('limits are configurable and checked on every path, including parse errors of deep garbage', async () => {
    expect(await handleRpcText(request(nested(3)), handler, { maxDepth: 3, maxMessageBytes: 1024 })).toMatchObject({
      error: { code: -32602, message: 'Invalid params: request nesting deeper than 3 levels' },
    });
    expect(await handleRpcText(nested(100_000, ''), handler)).toMatchObject([{ id: null, error: { code: -32600 } }]);
    expect(await handleRpcText('['.repeat(100_000), handler)).toMatchObject({ id: null, error: { code: -32700 } });
  });
});

describe('a response that cannot be serialized', () => {
  // What a transport writes: the answer of handleRpcText through stringifyRpcResponses, parsed back.
  const wire = async (text: string, handler: RpcHandler) =>
    JSON.parse(stringifyRpcResponses(await handleRpcText(text, handler)));

  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const deep = JSON.parse(nested(10_000));

  it.each([
    ['a cyclic result', () => cyclic],
    ['a result 10,000 levels deep', () => deep],
    ['a bigint result', () => 10n],
    [
      'a result whose toJSON throws',
      () => ({
        toJSON: () => {
          throw new Error('nope');
        },
      }),
    ],
  ])('%s is answered -32603, and the answer itself serializes', async (_what, result) => {
    const response = await wire('{"jsonrpc":"2.0","id":5,"method":"x"}', result);
    expect(response).toEqual({
      jsonrpc: '2.0',
      id: 5,
      error: {
        code: -32603,
        message: 'Internal error: the response could not be serialized',
        data: { code: 'RpcResponseUnserializable' },
      },
    });
    expect(() => JSON.stringify(response)).not.toThrow();
  });

  it('an error whose details or message cannot be serialized is answered -32603 too', async () => {
    const badDetails = await wire('{"jsonrpc":"2.0","id":6,"method":"x"}', () => {
      throw new MobKitError('InvalidInput', 'bad', { details: { cyclic } });
    });
    expect(badDetails).toMatchObject({ id: 6, error: { code: -32603, data: { code: 'RpcResponseUnserializable' } } });
    const badThrow = await wire('{"jsonrpc":"2.0","id":7,"method":"x"}', () => {
      throw {
        toString: () => {
          throw new Error('no string');
        },
      };
    });
    expect(badThrow).toMatchObject({ id: 7, error: { code: -32603 } });
    expect(() => JSON.stringify([badDetails, badThrow])).not.toThrow();
  });

  it('in a batch only the unserializable member is replaced', async () => {
    const text = '[{"jsonrpc":"2.0","id":1,"method":"ok"},{"jsonrpc":"2.0","id":2,"method":"cyclic"}]';
    const responses = await wire(text, (r) => (r.method === 'ok' ? 'fine' : cyclic));
    expect(responses).toMatchObject([
      { id: 1, result: 'fine' },
      { id: 2, error: { code: -32603 } },
    ]);
  });
});

describe('builders', () => {
  it('build results and errors', () => {
    expect(rpcResult(1, undefined)).toEqual({ jsonrpc: '2.0', id: 1, result: null });
    expect(rpcError('x', -32000, 'nope', { a: 1 })).toEqual({
      jsonrpc: '2.0',
      id: 'x',
      error: { code: -32000, message: 'nope', data: { a: 1 } },
    });
    expect(rpcErrorFromException(null, 'plain string')).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32603, message: 'Internal error: plain string' },
    });
  });
});
