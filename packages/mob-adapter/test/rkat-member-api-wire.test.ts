import { describe, expect, it } from 'vitest';
import { memberStatusFromWire, sessionMessagesFromWire } from '../src/rpc/member-wire.js';

describe("decoding Meerkat's member wire", () => {
  it('numbers messages from the offset and classifies user sources, notices and compaction summaries', () => {
    const at = '2026-01-02T03:04:05+00:00';
    const messages = sessionMessagesFromWire(
      [
        { role: 'system', content: 'appended context', created_at: at },
        { role: 'system_notice', kind: 'comms', body: 'peer added', created_at: at },
        { role: 'user', content: 'Peer message from worker-1:\nthe numbers', created_at: at },
        { role: 'user', content: [{ type: 'text', text: 'hi' }], render_metadata: { class: 'peer_message' } },
        {
          role: 'user',
          content:
            "Mob 'team' resumed with 2 active meerkats and 1 wiring links. Reconcile worker state and continue orchestration.",
        },
        { role: 'user', content: 'earlier turns, summarised', transcript_role: 'compaction_summary' },
        {
          role: 'tool_results',
          results: [{ tool_use_id: 'c9', content: [{ type: 'text', text: 'a' }, { type: 'image' }] }],
        },
      ],
      10,
      new Map([['c9', 'search']]),
    );
    expect(messages.map((m) => m.index)).toEqual([10, 11, 12, 13, 14, 15, 16]);
    expect(messages[0]).toEqual({
      index: 10,
      createdAtMs: Date.parse(at),
      role: 'system',
      content: 'appended context',
    });
    expect(messages[1]).toMatchObject({ role: 'system', content: 'peer added' });
    expect(messages[2]).toMatchObject({ role: 'user', source: 'peer', peer: 'worker-1' });
    expect(messages[3]).toMatchObject({ role: 'user', source: 'peer', content: 'hi' });
    expect(messages[3]).not.toHaveProperty('peer');
    expect(messages[4]).toMatchObject({ role: 'user', source: 'resume' });
    expect(messages[5]).toMatchObject({ role: 'system', content: 'earlier turns, summarised' });
    expect(messages[6]).toMatchObject({
      role: 'tool_results',
      results: [{ toolCallId: 'c9', name: 'search', content: 'a\n[image]', isError: false }],
    });
  });

  it("counts queued messages as in-flight work less the open run, and reads unknown values as 'unknown'", () => {
    const running = memberStatusFromWire('team', 'a', 'lead', {
      status: 'active',
      progress: { run_state: 'run_open', in_flight_work: 3 },
    });
    expect(running).toMatchObject({ runState: 'run_open', queuedMessages: 2, memberRef: expect.any(String) });
    const odd = memberStatusFromWire('team', 'a', 'lead', {
      status: 'sleeping',
      output_preview: null,
      current_session_id: null,
    });
    expect(odd).toMatchObject({
      status: 'unknown',
      runState: 'unknown',
      isFinal: false,
      tokensUsed: 0,
      queuedMessages: 0,
    });
    expect(odd).not.toHaveProperty('outputPreview');
    expect(odd).not.toHaveProperty('currentSessionId');
  });
});
