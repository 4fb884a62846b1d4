import { MobKitError } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { errorToolResult, jsonTool, jsonToolResult } from './tool-result.js';

describe('JSON tool results', () => {
  it('carries the value as one JSON text block', () => {
    expect(jsonToolResult({ sink: 'sms', retry_max: 1 })).toEqual({
      content: [{ type: 'text', text: '{"sink":"sms","retry_max":1}' }],
    });
  });

  it('carries an error as MobKit {code, message, details}; a plain Error is Internal', () => {
    const known = new MobKitError('EmptyRecipient', 'recipient must not be blank', { details: { field: 'recipient' } });
    expect(errorToolResult(known)).toEqual({
      isError: true,
      content: [
        {
          type: 'text',
          text: '{"code":"EmptyRecipient","message":"recipient must not be blank","details":{"field":"recipient"}}',
        },
      ],
    });
    const plain = JSON.parse((errorToolResult(new Error('boom')).content[0] as { text: string }).text);
    expect(plain).toEqual({ code: 'Internal', message: 'boom' });
  });

  it('jsonTool answers the handler value, and its throw or rejection as an error result', async () => {
    const echo = jsonTool((args: { name: string }) => ({ hello: args.name }));
    expect(await echo({ name: 'Ada' })).toEqual(jsonToolResult({ hello: 'Ada' }));
    const throws = jsonTool(() => {
      throw new MobKitError('InvalidInput', 'name: expected string');
    });
    expect(await throws()).toEqual(errorToolResult(new MobKitError('InvalidInput', 'name: expected string')));
    const rejects = jsonTool(async () => Promise.reject(new MobKitError('Timeout', 'too slow')));
    expect((await rejects()).isError).toBe(true);
  });
});
