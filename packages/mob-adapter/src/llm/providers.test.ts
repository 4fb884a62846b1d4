// The real OpenAI-compatible and Anthropic clients over loopback HTTP against test-utils' fakes:
// images, provider params, native structured output and extended thinking, asserted on the bodies
// the fakes received and on the events the clients yield.
import {
  type FakeAnthropic,
  type FakeOpenAi,
  expectMobKitError,
  startFakeAnthropic,
  startFakeOpenAi,
} from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { AnthropicClient } from './anthropic.js';
import { OpenAiCompatibleClient } from './openai.js';
import type { LlmClient, LlmEvent, LlmRequest } from './types.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==';

async function run(client: LlmClient, request: LlmRequest): Promise<LlmEvent[]> {
  const out: LlmEvent[] = [];
  for await (const ev of client.stream(request, new AbortController().signal)) out.push(ev);
  return out;
}

const textOf = (events: LlmEvent[]) => events.map((e) => (e.type === 'text_delta' ? e.delta : '')).join('');

const base = (over: Partial<LlmRequest> = {}): LlmRequest => ({
  model: 'm-1',
  system: 'be brief',
  messages: [{ role: 'user', content: 'hi' }],
  tools: [],
  maxTokens: 100,
  ...over,
});

const lookTool = {
  name: 'look',
  description: 'looks',
  inputSchema: { type: 'object', properties: { at: { type: 'string' } } },
};

let openai: FakeOpenAi | undefined;
let anthropic: FakeAnthropic | undefined;
afterEach(async () => {
  await openai?.close();
  await anthropic?.close();
  openai = undefined;
  anthropic = undefined;
});

describe('OpenAiCompatibleClient', () => {
  it('sends a user message with images as text then image_url parts (data URL or URL as is)', async () => {
    openai = await startFakeOpenAi({ answer: () => ({ text: 'a red dot' }) });
    const client = new OpenAiCompatibleClient({ apiKey: 'k', baseUrl: openai.url });
    const events = await run(
      client,
      base({
        messages: [
          {
            role: 'user',
            content: 'what is this?',
            images: [{ mediaType: 'image/png', data: PNG }, { url: 'https://example.test/a.jpg' }],
          },
          { role: 'assistant', content: 'a dot', toolCalls: [] },
          { role: 'user', content: 'plain' },
        ],
      }),
    );
    expect(textOf(events)).toBe('a red dot');
    const body = openai.requests[0]?.body as { messages: unknown[] };
    expect(body.messages).toEqual([
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://example.test/a.jpg' } },
        ],
      },
      { role: 'assistant', content: 'a dot' },
      { role: 'user', content: 'plain' },
    ]);
    expect(openai.requests[0]?.messages[1]).toMatchObject({
      content: 'what is this?',
      images: [`data:image/png;base64,${PNG}`, 'https://example.test/a.jpg'],
    });
    expect(openai.requests[0]?.headers.authorization).toBe('Bearer k');
  });

  it('maps provider params (they win over max_tokens and temperature) and sends nothing for reasoning', async () => {
    openai = await startFakeOpenAi({ answer: () => ({ text: 'ok' }) });
    const client = new OpenAiCompatibleClient({ baseUrl: openai.url });
    await run(
      client,
      base({
        temperature: 0.9,
        providerParams: {
          temperature: 0.2,
          topP: 0.7,
          maxOutputTokens: 321,
          providerTag: 'team-a/w-1',
          reasoning: 'emit',
          thinkingBudgetTokens: 2048,
        },
      }),
    );
    const body = openai.requests[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ max_tokens: 321, temperature: 0.2, top_p: 0.7, user: 'team-a/w-1', stream: true });
    expect(Object.keys(body).sort()).toEqual(
      ['max_tokens', 'messages', 'model', 'stream', 'stream_options', 'temperature', 'top_p', 'user'].sort(),
    );

    await run(client, base({ temperature: 0.9 }));
    const plain = openai.requests[1]?.body as Record<string, unknown>;
    expect(plain).toMatchObject({ max_tokens: 100, temperature: 0.9 });
    expect(plain).not.toHaveProperty('top_p');
    expect(plain).not.toHaveProperty('user');
    expect(plain).not.toHaveProperty('response_format');
  });

  it('asks for native structured output with response_format json_schema', async () => {
    openai = await startFakeOpenAi({ answer: () => ({ text: '{"n":3}' }) });
    const client = new OpenAiCompatibleClient({ baseUrl: openai.url });
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    const events = await run(client, base({ outputSchema: schema, tools: [lookTool] }));
    expect(openai.requests[0]?.body?.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'output', schema, strict: false },
    });
    expect(openai.requests[0]?.tools).toEqual(['look']);
    expect(JSON.parse(textOf(events))).toEqual({ n: 3 });
    expect(events.at(-1)).toEqual({ type: 'done', stopReason: 'end_turn' });
  });
});

describe('AnthropicClient', () => {
  it('sends images after the text as base64 or url sources, and a message of images alone without a text block', async () => {
    anthropic = await startFakeAnthropic({ answer: () => ({ text: 'two pictures' }), apiKey: 'sk-test' });
    const client = new AnthropicClient({ apiKey: 'sk-test', baseUrl: anthropic.url });
    const events = await run(
      client,
      base({
        messages: [
          { role: 'user', content: 'compare', images: [{ mediaType: 'image/png', data: PNG }] },
          { role: 'assistant', content: 'send the other', toolCalls: [] },
          { role: 'user', content: '', images: [{ url: 'https://example.test/b.png' }] },
        ],
      }),
    );
    expect(textOf(events)).toBe('two pictures');
    const request = anthropic.requests[0];
    expect(request?.headers['anthropic-version']).toBe('2023-06-01');
    expect(request?.apiKey).toBe('sk-test');
    expect(request?.body?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'compare' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'send the other' }] },
      { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.test/b.png' } }] },
    ]);
  });

  it('maps provider params: max_tokens and temperature win over the request, top_p, metadata.user_id; no thinking without a budget', async () => {
    anthropic = await startFakeAnthropic({
      answer: () => ({ text: 'ok', usage: { inputTokens: 12, outputTokens: 3 } }),
    });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const events = await run(
      client,
      base({
        temperature: 0.9,
        providerParams: { temperature: 0.3, topP: 0.8, maxOutputTokens: 555, providerTag: 'w-1', reasoning: 'emit' },
      }),
    );
    expect(events.filter((e) => e.type === 'usage')).toEqual([
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 3 } },
    ]);
    const body = anthropic.requests[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({
      model: 'm-1',
      system: 'be brief',
      max_tokens: 555,
      temperature: 0.3,
      top_p: 0.8,
      metadata: { user_id: 'w-1' },
    });
    expect(body).not.toHaveProperty('thinking');

    await run(client, base({ temperature: 0.9, providerParams: { thinkingBudgetTokens: 4096, reasoning: 'off' } }));
    const off = anthropic.requests[1]?.body as Record<string, unknown>;
    expect(off).toMatchObject({ max_tokens: 100, temperature: 0.9 });
    expect(off).not.toHaveProperty('thinking');
    expect(off).not.toHaveProperty('metadata');
  });

  it('enables extended thinking with a budget: raises max_tokens above it, drops temperature and a low top_p, and sends the thinking back in the tool loop', async () => {
    anthropic = await startFakeAnthropic({
      answer: (r) =>
        r.index === 0
          ? { thinking: 'I should look first.', toolCalls: [{ id: 'toolu_a', name: 'look', input: { at: 'sky' } }] }
          : { thinking: 'It is blue.', text: 'blue' },
    });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const params = { thinkingBudgetTokens: 2048, maxOutputTokens: 1000, temperature: 0.2, topP: 0.5 };
    const first = await run(client, base({ tools: [lookTool], providerParams: params }));
    expect(first.filter((e) => e.type === 'tool_call_complete')).toEqual([
      { type: 'tool_call_complete', id: 'toolu_a', name: 'look', args: { at: 'sky' } },
    ]);
    expect(first.at(-1)).toEqual({ type: 'done', stopReason: 'tool_use' });
    const body = anthropic.requests[0]?.body as Record<string, unknown>;
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(body.max_tokens).toBe(3048);
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('top_p');

    const second = await run(
      client,
      base({
        tools: [lookTool],
        providerParams: { ...params, maxOutputTokens: 8000, topP: 0.97 },
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'toolu_a', name: 'look', args: { at: 'sky' } }] },
          { role: 'tool_results', results: [{ toolCallId: 'toolu_a', name: 'look', content: 'blue', isError: false }] },
        ],
      }),
    );
    expect(textOf(second)).toBe('blue');
    const next = anthropic.requests[1]?.body as Record<string, unknown>;
    expect(next).toMatchObject({ max_tokens: 8000, top_p: 0.97 });
    expect(anthropic.requests[1]?.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should look first.', signature: 'sig-0' },
        { type: 'tool_use', id: 'toolu_a', name: 'look', input: { at: 'sky' } },
      ],
    });
  });

  it('rejects a thinking budget under 1024 naming the field, before any request', async () => {
    anthropic = await startFakeAnthropic({ answer: () => ({ text: 'ok' }) });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const error = await expectMobKitError(
      run(client, base({ providerParams: { thinkingBudgetTokens: 500 } })),
      'InvalidInput',
    );
    expect(error.message).toContain('provider_params.thinking_budget_tokens');
    expect(anthropic.requests).toHaveLength(0);
  });

  it('forces the structured_output tool without other tools and yields its input as the JSON answer', async () => {
    anthropic = await startFakeAnthropic({
      answer: () => ({ toolCalls: [{ name: 'structured_output', input: { city: 'Oslo', n: 2 } }] }),
    });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const schema = { type: 'object', properties: { city: { type: 'string' }, n: { type: 'integer' } } };
    const events = await run(client, base({ outputSchema: schema }));
    const body = anthropic.requests[0]?.body as Record<string, unknown>;
    expect(body.tool_choice).toEqual({ type: 'tool', name: 'structured_output' });
    expect(body.tools).toEqual([expect.objectContaining({ name: 'structured_output', input_schema: schema })]);
    expect(events.filter((e) => e.type !== 'usage')).toEqual([
      { type: 'text_delta', delta: JSON.stringify({ city: 'Oslo', n: 2 }) },
      { type: 'done', stopReason: 'end_turn' },
    ]);
  });

  it('with other tools: tool_choice any, a non-object schema wrapped in {value} and unwrapped, and other tool calls win', async () => {
    anthropic = await startFakeAnthropic({
      answer: (r) =>
        r.index === 0
          ? { text: 'let me look', toolCalls: [{ id: 'toolu_l', name: 'look', input: { at: 'list' } }] }
          : { text: 'here it is', toolCalls: [{ name: 'structured_output', input: { value: ['a', 'b'] } }] },
    });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const schema = { type: 'array', items: { type: 'string' } };
    const looked = await run(client, base({ outputSchema: schema, tools: [lookTool] }));
    expect(looked.filter((e) => e.type !== 'usage')).toEqual([
      { type: 'text_delta', delta: 'let me look' },
      { type: 'tool_call_complete', id: 'toolu_l', name: 'look', args: { at: 'list' } },
      { type: 'done', stopReason: 'tool_use' },
    ]);
    const body = anthropic.requests[0]?.body as Record<string, unknown>;
    expect(body.tool_choice).toEqual({ type: 'any' });
    expect(anthropic.requests[0]?.tools).toEqual(['look', 'structured_output']);
    expect((body.tools as Array<Record<string, unknown>>)[1]?.input_schema).toEqual({
      type: 'object',
      properties: { value: schema },
      required: ['value'],
    });

    const answered = await run(client, base({ outputSchema: schema, tools: [lookTool] }));
    expect(answered.filter((e) => e.type !== 'usage')).toEqual([
      { type: 'text_delta', delta: '["a","b"]' },
      { type: 'done', stopReason: 'end_turn' },
    ]);
  });

  it('with thinking on, leaves tool_choice auto (the API forbids forcing a tool) and still takes the answer tool', async () => {
    anthropic = await startFakeAnthropic({
      answer: () => ({ thinking: 'hmm', toolCalls: [{ name: 'structured_output', input: { ok: true } }] }),
    });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const events = await run(
      client,
      base({ outputSchema: { type: 'object' }, providerParams: { thinkingBudgetTokens: 1024, reasoning: 'silent' } }),
    );
    const body = anthropic.requests[0]?.body as Record<string, unknown>;
    expect(body).not.toHaveProperty('tool_choice');
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    expect(body.max_tokens).toBe(1124);
    expect(textOf(events)).toBe('{"ok":true}');
  });

  it('rejects a tool named structured_output next to an output schema', async () => {
    anthropic = await startFakeAnthropic({ answer: () => ({ text: 'ok' }) });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    await expectMobKitError(
      run(client, base({ outputSchema: { type: 'object' }, tools: [{ ...lookTool, name: 'structured_output' }] })),
      'InvalidInput',
    );
    expect(anthropic.requests).toHaveLength(0);
  });

  it('reports an HTTP error and a stream error event as provider errors', async () => {
    anthropic = await startFakeAnthropic({
      answer: (r) =>
        r.index === 0
          ? { status: 400, errorType: 'invalid_request_error', message: 'bad image' }
          : { streamError: 'busy', errorType: 'overloaded_error' },
    });
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const http = await expectMobKitError(run(client, base()), 'ProviderError');
    expect(http.message).toContain('HTTP 400');
    expect(http.message).toContain('bad image');
    const stream = await expectMobKitError(run(client, base()), 'ProviderError');
    expect(stream.message).toContain('overloaded_error');
  });
});
