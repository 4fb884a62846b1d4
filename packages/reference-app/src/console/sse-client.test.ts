import { describe, expect, it } from 'vitest';
import { parseSseFrames } from './sse-client.js';

describe('parseSseFrames (console)', () => {
  it('parses complete frames, skips comments and retry, joins data lines, keeps the unfinished rest', () => {
    const text =
      'retry: 3000\n: connected\n\nid: mob:1\nevent: text_delta\ndata: {"a":\ndata: 1}\n\n: keep-alive\n\nid: mob:2\r\nevent: run_completed\r\ndata: {}\r\n\r\nid: mob:3\nevent: par';
    const { frames, rest } = parseSseFrames(text);
    expect(frames).toEqual([
      { id: 'mob:1', event: 'text_delta', data: '{"a":\n1}' },
      { id: 'mob:2', event: 'run_completed', data: '{}' },
    ]);
    expect(rest).toBe('id: mob:3\nevent: par');
  });

  it('defaults the event name to message', () => {
    expect(parseSseFrames('data: x\n\n').frames).toEqual([{ id: undefined, event: 'message', data: 'x' }]);
  });
});
