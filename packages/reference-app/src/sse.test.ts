import { describe, expect, it } from 'vitest';
import { ReplayBuffer, formatSseFrame } from './sse.js';

describe('formatSseFrame', () => {
  it('writes id, event and one data line per line of text, ending with a blank line', () => {
    expect(formatSseFrame({ id: 'mob:3', event: 'text_delta', data: '{"a":1}' })).toBe(
      'id: mob:3\nevent: text_delta\ndata: {"a":1}\n\n',
    );
    expect(formatSseFrame({ data: 'one\ntwo\r\nthree' })).toBe('data: one\ndata: two\ndata: three\n\n');
  });

  it('strips newlines from id and event so a value cannot inject fields', () => {
    expect(formatSseFrame({ id: 'a\nevent: evil', event: 'x\r\ndata: y', data: '' })).toBe(
      'id: aevent: evil\nevent: xdata: y\ndata: \n\n',
    );
  });
});

describe('ReplayBuffer', () => {
  const item = (seq: number, who = 'a') => ({ seq, who });

  it('keeps the newest `capacity` items in order and replays after a seq', () => {
    const buffer = new ReplayBuffer<{ seq: number; who: string }>(3);
    for (let i = 1; i <= 5; i++) buffer.push(item(i, i % 2 ? 'a' : 'b'));
    expect(buffer.size).toBe(3);
    expect(buffer.toArray().map((x) => x.seq)).toEqual([3, 4, 5]);
    expect(buffer.since(3)).toEqual({ items: [item(4, 'b'), item(5, 'a')], truncated: false });
    expect(buffer.since(4, (x) => x.who === 'a')).toEqual({ items: [item(5, 'a')], truncated: false });
  });

  it('reports truncation when events after the requested seq were evicted', () => {
    const buffer = new ReplayBuffer<{ seq: number; who: string }>(2);
    for (let i = 1; i <= 4; i++) buffer.push(item(i));
    expect(buffer.since(1)).toEqual({ items: [item(3), item(4)], truncated: true });
    expect(buffer.since(2)).toEqual({ items: [item(3), item(4)], truncated: false });
    expect(buffer.since(9)).toEqual({ items: [], truncated: false });
  });
});
