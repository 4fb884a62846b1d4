import { describe, expect, it } from 'vitest';
import { summarize } from './feed.js';

describe('the live feed summaries', () => {
  it('a tool call names the tool and the MCP server or module it belongs to', () => {
    expect(summarize('tool_call_requested', { name: 'echo', tool_call_id: 'c1', server: 'fs' })).toBe('echo · fs');
    expect(summarize('tool_call_requested', { name: 'toolbox.lookup', module: 'toolbox' })).toBe(
      'toolbox.lookup · toolbox',
    );
    expect(summarize('tool_call_requested', { name: 'send_message' })).toBe('send_message');
  });

  it('a finished tool call adds its duration and whether it errored', () => {
    expect(summarize('tool_execution_completed', { name: 'add', duration_ms: 12, is_error: false, server: 'fs' })).toBe(
      'add · 12 ms · fs',
    );
    expect(
      summarize('tool_execution_completed', { name: 'toolbox.lookup', duration_ms: 3, is_error: true, module: 'crm' }),
    ).toBe('toolbox.lookup · 3 ms · error · crm');
    // A missing duration or an empty origin is left out rather than printed as "undefined".
    expect(summarize('tool_execution_completed', { name: 'peers', server: '' })).toBe('peers');
  });

  it('keeps the other events as before', () => {
    expect(summarize('run_failed', { error_class: 'budget_exceeded', error: 'over' })).toBe('budget_exceeded: over');
    expect(summarize('text_delta', { delta: 'hi' })).toBe('hi');
    expect(summarize('something_else', {})).toBe('');
  });
});
