/**
 * The MobKit console (browser bundle, Preact): agents, modules and their health, the live activity feed
 * over SSE and a chat box that streams a member's reply. Works with console auth on (token entry, kept in
 * sessionStorage, sent as a Bearer header) and off.
 */
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { HistoryView, MemberStatusLine, type MemberStatusState, useMemberStatuses } from './members.js';
import { summarize } from './feed.js';
import { HttpError, readSse, type ParsedFrame } from './sse-client.js';

const TOKEN_KEY = 'mobkit.console.token';
const FEED_LIMIT = 200;
/** The history view's page size when the experience does not advertise one. */
const DEFAULT_HISTORY_PAGE = 50;
/** Agent events after which a member's status is read again. */
const STATUS_EVENTS = new Set(['run_started', 'run_completed', 'run_failed', 'peer_content_ingested', 'compacted']);
/** Agent events after which the open history view reads what is new. */
const HISTORY_EVENTS = new Set(['run_completed', 'run_failed', 'compacted']);

interface Agent {
  agent_id: string;
  member_id: string;
  label: string;
  kind: string;
  profile: string;
  state: string;
  wired_to: string[];
  labels: Record<string, string>;
  group: string;
  addressable: boolean;
  session_id?: string | null;
  affordances: { can_send_message: boolean; can_retire: boolean };
}

interface ModuleEntry {
  module_id: string;
  trusted?: boolean;
  loaded?: boolean;
  state: string | null;
}

interface Experience {
  runtime_id: string | null;
  mob_status?: string | null;
  store?: { kind: string; location: string; durable?: boolean } | null;
  agent_sidebar?: { live_snapshot?: { agents?: Agent[] } };
  health_overview?: { live_snapshot?: { running?: boolean; loaded_modules?: string[]; modules?: ModuleEntry[] } };
  topology?: { live_snapshot?: { nodes?: string[]; node_count?: number } };
  session_history?: { available?: boolean; source_method?: string; page_size?: number };
}

interface FeedItem {
  key: string;
  id: string;
  type: string;
  memberId: string;
  text: string;
}

const root = document.getElementById('app') as HTMLElement;
const baseUrl = root.dataset.baseUrl ?? '';
const requireAuth = root.dataset.requireAuth === 'true';

function readToken(): string {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('auth_token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete('auth_token');
    const query = params.toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function authHeaders(token: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function getJson<T>(path: string, token: string): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    headers: { accept: 'application/json', ...authHeaders(token) },
    cache: 'no-store',
  });
  if (!res.ok) {
    let body: Record<string, string> = {};
    try {
      body = (await res.json()) as Record<string, string>;
    } catch {
      // not JSON
    }
    throw new HttpError(res.status, body);
  }
  return (await res.json()) as T;
}

const clip = (text: string, n = 160) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function TokenBar(props: { token: string; onChange: (token: string) => void; authError: string | undefined }) {
  const [draft, setDraft] = useState('');
  if (!requireAuth && !props.token)
    return (
      <span class="muted" data-testid="auth-mode">
        auth off
      </span>
    );
  return (
    <form
      class="row"
      data-testid="token-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (draft.trim()) props.onChange(draft.trim());
        setDraft('');
      }}
    >
      {props.token ? (
        <span class="pill ok" data-testid="token-set">
          token set
        </span>
      ) : (
        <span class="pill warn">no token</span>
      )}
      <input
        type="password"
        placeholder="paste a console token"
        value={draft}
        onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        data-testid="token-input"
        autocomplete="off"
      />
      <button type="submit" data-testid="token-save">
        Use token
      </button>
      {props.token && (
        <button type="button" class="secondary" data-testid="token-clear" onClick={() => props.onChange('')}>
          Forget
        </button>
      )}
      {props.authError && (
        <span class="bad" data-testid="auth-error">
          {props.authError}
        </span>
      )}
    </form>
  );
}

function Agents(props: {
  agents: Agent[];
  statuses: Record<string, MemberStatusState>;
  selected: string | undefined;
  historyAvailable: boolean;
  onSelect: (memberId: string) => void;
}) {
  if (props.agents.length === 0)
    return (
      <p class="muted" data-testid="agents-empty">
        No agents.
      </p>
    );
  return (
    <ul data-testid="agent-list">
      {props.agents.map((a) => (
        <li
          key={a.agent_id}
          data-testid="agent-item"
          data-member-id={a.member_id}
          class={props.selected === a.member_id ? 'selected' : undefined}
          aria-current={props.selected === a.member_id ? 'true' : undefined}
        >
          <div>
            <strong data-testid="agent-label">{a.label}</strong>
            {a.label !== a.member_id && <span class="muted"> ({a.member_id})</span>}
          </div>
          <div>
            <span class="pill" data-testid="agent-profile">
              {a.profile}
            </span>
            <span class={`pill ${a.state === 'active' ? 'ok' : 'warn'}`} data-testid="agent-state">
              {a.state}
            </span>
            <span class="pill">group: {a.group}</span>
            {!a.addressable && <span class="pill warn">not addressable</span>}
          </div>
          <div class="muted" data-testid="agent-wiring">
            wired to: {a.wired_to.length ? a.wired_to.join(', ') : '—'}
          </div>
          {Object.keys(a.labels).length > 0 && (
            <div class="muted" data-testid="agent-labels">
              {Object.entries(a.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(' · ')}
            </div>
          )}
          {a.kind === 'mob_agent' && <MemberStatusLine state={props.statuses[a.member_id]} />}
          {a.kind === 'mob_agent' && props.historyAvailable && (
            <button
              type="button"
              class="secondary small"
              data-testid="agent-history"
              aria-pressed={props.selected === a.member_id ? 'true' : 'false'}
              onClick={() => props.onSelect(a.member_id)}
            >
              History
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

function Modules(props: { modules: ModuleEntry[]; running: boolean | undefined }) {
  return (
    <div>
      <p data-testid="runtime-running" class={props.running ? 'ok' : 'bad'}>
        {props.running ? 'modules running' : 'modules not running'}
      </p>
      {props.modules.length === 0 ? (
        <p class="muted">No modules.</p>
      ) : (
        <ul data-testid="module-list">
          {props.modules.map((m) => (
            <li key={m.module_id} data-testid="module-item" data-module-id={m.module_id}>
              <strong>{m.module_id}</strong>{' '}
              <span
                class={`pill ${m.state === 'Healthy' ? 'ok' : m.state === 'Failed' ? 'bad' : 'warn'}`}
                data-testid="module-state"
              >
                {m.state ?? 'not started'}
              </span>
              {m.trusted === false && <span class="pill warn">untrusted</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ActivityFeed(props: {
  token: string;
  enabled: boolean;
  onUnauthorized: (reason: string) => void;
  /** Every agent event of the feed, by type and member (the members list and history follow runs with it). */
  onEvent?: (type: string, memberId: string) => void;
}) {
  const [items, setItems] = useState<FeedItem[]>([]);
  const onEvent = useRef(props.onEvent);
  onEvent.current = props.onEvent;
  const [status, setStatus] = useState('connecting');
  const lastId = useRef<string | undefined>(undefined);
  const counter = useRef(0);

  useEffect(() => {
    if (!props.enabled) return;
    const controller = new AbortController();
    let timer: number | undefined;
    const connect = () => {
      setStatus(lastId.current ? 'reconnecting' : 'connecting');
      const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders(props.token) };
      if (lastId.current) headers['last-event-id'] = lastId.current;
      readSse(
        `${baseUrl}/mob/events`,
        { headers },
        (frame: ParsedFrame) => {
          if (frame.id) lastId.current = frame.id;
          let data: { member_id?: string; payload?: Record<string, unknown> } = {};
          try {
            data = JSON.parse(frame.data) as typeof data;
          } catch {
            return;
          }
          const item: FeedItem = {
            key: `${frame.id ?? 'x'}#${counter.current++}`,
            id: frame.id ?? '',
            type: frame.event,
            memberId: data.member_id ?? '',
            text: clip(summarize(frame.event, data.payload ?? {})),
          };
          setItems((prev) => [item, ...prev].slice(0, FEED_LIMIT));
          onEvent.current?.(item.type, item.memberId);
        },
        controller.signal,
        () => setStatus('live'),
      ).then(
        () => {
          if (!controller.signal.aborted) timer = window.setTimeout(connect, 1000);
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          if (err instanceof HttpError && err.status === 401) {
            setStatus('unauthorized');
            props.onUnauthorized(err.body.reason ?? 'unauthorized');
            return;
          }
          setStatus('reconnecting');
          timer = window.setTimeout(connect, 2000);
        },
      );
    };
    connect();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [props.token, props.enabled]);

  return (
    <div>
      <p class="muted">
        stream: <span data-testid="feed-status">{props.enabled ? status : 'no mob'}</span> · {items.length} events
      </p>
      <ul class="feed" data-testid="activity-feed">
        {items.map((i) => (
          <li key={i.key} data-testid="activity-item" data-event-type={i.type} data-member-id={i.memberId}>
            <span class="muted">{i.id}</span> <strong>{i.memberId}</strong> {i.type} {i.text && <span>— {i.text}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Chat(props: { token: string; agents: Agent[]; onUnauthorized: (reason: string) => void }) {
  const targets = props.agents.filter((a) => a.kind === 'mob_agent' && a.affordances.can_send_message);
  const [member, setMember] = useState('');
  const [message, setMessage] = useState('');
  const [reply, setReply] = useState('');
  const [status, setStatus] = useState('idle');
  const busy = status === 'sending' || status === 'streaming';
  const selected = targets.some((t) => t.member_id === member) ? member : (targets[0]?.member_id ?? '');

  const send = useCallback(async () => {
    if (!selected || !message.trim()) return;
    setReply('');
    setStatus('sending');
    let text = '';
    let finished = false;
    try {
      await readSse(
        `${baseUrl}/interactions/stream`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...authHeaders(props.token) },
          body: JSON.stringify({ member_id: selected, message }),
        },
        (frame) => {
          let payload: Record<string, unknown> = {};
          try {
            payload = JSON.parse(frame.data) as Record<string, unknown>;
          } catch {
            return;
          }
          if (frame.event === 'subscribed' || frame.event === 'message_accepted') setStatus('streaming');
          else if (frame.event === 'text_delta' && typeof payload.delta === 'string') {
            text += payload.delta;
            setReply(text);
          } else if (frame.event === 'run_completed') {
            if (!text && typeof payload.result === 'string') setReply(payload.result);
            finished = true;
            setStatus('done');
          } else if (frame.event === 'run_failed' || frame.event === 'interaction_failed') {
            finished = true;
            setStatus(`failed: ${String(payload.error ?? payload.error_class ?? 'unknown')}`);
          }
        },
        new AbortController().signal,
      );
      if (!finished) setStatus('ended');
      setMessage('');
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) props.onUnauthorized(err.body.reason ?? 'unauthorized');
      setStatus(`failed: ${err instanceof HttpError ? (err.body.error ?? err.status) : String(err)}`);
    }
  }, [selected, message, props.token]);

  if (targets.length === 0)
    return (
      <p class="muted" data-testid="chat-unavailable">
        No member accepts messages.
      </p>
    );
  return (
    <form
      data-testid="chat"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <div class="row">
        <label for="chat-member">To</label>
        <select
          id="chat-member"
          class="grow"
          value={selected}
          onChange={(e) => setMember((e.target as HTMLSelectElement).value)}
          data-testid="chat-member"
        >
          {targets.map((t) => (
            <option key={t.member_id} value={t.member_id}>
              {t.label}
              {t.label !== t.member_id ? ` (${t.member_id})` : ''}
            </option>
          ))}
        </select>
      </div>
      <textarea
        placeholder="Message"
        value={message}
        onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)}
        data-testid="chat-input"
      />
      <div class="row">
        <button type="submit" disabled={busy || !message.trim()} data-testid="chat-send">
          Send
        </button>
        <span class="muted" data-testid="chat-status">
          {status}
        </span>
      </div>
      <div class="reply" data-testid="chat-reply">
        {reply}
      </div>
    </form>
  );
}

function ConsoleApp() {
  const [token, setTokenState] = useState(readToken);
  const [experience, setExperience] = useState<Experience | undefined>(undefined);
  const [modules, setModules] = useState<string[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [authError, setAuthError] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [statusKey, setStatusKey] = useState(0);
  const [historyKeys, setHistoryKeys] = useState<Record<string, number>>({});

  const setToken = (next: string) => {
    if (next) sessionStorage.setItem(TOKEN_KEY, next);
    else sessionStorage.removeItem(TOKEN_KEY);
    setAuthError(undefined);
    setTokenState(next);
  };

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const [exp, mods] = await Promise.all([
          getJson<Experience>('/console/experience', token),
          getJson<{ modules: string[] }>('/console/modules', token),
        ]);
        if (stopped) return;
        setExperience(exp);
        setModules(mods.modules);
        setError(undefined);
        setAuthError(undefined);
      } catch (err) {
        if (stopped) return;
        if (err instanceof HttpError && err.status === 401) {
          setAuthError(`unauthorized: ${err.body.reason ?? 'unknown'}`);
          setExperience(undefined);
        } else setError(err instanceof Error ? err.message : String(err));
      }
    };
    void load();
    const timer = window.setInterval(load, 5000);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [token]);

  const agents: Agent[] =
    experience?.agent_sidebar?.live_snapshot?.agents ??
    modules.map((id) => ({
      agent_id: id,
      member_id: id,
      label: id,
      kind: 'module_agent',
      profile: 'module',
      state: 'active',
      wired_to: [],
      labels: {},
      group: 'modules',
      addressable: false,
      affordances: { can_send_message: false, can_retire: false },
    }));
  const health = experience?.health_overview?.live_snapshot;
  const moduleEntries: ModuleEntry[] = health?.modules ?? modules.map((id) => ({ module_id: id, state: null }));
  const hasMob = experience !== undefined && experience.runtime_id !== null;
  const historyPanel = experience?.session_history;
  const historyAvailable =
    hasMob && historyPanel?.available === true && historyPanel.source_method === 'mobkit/read_session_history';
  const pageSize =
    typeof historyPanel?.page_size === 'number' && historyPanel.page_size > 0
      ? Math.floor(historyPanel.page_size)
      : DEFAULT_HISTORY_PAGE;
  const onUnauthorized = (r: string) => setAuthError(`unauthorized: ${r}`);
  const api = { baseUrl, headers: authHeaders(token), onUnauthorized };
  const memberIds = hasMob && !authError ? agents.filter((a) => a.kind === 'mob_agent').map((a) => a.member_id) : [];
  const statuses = useMemberStatuses(api, memberIds, statusKey);
  const selectedAgent = agents.find((a) => a.kind === 'mob_agent' && a.member_id === selected);
  const onEvent = (type: string, memberId: string) => {
    if (STATUS_EVENTS.has(type)) setStatusKey((n) => n + 1);
    if (HISTORY_EVENTS.has(type) && memberId)
      setHistoryKeys((prev) => ({ ...prev, [memberId]: (prev[memberId] ?? 0) + 1 }));
  };

  return (
    <div>
      <header>
        <h1>Mob Console</h1>
        <span class="muted" data-testid="runtime-id">
          {experience?.runtime_id ?? ''} {experience?.mob_status ? `· ${experience.mob_status}` : ''}
        </span>
        {experience?.store && (
          <span class="muted" data-testid="store" title={experience.store.location}>
            · store: {experience.store.kind}
            {experience.store.kind === 'memory' ? ' (not kept across restarts)' : ` (${experience.store.location})`}
          </span>
        )}
        <span class="grow" />
        <TokenBar token={token} onChange={setToken} authError={authError} />
      </header>
      {error && (
        <p class="bad" data-testid="console-error" style="padding: 0 18px">
          {error}
        </p>
      )}
      {authError && !experience ? (
        <main>
          <section data-testid="auth-required">
            <h2>Sign in</h2>
            <p>This console needs a token. Paste one above (it is kept for this tab only).</p>
          </section>
        </main>
      ) : !experience && !error ? (
        <p data-testid="console-loading" style="padding: 18px">
          Loading…
        </p>
      ) : (
        <main>
          <section data-testid="agents-panel">
            <h2>Agents ({agents.length})</h2>
            <Agents
              agents={agents}
              statuses={statuses}
              selected={selectedAgent?.member_id}
              historyAvailable={historyAvailable}
              onSelect={(id) => setSelected((prev) => (prev === id ? undefined : id))}
            />
            <h2 style="margin-top: 14px">Modules</h2>
            <Modules modules={moduleEntries} running={health?.running} />
          </section>
          <section data-testid="activity-panel">
            <h2>Activity</h2>
            <ActivityFeed
              token={token}
              enabled={hasMob && !authError}
              onUnauthorized={onUnauthorized}
              onEvent={onEvent}
            />
          </section>
          <section data-testid="chat-panel">
            <h2>Chat</h2>
            <Chat token={token} agents={agents} onUnauthorized={onUnauthorized} />
          </section>
          {selectedAgent && historyAvailable && (
            <section class="wide" data-testid="history-panel">
              <h2>History</h2>
              <HistoryView
                {...api}
                memberId={selectedAgent.member_id}
                label={selectedAgent.label}
                sessionId={statuses[selectedAgent.member_id]?.sessionId ?? selectedAgent.session_id ?? undefined}
                pageSize={pageSize}
                refreshKey={historyKeys[selectedAgent.member_id] ?? 0}
                onClose={() => setSelected(undefined)}
              />
            </section>
          )}
        </main>
      )}
    </div>
  );
}

// Replace the server-rendered loading placeholder.
root.replaceChildren();
render(<ConsoleApp />, root);
