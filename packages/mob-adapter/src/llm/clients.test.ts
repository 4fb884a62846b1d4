import { describe, expect, it } from 'vitest';
import { parseSse } from './sse.js';
import { ScriptedLlmClient, TestClient } from './test-client.js';
import type { LlmEvent, LlmRequest } from './types.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* bytes(...parts: string[]): AsyncIterable<Uint8Array> {
  const enc = new TextEncoder();
  for (const p of parts) yield enc.encode(p);
}

const req = (memberId: string, profile: string): LlmRequest => ({
  model: 'm',
  system: '',
  messages: [],
  tools: [],
  maxTokens: 10,
  caller: { memberId, profile },
});

describe('parseSse', () => {
  it('handles CRLF, split chunks, multi-line data, comments and a missing final blank line', async () => {
    const events = await collect(
      parseSse(bytes(': keep-alive\r\nevent: a\r\nda', 'ta: one\r\ndata: two\r\n\r\n', 'data:three\n\ndata: {"x":1}')),
    );
    expect(events).toEqual([
      { event: 'a', data: 'one\ntwo' },
      { event: undefined, data: 'three' },
      { event: undefined, data: '{"x":1}' },
    ]);
  });

  it('keeps one event when a CRLF is split between two chunks, and treats a lone CR as a line end', async () => {
    expect(await collect(parseSse(bytes('data: one\r', '\ndata: two\r\n\r\n')))).toEqual([
      { event: undefined, data: 'one\ntwo' },
    ]);
    expect(await collect(parseSse(bytes('data: a\r', 'data: b\r\r')))).toEqual([{ event: undefined, data: 'a\nb' }]);
  });

  it('decodes multi-byte characters split across chunks', async () => {
    const enc = new TextEncoder().encode('data: héllo ✓\n\n');
    const cut = 8; // inside the é
    async function* split(): AsyncIterable<Uint8Array> {
      yield enc.slice(0, cut);
      yield enc.slice(cut);
    }
    expect(await collect(parseSse(split()))).toEqual([{ event: undefined, data: 'héllo ✓' }]);
  });
});

describe('TestClient', () => {
  it('answers "ok", a zero usage and end_turn, like Meerkat', async () => {
    const client = new TestClient();
    const events = await collect(client.stream(req('a', 'p'), new AbortController().signal));
    expect(events).toEqual<LlmEvent[]>([
      { type: 'text_delta', delta: 'ok' },
      { type: 'usage', usage: { inputTokens: 0, outputTokens: 0 } },
      { type: 'done', stopReason: 'end_turn' },
    ]);
    expect(client.calls).toBe(1);
    expect(TestClient.delayed(5).provider).toBe('delayed-test');
  });
});

describe('ScriptedLlmClient', () => {
  it('answers by member id first, then by profile, then the fallback', async () => {
    const client = new ScriptedLlmClient(
      { 'w-1': [{ text: 'member' }], worker: [{ text: 'profile' }] },
      { fallback: { text: 'fallback' } },
    );
    const text = async (m: string, p: string) =>
      (await collect(client.stream(req(m, p), new AbortController().signal)))
        .filter((e) => e.type === 'text_delta')
        .map((e) => (e.type === 'text_delta' ? e.delta : ''))
        .join('');
    expect(await text('w-1', 'worker')).toBe('member');
    expect(await text('w-1', 'worker')).toBe('profile');
    expect(await text('w-1', 'worker')).toBe('fallback');
    expect(client.requests.map((r) => r.key)).toEqual(['w-1', 'worker', 'fallback']);
  });

  it('emits tool calls with ids and ends the turn with tool_use', async () => {
    const client = new ScriptedLlmClient({
      a: [{ toolCalls: [{ name: 'peers' }, { id: 'x', name: 'send_message', args: { peer_id: 'b', body: 'hi' } }] }],
    });
    const events = await collect(client.stream(req('a', 'p'), new AbortController().signal));
    expect(events.filter((e) => e.type === 'tool_call_complete')).toEqual([
      { type: 'tool_call_complete', id: 'call_1', name: 'peers', args: {} },
      { type: 'tool_call_complete', id: 'x', name: 'send_message', args: { peer_id: 'b', body: 'hi' } },
    ]);
    expect(events.at(-1)).toEqual({ type: 'done', stopReason: 'tool_use' });
  });
});
