import { describe, expect, it } from 'vitest';
import { contentText, parseMemberStatus, toEntries } from './transcript.js';

describe('parseMemberStatus', () => {
  it('reads the member_status wire: top-level fields, run state and queue from progress when not top-level', () => {
    expect(
      parseMemberStatus({
        status: 'broken',
        tokens_used: 120,
        error: 'provider down',
        current_session_id: 's-1',
        is_final: false,
        output_preview: 'hi',
        progress: { run_state: 'run_open', queued_messages: 3 },
      }),
    ).toEqual({
      status: 'broken',
      runState: 'run_open',
      queuedMessages: 3,
      tokensUsed: 120,
      error: 'provider down',
      currentSessionId: 's-1',
      isFinal: false,
      outputPreview: 'hi',
    });
    const top = parseMemberStatus({
      status: 'active',
      run_state: 'idle',
      queued_messages: 0,
      progress: { run_state: 'x' },
    });
    expect(top).toMatchObject({ runState: 'idle', queuedMessages: 0, error: undefined, currentSessionId: undefined });
    // Null and empty values are absent, not shown as text.
    expect(
      parseMemberStatus({ status: 'completed', error: null, current_session_id: '', is_final: true }),
    ).toMatchObject({ status: 'completed', error: undefined, currentSessionId: undefined, isFinal: true });
    expect(parseMemberStatus(null).status).toBe('unknown');
  });
});

describe('contentText', () => {
  it('a plain string, or the blocks of a content list (non-text blocks as bracketed notes)', () => {
    expect(contentText('plain')).toBe('plain');
    expect(
      contentText([
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
        { type: 'image', media_type: 'image/png', source: 'blob', blob_id: 'b' },
        { type: 'structured', data: { k: 1 } },
        { type: 'skill_context', skill_key: 'sk', text: 'ctx' },
        { type: 'hologram' },
      ]),
    ).toBe('one\ntwo\n[image image/png]\n{\n  "k": 1\n}\n[skill sk] ctx\n[hologram]');
    expect(contentText(undefined)).toBe('');
  });
});

describe('toEntries', () => {
  it("reads Meerkat's message serialization into transcript entries at their session index", () => {
    const messages = [
      { role: 'user', content: 'do it', render_metadata: { class: 'user_prompt' }, created_at: '2026-01-01T00:00:00Z' },
      {
        role: 'block_assistant',
        blocks: [
          { block_type: 'reasoning', data: { text: 'hmm' } },
          { block_type: 'text', data: { text: 'calling' } },
          { block_type: 'tool_use', data: { id: 'call_1', name: 'peers', args: { x: 1 } } },
          { block_type: 'server_tool_content', data: { kind: { kind: 'web_search' }, content: {} } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 7, output_tokens: 3 },
      },
      { role: 'tool_results', results: [{ tool_use_id: 'call_1', content: 'lead-1', is_error: false }] },
      {
        role: 'tool_results',
        results: [{ tool_use_id: 'call_0', content: [{ type: 'text', text: 'no' }], is_error: true }],
      },
      { role: 'user', content: 'hello from lead', render_metadata: { class: 'peer_message' }, peer: 'lead-1' },
      { role: 'user', content: 'mobkit marks the source', source: 'peer', peer: 'worker-2', index: 15 },
      { role: 'user', content: 'earlier, briefly', transcript_role: 'compaction_summary', summary_of: 4 },
      { role: 'user', content: 'ctx', transcript_role: 'injected_context' },
      { role: 'system', content: 'be brief' },
      { role: 'system_notice', kind: 'comms', blocks: [{ type: 'comms', kind: 'message', summary: 'got one' }] },
      { role: 'assistant', content: 'legacy', tool_calls: [{ id: 'c9', name: 'old', args: {} }] },
      { role: 'mystery', n: 1 },
    ];
    const entries = toEntries(messages, 10);
    expect(entries.map((e) => [e.index, e.kind])).toEqual([
      [10, 'user'],
      [11, 'assistant'],
      [12, 'tool_results'],
      [13, 'tool_results'],
      [14, 'peer'],
      [15, 'peer'],
      [16, 'summary'],
      [17, 'context'],
      [18, 'system'],
      [19, 'notice'],
      [20, 'assistant'],
      [21, 'unknown'],
    ]);
    expect(entries[0]).toMatchObject({ text: 'do it', createdAt: '2026-01-01T00:00:00Z' });
    expect(entries[1]).toMatchObject({
      text: 'calling',
      reasoning: 'hmm',
      toolCalls: [{ id: 'call_1', name: 'peers', args: '{\n  "x": 1\n}' }],
      otherBlocks: ['server_tool_content'],
      stopReason: 'tool_use',
      usage: { input: 7, output: 3 },
    });
    expect(entries[2]).toMatchObject({
      results: [{ toolUseId: 'call_1', toolName: 'peers', text: 'lead-1', isError: false }],
    });
    // A result whose call is not loaded (an earlier page) has no name.
    expect(entries[3]).toMatchObject({
      results: [{ toolUseId: 'call_0', toolName: undefined, text: 'no', isError: true }],
    });
    expect(entries[4]).toMatchObject({ text: 'hello from lead', peer: 'lead-1' });
    expect(entries[5]).toMatchObject({ text: 'mobkit marks the source', peer: 'worker-2' });
    expect(entries[6]).toMatchObject({ text: 'earlier, briefly', summaryOf: 4 });
    expect(entries[9]).toMatchObject({ noticeKind: 'comms', text: '[comms message] got one' });
    expect(entries[10]).toMatchObject({ text: 'legacy', toolCalls: [{ id: 'c9', name: 'old' }] });
    expect(entries[11]).toMatchObject({ role: 'mystery' });
    expect(entries[11]?.kind === 'unknown' && JSON.parse(entries[11].text)).toEqual({ role: 'mystery', n: 1 });
  });

  it("mobkit's resume notice is a notice", () => {
    const [entry] = toEntries([{ role: 'user', content: "Mob 'm' resumed", source: 'resume', index: 3 }], 0);
    expect(entry).toMatchObject({ index: 3, kind: 'notice', noticeKind: 'resume', text: "Mob 'm' resumed" });
  });

  it('keeps markup as text (the page renders it as text nodes)', () => {
    const [entry] = toEntries([{ role: 'user', content: '<script>alert(1)</script>' }], 0);
    expect(entry).toMatchObject({ kind: 'user', text: '<script>alert(1)</script>' });
  });
});
