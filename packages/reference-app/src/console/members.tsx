/**
 * The members part of the console: each member's status (`mobkit/member_status`) and current session,
 * and the history view of a selected member, which pages through `mobkit/read_session_history` and
 * follows the member's runs (the page's SSE feed bumps `refreshKey`). Model text is rendered as text.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { type RpcCall, describeRpcFailure, rpcBatch, rpcCall } from './rpc-client.js';
import { HttpError } from './sse-client.js';
import { type MemberStatusView, type TranscriptEntry, parseMemberStatus, toEntries } from './transcript.js';

/** The status of one member as the list shows it: the parsed status, or why it could not be read. */
export interface MemberStatusState {
  status?: MemberStatusView;
  /** From `mobkit/member_current_session_id` (or the status' `current_session_id`). */
  sessionId?: string;
  error?: string;
}

/** Props shared by the members components: where the router is, and the request headers (auth). */
export interface ApiProps {
  baseUrl: string;
  headers: Record<string, string>;
  onUnauthorized: (reason: string) => void;
}

const STATUS_POLL_MS = 5000;

/**
 * The statuses of `memberIds`, read in one JSON-RPC batch (`member_status` and
 * `member_current_session_id` per member) when the list changes, when `refreshKey` changes (a run
 * started or ended) and every 5 s. Answers that arrive out of order are dropped.
 */
export function useMemberStatuses(
  api: ApiProps,
  memberIds: readonly string[],
  refreshKey: number,
): Record<string, MemberStatusState> {
  const [statuses, setStatuses] = useState<Record<string, MemberStatusState>>({});
  const seq = useRef(0);
  const idsKey = memberIds.join('\n');
  const headersKey = JSON.stringify(api.headers);
  const latest = useRef(api);
  latest.current = api;

  useEffect(() => {
    if (memberIds.length === 0) {
      setStatuses({});
      return;
    }
    let stopped = false;
    const ids = [...memberIds];
    const load = async () => {
      const mine = ++seq.current;
      const calls: RpcCall[] = ids.flatMap((id) => [
        { method: 'mobkit/member_status', params: { member_id: id } },
        { method: 'mobkit/member_current_session_id', params: { member_id: id } },
      ]);
      try {
        const outcomes = await rpcBatch(latest.current.baseUrl, latest.current.headers, calls);
        if (stopped || mine !== seq.current) return;
        const next: Record<string, MemberStatusState> = {};
        ids.forEach((id, i) => {
          const status = outcomes[2 * i];
          const current = outcomes[2 * i + 1];
          const fromCall =
            current?.ok && current.result !== null && typeof current.result === 'object'
              ? (current.result as { session_id?: unknown }).session_id
              : undefined;
          if (status?.ok) {
            const view = parseMemberStatus(status.result);
            next[id] = {
              status: view,
              sessionId: view.currentSessionId ?? (typeof fromCall === 'string' ? fromCall : undefined),
            };
          } else {
            next[id] = {
              error: describeRpcFailure('mobkit/member_status', status?.ok === false ? status.error : undefined),
              ...(typeof fromCall === 'string' ? { sessionId: fromCall } : {}),
            };
          }
        });
        setStatuses(next);
      } catch (err) {
        if (stopped || mine !== seq.current) return;
        if (err instanceof HttpError && err.status === 401)
          latest.current.onUnauthorized(err.body.reason ?? 'unauthorized');
        const message = describeRpcFailure('mobkit/member_status', err);
        setStatuses(Object.fromEntries(ids.map((id) => [id, { error: message }])));
      }
    };
    void load();
    const timer = window.setInterval(load, STATUS_POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [idsKey, headersKey, refreshKey]);

  return statuses;
}

const statusClass = (s: string) => (s === 'active' ? 'ok' : s === 'broken' ? 'bad' : 'warn');
const shortId = (id: string) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

/** One member's status line: status, run state, queued messages, tokens, current session, last error. */
export function MemberStatusLine(props: { state: MemberStatusState | undefined }) {
  const { state } = props;
  if (state === undefined)
    return (
      <div class="muted" data-testid="member-status-loading">
        status…
      </div>
    );
  const s = state.status;
  return (
    <div data-testid="member-status-line">
      {s ? (
        <span>
          <span class={`pill ${statusClass(s.status)}`} data-testid="member-status" title="member status">
            {s.status}
            {s.isFinal ? ' (final)' : ''}
          </span>
          {s.runState !== undefined && (
            <span
              class={`pill ${s.runState === 'run_open' ? 'warn' : ''}`}
              data-testid="member-run-state"
              title="run state"
            >
              {s.runState === 'run_open' ? 'running' : s.runState}
            </span>
          )}
          {s.queuedMessages !== undefined && (
            <span class="pill" data-testid="member-queued" title="messages queued for the next run">
              queued: {s.queuedMessages}
            </span>
          )}
          {s.tokensUsed !== undefined && (
            <span class="pill" data-testid="member-tokens" title="tokens used (input + output)">
              tokens: {s.tokensUsed}
            </span>
          )}
        </span>
      ) : (
        <span class="warn" data-testid="member-status-error">
          {state.error}
        </span>
      )}
      <div class="muted">
        session:{' '}
        <span data-testid="member-session" data-session-id={state.sessionId ?? ''} title={state.sessionId ?? ''}>
          {state.sessionId ? shortId(state.sessionId) : '—'}
        </span>
      </div>
      {s?.error && (
        <div class="bad" data-testid="member-error" title="the last run's error">
          last error: {s.error}
        </div>
      )}
    </div>
  );
}

/** The loaded window of a session's history: messages `start` … `start + messages.length - 1`. */
interface HistoryWindow {
  sessionId: string;
  start: number;
  messages: unknown[];
  /** `message_count` of the latest page read. */
  count: number;
}

interface WirePage {
  session_id?: unknown;
  message_count?: unknown;
  offset?: unknown;
  has_more?: unknown;
  messages?: unknown;
}

function readPage(raw: unknown): { count: number; offset: number; messages: unknown[]; hasMore: boolean } {
  const p = (raw ?? {}) as WirePage;
  const messages = Array.isArray(p.messages) ? p.messages : [];
  const offset = typeof p.offset === 'number' ? p.offset : 0;
  const count = typeof p.message_count === 'number' ? p.message_count : offset + messages.length;
  return { count, offset, messages, hasMore: p.has_more === true };
}

const timeOf = (createdAt: string | undefined) => {
  if (!createdAt) return '';
  const d = new Date(createdAt);
  return Number.isNaN(d.getTime()) ? createdAt : d.toLocaleTimeString();
};

const KIND_LABEL: Record<TranscriptEntry['kind'], string> = {
  user: 'user',
  peer: 'peer message',
  summary: 'summary (compaction)',
  context: 'injected context',
  assistant: 'assistant',
  tool_results: 'tool results',
  system: 'system',
  notice: 'notice',
  unknown: 'message',
};

function EntryView(props: { entry: TranscriptEntry }) {
  const e = props.entry;
  let who = KIND_LABEL[e.kind];
  if (e.kind === 'peer' && e.peer) who = `peer message from ${e.peer}`;
  if (e.kind === 'notice') who = `notice (${e.noticeKind})`;
  if (e.kind === 'unknown') who = `message (${e.role})`;
  return (
    <li class={`msg msg-${e.kind}`} data-testid="history-message" data-kind={e.kind} data-index={String(e.index)}>
      <div class="muted">
        #{e.index} · <strong data-testid="history-who">{who}</strong>
        {e.createdAt && <span title={e.createdAt}> · {timeOf(e.createdAt)}</span>}
        {e.kind === 'assistant' && e.stopReason && <span> · {e.stopReason}</span>}
        {e.kind === 'assistant' && e.usage && (
          <span data-testid="history-usage">
            {' '}
            · tokens {e.usage.input} in / {e.usage.output} out
          </span>
        )}
        {e.kind === 'summary' && e.summaryOf !== undefined && <span> · stands for {e.summaryOf} earlier messages</span>}
      </div>
      {e.kind === 'assistant' ? (
        <div>
          {e.reasoning && (
            <details>
              <summary class="muted">reasoning</summary>
              <div class="text">{e.reasoning}</div>
            </details>
          )}
          {e.text && (
            <div class="text" data-testid="history-text">
              {e.text}
            </div>
          )}
          {e.toolCalls.map((c) => (
            <div class="tool" key={c.id} data-testid="history-tool-call" data-tool-name={c.name}>
              <div>
                → call <strong>{c.name}</strong> <span class="muted">{c.id}</span>
              </div>
              <pre>{c.args}</pre>
            </div>
          ))}
          {e.otherBlocks.length > 0 && <div class="muted">[{e.otherBlocks.join(', ')}]</div>}
        </div>
      ) : e.kind === 'tool_results' ? (
        <div>
          {e.results.map((r) => (
            <div
              class={`tool ${r.isError ? 'bad' : ''}`}
              key={r.toolUseId}
              data-testid="history-tool-result"
              data-tool-name={r.toolName ?? ''}
              data-error={r.isError ? 'true' : 'false'}
            >
              <div>
                ← {r.isError ? 'error from' : 'result of'} <strong>{r.toolName ?? 'tool'}</strong>{' '}
                <span class="muted">{r.toolUseId}</span>
              </div>
              <pre>{r.text}</pre>
            </div>
          ))}
        </div>
      ) : (
        <div class="text" data-testid="history-text">
          {e.text}
        </div>
      )}
    </li>
  );
}

/**
 * The history of a member's current session: the newest page first, "Load older" and "Load newer" page
 * through the rest, and a change of `refreshKey` (the member's run ended) reads what is new when the
 * view is at the end. A new session id starts over.
 */
export function HistoryView(
  props: ApiProps & {
    memberId: string;
    label: string;
    sessionId: string | undefined;
    pageSize: number;
    refreshKey: number;
    onClose: () => void;
  },
) {
  const { memberId, sessionId, pageSize, refreshKey } = props;
  const [view, setView] = useState<HistoryWindow | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const viewRef = useRef<HistoryWindow | undefined>(undefined);
  const queue = useRef<Promise<void>>(Promise.resolve());
  const generation = useRef(0);
  const api = useRef(props);
  api.current = props;
  const rootRef = useRef<HTMLDivElement>(null);

  const read = (offset: number, limit: number) =>
    rpcCall(api.current.baseUrl, api.current.headers, 'mobkit/read_session_history', {
      session_id: sessionId,
      offset,
      limit,
    }).then(readPage);

  const commit = (next: HistoryWindow | undefined) => {
    viewRef.current = next;
    setView(next);
  };

  /** Runs `op` after the ones before it (so pages never interleave); drops it when the session changed. */
  const enqueue = (op: (gen: number) => Promise<void>) => {
    const gen = generation.current;
    queue.current = queue.current.then(async () => {
      if (gen !== generation.current) return;
      setBusy(true);
      try {
        await op(gen);
        if (gen === generation.current) setError(undefined);
      } catch (err) {
        if (gen !== generation.current) return;
        if (err instanceof HttpError && err.status === 401)
          api.current.onUnauthorized(err.body.reason ?? 'unauthorized');
        setError(describeRpcFailure('mobkit/read_session_history', err));
      } finally {
        if (gen === generation.current) setBusy(false);
      }
    });
  };

  const loadTail = () =>
    enqueue(async (gen) => {
      if (sessionId === undefined) return;
      let page = await read(0, pageSize);
      if (page.count > page.messages.length) page = await read(Math.max(0, page.count - pageSize), pageSize);
      if (gen !== generation.current) return;
      commit({ sessionId, start: page.offset, messages: page.messages, count: page.count });
    });

  const loadOlder = () =>
    enqueue(async (gen) => {
      const v = viewRef.current;
      if (v === undefined || v.start === 0) return;
      const from = Math.max(0, v.start - pageSize);
      const page = await read(from, v.start - from);
      if (gen !== generation.current || viewRef.current !== v) return;
      commit({ ...v, start: from, messages: [...page.messages, ...v.messages], count: page.count });
    });

  const loadNewer = () =>
    enqueue(async (gen) => {
      const v = viewRef.current;
      if (v === undefined) return;
      const end = v.start + v.messages.length;
      const page = await read(end, pageSize);
      if (gen !== generation.current || viewRef.current !== v) return;
      // Fewer messages than were loaded: the session was cut (purge, retention); read its end again.
      if (page.count < end) {
        const tail = await read(Math.max(0, page.count - pageSize), pageSize);
        if (gen === generation.current)
          commit({ ...v, start: tail.offset, messages: tail.messages, count: tail.count });
        return;
      }
      commit({ ...v, messages: [...v.messages, ...page.messages], count: page.count });
    });

  // A newly selected member's history comes into view.
  useEffect(() => {
    rootRef.current?.scrollIntoView?.({ block: 'nearest' });
  }, [memberId]);

  // A member or session switch starts over from the newest page.
  useEffect(() => {
    generation.current++;
    queue.current = Promise.resolve();
    commit(undefined);
    setError(undefined);
    setBusy(false);
    loadTail();
  }, [memberId, sessionId]);

  // The member's run ended: read what is new, when the view shows the end of the session.
  useEffect(() => {
    if (refreshKey === 0) return;
    const v = viewRef.current;
    if (v === undefined) {
      loadTail();
      return;
    }
    if (v.start + v.messages.length >= v.count) loadNewer();
  }, [refreshKey]);

  const entries = view ? toEntries(view.messages, view.start) : [];
  const end = view ? view.start + view.messages.length : 0;
  return (
    <div ref={rootRef} data-testid="history-view" data-member-id={memberId} data-session-id={sessionId ?? ''}>
      <div class="row">
        <strong data-testid="history-title">History of {props.label}</strong>
        <span class="muted" title={sessionId ?? ''}>
          session {sessionId ?? '—'}
        </span>
        <span class="grow" />
        {view && (
          <span class="muted" data-testid="history-range">
            {view.messages.length === 0 ? 'no messages' : `messages ${view.start + 1}–${end} of ${view.count}`}
          </span>
        )}
        <button type="button" class="secondary" onClick={props.onClose} data-testid="history-close">
          Close
        </button>
      </div>
      {error && (
        <p class="bad" data-testid="history-error">
          {error}
        </p>
      )}
      {sessionId === undefined ? (
        <p class="muted" data-testid="history-no-session">
          This member has no session yet.
        </p>
      ) : (
        <div>
          {view && view.start > 0 && (
            <button type="button" class="secondary" disabled={busy} onClick={loadOlder} data-testid="history-older">
              Load older ({view.start} more)
            </button>
          )}
          {view && view.messages.length === 0 && (
            <p class="muted" data-testid="history-empty">
              No messages in this session yet.
            </p>
          )}
          <ol class="transcript" data-testid="history-messages">
            {entries.map((e) => (
              <EntryView key={e.index} entry={e} />
            ))}
          </ol>
          {view && end < view.count && (
            <button type="button" class="secondary" disabled={busy} onClick={loadNewer} data-testid="history-newer">
              Load newer ({view.count - end} more)
            </button>
          )}
          <p class="muted" data-testid="history-status">
            {busy ? 'loading…' : view ? 'ready' : ''}
          </p>
        </div>
      )}
    </div>
  );
}
