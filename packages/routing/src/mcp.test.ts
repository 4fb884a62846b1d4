import { describe, expect, it } from 'vitest';
import { overridesFromToolResult } from './index.js';

describe('overridesFromToolResult', () => {
  it('reads structured content first, else the joined text blocks', () => {
    expect(
      overridesFromToolResult({
        structuredContent: { sink: 'sms', retry_max: 3 },
        content: [{ type: 'text', text: '{"sink":"ignored"}' }],
      }),
    ).toEqual({
      sink: 'sms',
      retryMax: 3,
    });
    // The original fixture answers text: {"sink":"email","target_module":"delivery"}.
    expect(
      overridesFromToolResult({
        content: [
          { type: 'text', text: '{"sink":"email",' },
          { type: 'text', text: '"target_module":"delivery"}' },
        ],
      }),
    ).toEqual({
      sink: 'email',
      targetModule: 'delivery',
    });
    expect(overridesFromToolResult({ content: [] })).toEqual({});
  });

  it('turns an isError result or a non-override answer into InvalidRouterOverrides', () => {
    expect(() => overridesFromToolResult({ isError: true, content: [{ type: 'text', text: 'boom' }] })).toThrow(
      /failed routing.resolve: boom/,
    );
    expect(() => overridesFromToolResult({ content: [{ type: 'text', text: '[1,2]' }] })).toThrow(
      expect.objectContaining({ code: 'InvalidRouterOverrides' }),
    );
    expect(() => overridesFromToolResult({ content: [{ type: 'text', text: '{"retry_max":-1}' }] })).toThrow(
      expect.objectContaining({ code: 'InvalidRouterOverrides' }),
    );
  });
});
