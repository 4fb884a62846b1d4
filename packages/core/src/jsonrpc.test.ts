import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MobKitError } from './errors/error.js';
import {
  RPC_ERROR,
  type RpcRequest,
  handleRpcText,
  isNotification,
  methodNotFound,
  parseRpcMessage,
  parseRpcParams,
  rpcError,
  rpcErrorFromException,
  rpcResult,
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
