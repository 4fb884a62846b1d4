import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type AgentEventPayload,
  AgentEventPayloadCodec,
  agentEventPayloadFromWire,
  agentEventPayloadToWire,
} from './agent-event.js';

const usage = { inputTokens: 12, outputTokens: 3 };

/** One value of every type, each with its expected wire form. */
const CASES: Array<[AgentEventPayload, Record<string, unknown>]> = [
  [
    { type: 'run_started', sessionId: 's-1', prompt: 'hi' },
    { type: 'run_started', session_id: 's-1', prompt: 'hi' },
  ],
  [
    { type: 'turn_started', turnNumber: 2 },
    { type: 'turn_started', turn_number: 2 },
  ],
  [
    { type: 'text_delta', delta: 'o' },
    { type: 'text_delta', delta: 'o' },
  ],
  [
    { type: 'text_complete', content: 'ok' },
    { type: 'text_complete', content: 'ok' },
  ],
  [
    { type: 'tool_call_requested', id: 't1', name: 'search', args: { queryText: 'x', nested: { camelCase: 1 } } },
    { type: 'tool_call_requested', id: 't1', name: 'search', args: { queryText: 'x', nested: { camelCase: 1 } } },
  ],
  [
    {
      type: 'tool_execution_completed',
      id: 't1',
      name: 'search',
      result: '{"hitCount":1}',
      isError: false,
      durationMs: 7,
    },
    {
      type: 'tool_execution_completed',
      id: 't1',
      name: 'search',
      result: '{"hitCount":1}',
      is_error: false,
      duration_ms: 7,
    },
  ],
  [
    { type: 'turn_completed', stopReason: 'tool_use', usage },
    { type: 'turn_completed', stop_reason: 'tool_use', usage: { input_tokens: 12, output_tokens: 3 } },
  ],
  [
    { type: 'run_completed', sessionId: 's-1', result: 'done', usage },
    { type: 'run_completed', session_id: 's-1', result: 'done', usage: { input_tokens: 12, output_tokens: 3 } },
  ],
  [
    { type: 'run_failed', sessionId: 's-1', errorClass: 'cancelled', error: 'stop' },
    { type: 'run_failed', session_id: 's-1', error_class: 'cancelled', error: 'stop' },
  ],
  [
    { type: 'peer_content_ingested', peer: 'lead' },
    { type: 'peer_content_ingested', peer: 'lead' },
  ],
  [
    { type: 'retrying', attempt: 1, delayMs: 250, error: 'overloaded' },
    { type: 'retrying', attempt: 1, delay_ms: 250, error: 'overloaded' },
  ],
  [
    { type: 'other', raw: { type: 'reasoning_delta', delta: 'hm' } },
    { type: 'other', raw: { type: 'reasoning_delta', delta: 'hm' } },
  ],
];

describe('agent event payload codec', () => {
  it.each(CASES)(
    'encodes %o to snake_case, the same through the key map and z.encode, and decodes back',
    (value, wire) => {
      const encoded = agentEventPayloadToWire(value);
      expect(encoded).toStrictEqual(wire);
      expect(Object.keys(encoded)).toEqual(Object.keys(wire)); // key order too: SSE clients see the same JSON
      expect(z.encode(AgentEventPayloadCodec, value)).toStrictEqual(wire);
      expect(agentEventPayloadFromWire(encoded)).toStrictEqual(value);
    },
  );

  it("decodes Meerkat's own spellings: content for tool results, error_report, session id from the envelope", () => {
    expect(
      agentEventPayloadFromWire({
        type: 'tool_execution_completed',
        id: 't',
        name: 'n',
        content: { a: 1 },
        is_error: true,
      }),
    ).toEqual({
      type: 'tool_execution_completed',
      id: 't',
      name: 'n',
      result: '{"a":1}',
      isError: true,
      durationMs: 0,
    });
    expect(
      agentEventPayloadFromWire(
        { type: 'run_failed', error_report: { class: 'provider_error', message: '529' } },
        's-9',
      ),
    ).toEqual({ type: 'run_failed', sessionId: 's-9', errorClass: 'provider_error', error: '529' });
    expect(agentEventPayloadFromWire({ type: 'run_started', prompt: [{ type: 'text', text: 'x' }] }, 's-9')).toEqual({
      type: 'run_started',
      sessionId: 's-9',
      prompt: '[{"type":"text","text":"x"}]',
    });
    expect(agentEventPayloadFromWire({ type: 'run_completed', session_id: 'own', result: 'r' }, 'fallback')).toEqual({
      type: 'run_completed',
      sessionId: 'own',
      result: 'r',
      usage: { inputTokens: 0, outputTokens: 0 },
    });
    expect(agentEventPayloadFromWire({ type: 'turn_completed' })).toEqual({
      type: 'turn_completed',
      stopReason: 'end_turn',
      usage: { inputTokens: 0, outputTokens: 0 },
    });
  });

  it('keeps unknown types and unreadable payloads whole as other, and never throws', () => {
    const unknown = { type: 'compaction_started', reason: 'size' };
    expect(agentEventPayloadFromWire(unknown, 's')).toEqual({ type: 'other', raw: unknown });
    const badUsage = { type: 'run_completed', usage: 'lots' };
    expect(agentEventPayloadFromWire(badUsage)).toEqual({ type: 'other', raw: badUsage });
    expect(agentEventPayloadFromWire('text')).toEqual({ type: 'other', raw: 'text' });
    expect(agentEventPayloadFromWire(null)).toEqual({ type: 'other', raw: null });
    expect(agentEventPayloadFromWire({ no: 'type' })).toEqual({ type: 'other', raw: { no: 'type' } });
  });

  it('leaves out undefined fields instead of writing them', () => {
    const partial = { type: 'text_delta' } as unknown as AgentEventPayload;
    expect(agentEventPayloadToWire(partial)).toStrictEqual({ type: 'text_delta' });
  });
});
