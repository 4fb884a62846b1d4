import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.js';
import { StderrRing } from './stderr-ring.js';

describe('LineSplitter', () => {
  it('splits chunks into lines across chunk boundaries, stripping \\r', () => {
    const lines: string[] = [];
    const s = new LineSplitter(
      100,
      (l) => lines.push(l),
      () => {},
    );
    s.push('ab');
    s.push('c\r\nde');
    s.push(Buffer.from('f\n\ng\n'));
    expect(lines).toEqual(['abc', 'def', '', 'g']);
    s.push('tail');
    expect(s.rest()).toBe('tail');
  });

  it('drops an over-long line once, reporting its head, and resumes at the next newline', () => {
    const lines: string[] = [];
    const overflows: string[] = [];
    const s = new LineSplitter(
      10,
      (l) => lines.push(l),
      (head) => overflows.push(head),
    );
    s.push('0123456789ABCDEF');
    s.push('more-more-more');
    s.push('\nok\n');
    expect(overflows).toEqual(['0123456789ABCDEF']);
    expect(lines).toEqual(['ok']);
  });
});

describe('StderrRing', () => {
  it('keeps the last lines only, cutting long ones', () => {
    const ring = new StderrRing(3, 5);
    ring.push('one\ntwo\nthree\nfour\nfive-is-long\npart');
    expect(ring.snapshot()).toEqual(['three', 'four', 'five-…', 'part']);
    expect(ring.droppedLines).toBe(2);
    expect(ring.tail(2)).toBe('five-…\npart');
  });
});

describe('parseToolJson', () => {
  it('returns a JSON object payload and rejects anything else naming module and tool', async () => {
    const { parseToolJson } = await import('./mcp.js');
    const base = { moduleId: 'router', tool: 'routing.resolve', content: [], warnings: [] };
    expect(parseToolJson({ ...base, text: '{"sink":"sms"}', payload: { sink: 'sms' } })).toEqual({ sink: 'sms' });
    expect(() => parseToolJson({ ...base, text: 'oops', payload: 'oops' })).toThrow(
      /"router" tool "routing.resolve" did not answer a JSON object: "oops"/,
    );
    let caught: unknown;
    try {
      parseToolJson({ ...base, text: '[1]', payload: [1] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'InvalidJsonResponse',
      details: { moduleId: 'router', tool: 'routing.resolve', response: '[1]' },
    });
  });
});
