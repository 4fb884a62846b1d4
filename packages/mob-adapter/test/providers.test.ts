import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnthropicClient,
  type LlmEvent,
  type LlmRequest,
  OpenAiCompatibleClient,
  createEmbeddedMob,
} from '../src/index.js';
import { fixtureDefinition, rejection } from './helpers.js';

interface Recorded {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

type Responder = (req: Recorded, res: ServerResponse) => void;

/** A loopback HTTP server whose answers are queued per test. */
class FakeProvider {
  readonly requests: Recorded[] = [];
  private readonly queue: Responder[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        const rec: Recorded = {
          path: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(raw || '{}') as Record<string, unknown>,
        };
        this.requests.push(rec);
        const next = this.queue.shift();
        if (!next) {
          res.writeHead(500).end('no scripted answer');
          return;
        }
        next(rec, res);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers with SSE text written in the given pieces (split anywhere, to exercise buffering). */
  sse(pieces: string[]): void {
    this.queue.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const write = (i: number) => {
        if (i >= pieces.length) return void res.end();
        res.write(pieces[i]);
        setTimeout(() => write(i + 1), 1);
      };
      write(0);
    });
  }

  status(code: number, body: string): void {
    this.queue.push((_req, res) => res.writeHead(code, { 'content-type': 'application/json' }).end(body));
  }

  hang(first: string): void {
    this.queue.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(first);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function chop(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const openAiStream = (chunks: unknown[]) =>
  `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
const anthropicStream = (events: Array<Record<string, unknown>>) =>
  events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join('');

const request: LlmRequest = {
  model: 'm',
  system: 'be brief',
  messages: [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'c0', name: 'peers', args: {} }] },
    { role: 'tool_results', results: [{ toolCallId: 'c0', name: 'peers', content: '{"peers":[]}', isError: false }] },
  ],
  tools: [{ name: 'send_message', description: 'send', inputSchema: { type: 'object' } }],
  maxTokens: 100,
};

async function collect(stream: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const out: LlmEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

const openai = new FakeProvider();
const anthropic = new FakeProvider();
beforeAll(async () => {
  await openai.start();
  await anthropic.start();
});
afterAll(async () => {
  await openai.close();
  await anthropic.close();
});

describe('OpenAI-compatible chat-completions client', () => {
  it('parses streamed text, fragmented tool-call arguments and usage', async () => {
    openai.sse(
      chop(
        openAiStream([
          { choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }] },
          { choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] },
          {
            choices: [
              {
                index: 0,
                delta: {
                  tool_calls: [
                    { index: 0, id: 'call_1', type: 'function', function: { name: 'send_message', arguments: '' } },
                  ],
                },
              },
            ],
          },
          {
            choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"peer_id":"w",' } }] } }],
          },
          { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"body":"go"}' } }] } }] },
          {
            choices: [
              {
                index: 0,
                delta: {
                  tool_calls: [
                    { index: 1, id: 'call_2', type: 'function', function: { name: 'peers', arguments: '' } },
                  ],
                },
              },
            ],
          },
          { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
          { choices: [], usage: { prompt_tokens: 12, completion_tokens: 7 } },
        ]),
        17,
      ),
    );
    const client = new OpenAiCompatibleClient({ apiKey: 'sk-test', baseUrl: `${openai.url}/v1` });
    const events = await collect(client.stream(request, new AbortController().signal));
    expect(events).toEqual([
      { type: 'text_delta', delta: 'Hel' },
      { type: 'text_delta', delta: 'lo' },
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 7 } },
      { type: 'tool_call_complete', id: 'call_1', name: 'send_message', args: { peer_id: 'w', body: 'go' } },
      { type: 'tool_call_complete', id: 'call_2', name: 'peers', args: {} },
      { type: 'done', stopReason: 'tool_use' },
    ]);
    const sent = openai.requests.at(-1);
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.headers.authorization).toBe('Bearer sk-test');
    expect(sent?.body).toMatchObject({ model: 'm', stream: true, max_tokens: 100 });
    expect(sent?.body.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c0', type: 'function', function: { name: 'peers', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c0', content: '{"peers":[]}' },
    ]);
    expect(sent?.body.tools).toEqual([
      { type: 'function', function: { name: 'send_message', description: 'send', parameters: { type: 'object' } } },
    ]);
  });

  it('maps HTTP errors and truncated streams to ProviderError', async () => {
    const client = new OpenAiCompatibleClient({ apiKey: 'bad', baseUrl: `${openai.url}/v1` });
    openai.status(401, '{"error":{"message":"Incorrect API key"}}');
    const unauthorized = await rejection(collect(client.stream(request, new AbortController().signal)));
    expect(unauthorized.code).toBe('ProviderError');
    expect(unauthorized.message).toContain('HTTP 401 (check the API key)');
    expect(unauthorized.details).toMatchObject({ status: 401, mobCode: 'PROVIDER_ERROR' });
    openai.sse([`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'cut' } }] })}\n\n`]);
    expect((await rejection(collect(client.stream(request, new AbortController().signal)))).message).toContain(
      'incomplete response',
    );
    openai.sse(['data: {not json\n\n']);
    expect((await rejection(collect(client.stream(request, new AbortController().signal)))).message).toContain(
      'stream parse error',
    );
  });

  it('stops a hanging stream when the signal aborts', async () => {
    openai.hang(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'partial' } }] })}\n\n`);
    const client = new OpenAiCompatibleClient({ baseUrl: `${openai.url}/v1` });
    const controller = new AbortController();
    const seen: LlmEvent[] = [];
    const run = (async () => {
      for await (const e of client.stream(request, controller.signal)) {
        seen.push(e);
        controller.abort();
      }
    })();
    expect((await rejection(run)).code).toBe('RunCancelled');
    expect(seen).toEqual([{ type: 'text_delta', delta: 'partial' }]);
    expect(openai.requests.at(-1)?.headers.authorization).toBeUndefined(); // keyless (Ollama, vLLM)
  });
});

describe('Anthropic Messages client', () => {
  it('parses text blocks, tool_use input_json_delta, usage and stop_reason', async () => {
    anthropic.sse(
      chop(
        `${anthropicStream([
          { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: 25, output_tokens: 1 } } },
          { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
          { type: 'ping' },
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me ' } },
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ask.' } },
          { type: 'content_block_stop', index: 0 },
          {
            type: 'content_block_start',
            index: 1,
            content_block: { type: 'tool_use', id: 'toolu_1', name: 'send_message', input: {} },
          },
          {
            type: 'content_block_delta',
            index: 1,
            delta: { type: 'input_json_delta', partial_json: '{"peer_id": "w"' },
          },
          {
            type: 'content_block_delta',
            index: 1,
            delta: { type: 'input_json_delta', partial_json: ', "body": "go"}' },
          },
          { type: 'content_block_stop', index: 1 },
          { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } },
          { type: 'message_stop' },
        ])}`,
        23,
      ),
    );
    const client = new AnthropicClient({ apiKey: 'ak-test', baseUrl: anthropic.url });
    const events = await collect(client.stream(request, new AbortController().signal));
    expect(events).toEqual([
      { type: 'text_delta', delta: 'Let me ' },
      { type: 'text_delta', delta: 'ask.' },
      { type: 'tool_call_complete', id: 'toolu_1', name: 'send_message', args: { peer_id: 'w', body: 'go' } },
      { type: 'usage', usage: { inputTokens: 25, outputTokens: 30 } },
      { type: 'done', stopReason: 'tool_use' },
    ]);
    const sent = anthropic.requests.at(-1);
    expect(sent?.path).toBe('/v1/messages');
    expect(sent?.headers['x-api-key']).toBe('ak-test');
    expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent?.body).toMatchObject({ model: 'm', system: 'be brief', max_tokens: 100, stream: true });
    expect(sent?.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'c0', name: 'peers', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c0', content: '{"peers":[]}', is_error: false }] },
    ]);
    expect(sent?.body.tools).toEqual([{ name: 'send_message', description: 'send', input_schema: { type: 'object' } }]);
  });

  it('maps an in-stream error event to a retryable ProviderError', async () => {
    anthropic.sse([
      anthropicStream([
        { type: 'message_start', message: { usage: { input_tokens: 1, output_tokens: 0 } } },
        { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      ]),
    ]);
    const client = new AnthropicClient({ apiKey: 'k', baseUrl: anthropic.url });
    const err = await rejection(collect(client.stream(request, new AbortController().signal)));
    expect(err.code).toBe('ProviderError');
    expect(err.message).toContain('overloaded_error: Overloaded');
    expect(err.details).toMatchObject({ retryable: true });
  });
});

describe('embedded mob on real provider clients (loopback fakes)', () => {
  it('chooses the client from provider/model and keys in the environment', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      options: {
        env: {
          ANTHROPIC_API_KEY: 'ak',
          ANTHROPIC_BASE_URL: anthropic.url,
          OPENAI_API_KEY: 'sk',
          OPENAI_BASE_URL: `${openai.url}/v1`,
        },
      },
    });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead' });
    await mob.spawn({ profile: 'worker', meerkatId: 'worker' });
    anthropic.sse([
      anthropicStream([
        { type: 'message_start', message: { usage: { input_tokens: 5, output_tokens: 0 } } },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'from claude' } },
        { type: 'content_block_stop', index: 0 },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } },
        { type: 'message_stop' },
      ]),
    ]);
    openai.sse([
      openAiStream([
        { choices: [{ index: 0, delta: { content: 'from gpt' }, finish_reason: 'stop' }] },
        { choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } },
      ]),
    ]);
    const lead = await mob.runTurn('lead', 'hello lead');
    const worker = await mob.runTurn('worker', 'hello worker');
    expect(lead).toMatchObject({ text: 'from claude', usage: { inputTokens: 5, outputTokens: 3 }, turns: 1 });
    expect(worker).toMatchObject({ text: 'from gpt', usage: { inputTokens: 4, outputTokens: 2 } });
    const leadReq = anthropic.requests.at(-1);
    if (!leadReq) throw new Error('the Anthropic fake saw no request');
    expect(leadReq?.body.model).toBe('claude-sonnet-4-6');
    expect(String(leadReq?.body.system)).toContain('You lead the team');
    // team.toml gives the lead comms and builtins: the comms tools, then task_* and datetime.
    expect((leadReq.body.tools as Array<{ name: string }>).map((t) => t.name)).toEqual([
      'peers',
      'send_message',
      'reply_to_peer',
      'task_create',
      'task_get',
      'task_list',
      'task_update',
      'datetime',
    ]);
    expect(String(leadReq.body.system)).toContain('task_create');
    expect(openai.requests.at(-1)?.body.model).toBe('gpt-5.2');
    await mob.stop();
  });
});
