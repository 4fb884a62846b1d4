/**
 * The console's reading of the member API wire (browser side, no DOM): a `mobkit/member_status` answer as
 * the members list shows it, and `mobkit/read_session_history` messages (Meerkat's serialization, tagged by
 * `role`) as transcript entries. Everything stays plain text: the page renders it through Preact text
 * nodes, never as HTML.
 */

/** What the members list shows of a `mobkit/member_status` answer (absent fields stay undefined). */
export interface MemberStatusView {
  /** `active`, `retiring`, `broken`, `completed` or `unknown`. */
  status: string;
  /** `idle`, `run_open` or `unknown` (`run_state`, or `progress.run_state`). */
  runState: string | undefined;
  /** Host and peer messages accepted and not yet consumed (`queued_messages`, or `progress.queued_messages`). */
  queuedMessages: number | undefined;
  tokensUsed: number | undefined;
  /** The last run's error. */
  error: string | undefined;
  currentSessionId: string | undefined;
  isFinal: boolean;
  outputPreview: string | undefined;
}

/** One tool call of an assistant message. */
interface TranscriptToolCall {
  id: string;
  name: string;
  /** The arguments as indented JSON. */
  args: string;
}

/** One result of a `tool_results` message, with the name of the call it answers when that call is loaded. */
interface TranscriptToolResult {
  toolUseId: string;
  toolName: string | undefined;
  text: string;
  isError: boolean;
}

/** What every transcript entry carries: its position in the session and when it was written. */
interface EntryBase {
  /** The message's index in the session (0 is the first). */
  index: number;
  /** `created_at` as sent (RFC 3339), when present. */
  createdAt: string | undefined;
}

/** One message of a session as the history view draws it. */
export type TranscriptEntry = EntryBase &
  (
    | { kind: 'user'; text: string }
    | { kind: 'peer'; text: string; peer: string | undefined }
    | {
        kind: 'summary';
        text: string;
        /** How many messages before it the summary stands for (mobkit's `summary_of`). */
        summaryOf: number | undefined;
      }
    | { kind: 'context'; text: string }
    | {
        kind: 'assistant';
        text: string;
        reasoning: string;
        toolCalls: TranscriptToolCall[];
        /** Blocks the view has no drawing for (server tool content, images), by type. */
        otherBlocks: string[];
        stopReason: string | undefined;
        /** The answer's tokens (mobkit's `usage`). */
        usage: { input: number; output: number } | undefined;
      }
    | { kind: 'tool_results'; results: TranscriptToolResult[] }
    | { kind: 'system'; text: string }
    | { kind: 'notice'; noticeKind: string; text: string }
    | { kind: 'unknown'; role: string; text: string }
  );

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** JSON text of a value for display (indented; a string stays as it is). */
function jsonText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The text of a Meerkat content list: a plain string (one text block), or an array of content blocks
 * (`text`, `image`, `video`, `structured`, `skill_context`); blocks that are not text show as a bracketed note.
 */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : jsonText(content);
  const parts: string[] = [];
  for (const block of content) {
    if (typeof block === 'string') {
      parts.push(block);
      continue;
    }
    if (!isObj(block)) continue;
    const type = str(block.type) ?? 'unknown';
    if (type === 'text') parts.push(str(block.text) ?? '');
    else if (type === 'skill_context') parts.push(`[skill ${str(block.skill_key) ?? ''}] ${str(block.text) ?? ''}`);
    else if (type === 'structured') parts.push(jsonText(block.data));
    else if (type === 'image' || type === 'video')
      parts.push(`[${type}${block.media_type ? ` ${String(block.media_type)}` : ''}]`);
    else parts.push(`[${type}]`);
  }
  return parts.join('\n');
}

/** A `mobkit/member_status` answer as the members list reads it. */
export function parseMemberStatus(raw: unknown): MemberStatusView {
  const s = isObj(raw) ? raw : {};
  const progress = isObj(s.progress) ? s.progress : {};
  return {
    status: str(s.status) ?? 'unknown',
    runState: str(s.run_state) ?? str(progress.run_state),
    queuedMessages: num(s.queued_messages) ?? num(progress.queued_messages),
    tokensUsed: num(s.tokens_used),
    error: str(s.error) || undefined,
    currentSessionId: str(s.current_session_id) || undefined,
    isFinal: s.is_final === true,
    outputPreview: str(s.output_preview) || undefined,
  };
}

/** The tool names of the `tool_use` blocks in `messages`, by call id (to name results on a later page). */
function toolNamesById(messages: readonly unknown[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) {
    if (!isObj(m)) continue;
    if (m.role === 'block_assistant' && Array.isArray(m.blocks)) {
      for (const b of m.blocks) {
        if (!isObj(b) || b.block_type !== 'tool_use' || !isObj(b.data)) continue;
        const id = str(b.data.id);
        const name = str(b.data.name);
        if (id !== undefined && name !== undefined) names.set(id, name);
      }
    } else if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      for (const c of m.tool_calls) {
        if (isObj(c) && typeof c.id === 'string' && typeof c.name === 'string') names.set(c.id, c.name);
      }
    }
  }
  return names;
}

function assistantEntry(m: Obj, base: EntryBase): TranscriptEntry {
  const text: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: TranscriptToolCall[] = [];
  const otherBlocks: string[] = [];
  for (const b of Array.isArray(m.blocks) ? m.blocks : []) {
    if (!isObj(b)) continue;
    const type = str(b.block_type) ?? 'unknown';
    const data = isObj(b.data) ? b.data : {};
    if (type === 'text' || type === 'transcript') text.push(str(data.text) ?? '');
    else if (type === 'reasoning') reasoning.push(str(data.text) ?? '');
    else if (type === 'tool_use')
      toolCalls.push({ id: str(data.id) ?? '', name: str(data.name) ?? '?', args: jsonText(data.args ?? {}) });
    else otherBlocks.push(type);
  }
  // The legacy `assistant` role (older Meerkat): `content` text and `tool_calls`.
  if (m.role === 'assistant') {
    text.push(contentText(m.content));
    for (const c of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
      if (!isObj(c)) continue;
      toolCalls.push({ id: str(c.id) ?? '', name: str(c.name) ?? '?', args: jsonText(c.args ?? c.arguments ?? {}) });
    }
  }
  const usage = isObj(m.usage) ? m.usage : undefined;
  return {
    ...base,
    kind: 'assistant',
    text: text.filter((t) => t !== '').join('\n'),
    reasoning: reasoning.filter((t) => t !== '').join('\n'),
    toolCalls,
    otherBlocks,
    stopReason: str(m.stop_reason),
    usage: usage ? { input: num(usage.input_tokens) ?? 0, output: num(usage.output_tokens) ?? 0 } : undefined,
  };
}

function noticeText(m: Obj): string {
  const parts: string[] = [];
  if (typeof m.body === 'string') parts.push(m.body);
  for (const b of Array.isArray(m.blocks) ? m.blocks : []) {
    if (!isObj(b)) continue;
    const summary = str(b.summary) ?? (b.content !== undefined ? contentText(b.content) : undefined);
    parts.push(`[${str(b.type) ?? 'notice'}${b.kind ? ` ${String(b.kind)}` : ''}]${summary ? ` ${summary}` : ''}`);
  }
  return parts.join('\n');
}

/** One wire message (at session index `index`) as a transcript entry; `toolNames` names tool results. */
function toEntry(message: unknown, index: number, toolNames: ReadonlyMap<string, string>): TranscriptEntry {
  const m = isObj(message) ? message : {};
  // mobkit adds each message's `index`; without it the position in the page gives it.
  const base: EntryBase = { index: num(m.index) ?? index, createdAt: str(m.created_at) };
  const role = str(m.role) ?? 'unknown';
  switch (role) {
    case 'user': {
      const text = contentText(m.content);
      const transcriptRole = str(m.transcript_role);
      if (transcriptRole === 'compaction_summary')
        return { ...base, kind: 'summary', text, summaryOf: num(m.summary_of) };
      // mobkit's resume notice (sent to the orchestrator when the mob resumes).
      if (m.source === 'resume') return { ...base, kind: 'notice', noticeKind: 'resume', text };
      if (transcriptRole === 'injected_context') return { ...base, kind: 'context', text };
      const meta = isObj(m.render_metadata) ? m.render_metadata : {};
      if (meta.class === 'peer_message' || m.source === 'peer')
        return { ...base, kind: 'peer', text, peer: str(m.peer) ?? str(meta.peer) ?? str(meta.peer_name) };
      return { ...base, kind: 'user', text };
    }
    case 'block_assistant':
    case 'assistant':
      return assistantEntry(m, base);
    case 'tool_results':
      return {
        ...base,
        kind: 'tool_results',
        results: (Array.isArray(m.results) ? m.results : []).filter(isObj).map((r) => {
          const toolUseId = str(r.tool_use_id) ?? '';
          return {
            toolUseId,
            toolName: toolNames.get(toolUseId),
            text: contentText(r.content),
            isError: r.is_error === true,
          };
        }),
      };
    case 'system':
      return { ...base, kind: 'system', text: contentText(m.content) };
    case 'system_notice':
      return { ...base, kind: 'notice', noticeKind: str(m.kind) ?? 'generic', text: noticeText(m) };
    default:
      return { ...base, kind: 'unknown', role, text: jsonText(m) };
  }
}

/** The loaded messages of a session (the first at session index `start`) as transcript entries. */
export function toEntries(messages: readonly unknown[], start: number): TranscriptEntry[] {
  const names = toolNamesById(messages);
  return messages.map((m, i) => toEntry(m, start + i, names));
}
