import { MOBKIT_CONTRACT_VERSION, type ModuleHealthState } from '@mobkit/core';
import type { ReferenceAppRuntimeSurface, SurfaceMember } from './surface.js';

/** Agent event types that end an interaction stream (advertised in the chat inspector contract). */
export const TERMINAL_EVENT_TYPES: readonly string[] = [
  'run_completed',
  'run_failed',
  'interaction_complete',
  'interaction_failed',
];

/** Messages per page of the console's history view (`session_history.page_size`). */
export const SESSION_HISTORY_PAGE_SIZE = 50;

/** Agent events after which the console's history view reads what is new (`session_history.refresh_policy`). */
const SESSION_HISTORY_REFRESH_EVENTS: readonly string[] = ['run_completed', 'run_failed', 'compacted'];

/** How the history view draws each message role of `mobkit/read_session_history` (Meerkat's serialization). */
const SESSION_HISTORY_ROLES = {
  user: 'user prompt; render_metadata.class "peer_message" as a peer message; transcript_role "compaction_summary" as a summary, "injected_context" as context',
  block_assistant:
    'assistant text (blocks text/transcript), reasoning (collapsed) and tool calls (blocks tool_use: name and args)',
  tool_results: 'tool results by tool_use_id with the called tool name; is_error marks an error',
  system: 'system text',
  system_notice: 'a notice: kind, body and block summaries',
};

/** The console contract version (`0.2.0`). */
export const CONSOLE_CONTRACT_VERSION: string = MOBKIT_CONTRACT_VERSION;

/** The required top-level fields of `/console/experience` (console-rest-sse-contract v0.2.0). */
export const EXPERIENCE_REQUIRED_FIELDS = [
  'contract_version',
  'runtime_capabilities',
  'base_panel',
  'agent_sidebar',
  'activity_feed',
  'chat_inspector',
  'topology',
  'health_overview',
  'flows',
  'session_history',
] as const;

/** One entry of `agent_sidebar.live_snapshot.agents`. */
export interface ConsoleAgentWire {
  agent_id: string;
  member_id: string;
  label: string;
  kind: 'mob_agent' | 'module_agent';
  profile: string;
  state: string;
  wired_to: string[];
  labels: Record<string, string>;
  group: string;
  addressable: boolean;
  session_id: string | null;
  affordances: {
    addressable: boolean;
    can_send_message: boolean;
    can_retire: boolean;
    can_respawn: boolean;
    runtime_mode: 'mob_agent' | 'module_agent';
  };
}

/** One module as the console's health panel shows it (an addition to the original's contract). */
export interface ConsoleModuleWire {
  module_id: string;
  trusted: boolean;
  loaded: boolean;
  /** Latest health state (`Starting`, `Healthy`, `Failed`, `Restarting`, `Stopped`), null when never started. */
  state: ModuleHealthState | null;
  /** Start attempt of the latest transition (0 when never started). */
  attempt: number;
}

/** The store behind the runtime (`store` of `/console/experience`; an addition to the original's contract). */
export interface ConsoleStoreWire {
  /** `memory`, `sqlite`, `postgres`, or a user adapter's name. */
  kind: string;
  /** A file path, a host/database (no password), or `memory`. */
  location: string;
  schema_version: number;
  /** True when events and state survive a restart (every kind but `memory`). */
  durable: boolean;
}

/** The `store` field of `/console/experience`: the runtime's store, or null when it has no event log. */
export function consoleStore(surface: ReferenceAppRuntimeSurface): ConsoleStoreWire | null {
  const store = surface.eventLog?.()?.store;
  if (store === undefined) return null;
  return {
    kind: store.kind,
    location: store.location,
    schema_version: store.schemaVersion,
    durable: store.kind !== 'memory',
  };
}

/** Inputs of {@link buildConsoleExperience}. */
export interface ConsoleExperienceInput {
  surface: ReferenceAppRuntimeSurface;
  /** The trusted module ids (decision state). */
  trustedModules: readonly string[];
  /** The keep-alive interval the SSE routes use, in ms. */
  keepAliveMs: number;
}

function agentFromMember(member: SurfaceMember, externallyAddressable: boolean): ConsoleAgentWire {
  const labels = { ...member.labels };
  const addressable = externallyAddressable && labels.addressable !== 'false';
  const singleton = labels.singleton === 'true';
  return {
    agent_id: member.meerkatId,
    member_id: member.meerkatId,
    label:
      labels.display_name !== undefined && labels.display_name.trim() !== '' ? labels.display_name : member.meerkatId,
    kind: 'mob_agent',
    profile: member.profile,
    state: member.state,
    wired_to: [...member.wiredTo],
    labels,
    group: labels.group !== undefined && labels.group.trim() !== '' ? labels.group : member.profile,
    addressable,
    session_id: member.sessionId ?? null,
    affordances: {
      addressable,
      can_send_message: addressable && member.state === 'active',
      can_retire: !singleton,
      can_respawn: true,
      runtime_mode: 'mob_agent',
    },
  };
}

function moduleAgent(id: string): ConsoleAgentWire {
  return {
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
    session_id: null,
    affordances: {
      addressable: false,
      can_send_message: false,
      can_retire: false,
      can_respawn: false,
      runtime_mode: 'module_agent',
    },
  };
}

/** Every trusted or loaded module with its latest health state, sorted by id. */
export function consoleModules(
  surface: ReferenceAppRuntimeSurface,
  trustedModules: readonly string[],
): ConsoleModuleWire[] {
  const loaded = new Set(surface.loadedModules());
  const trusted = new Set(trustedModules);
  const latest = new Map<string, { state: ModuleHealthState; attempt: number }>();
  for (const t of surface.moduleHealthTransitions()) latest.set(t.moduleId, { state: t.to, attempt: t.attempt });
  const ids = [...new Set([...trusted, ...loaded, ...latest.keys()])].sort();
  return ids.map((id) => ({
    module_id: id,
    trusted: trusted.has(id),
    loaded: loaded.has(id),
    state: latest.get(id)?.state ?? null,
    attempt: latest.get(id)?.attempt ?? 0,
  }));
}

/**
 * The `/console/experience` body (spec §15.1): every v0.2.0 top-level field, with a live agent snapshot
 * from the runtime surface. Labels `display_name` (label), `group` (group), `addressable` (`"false"` hides
 * send) and `singleton` (`"true"` prevents retire) are honoured. Additive fields: `session_id` per agent and
 * `health_overview.live_snapshot.modules` (each module's latest health), and `store` (the runtime's store,
 * null without one). With a durable log, SSE ids are the log's `<seq>`.
 */
export async function buildConsoleExperience(input: ConsoleExperienceInput) {
  const { surface, trustedModules, keepAliveMs } = input;
  const mobId = surface.mobId();
  const hasMob = mobId !== undefined;
  const profiles = hasMob ? surface.profiles() : [];
  const addressableByProfile = new Map(profiles.map((p) => [p.name, p.externalAddressable]));
  const members = hasMob ? await surface.listMembers() : [];
  const sortedTrusted = [...trustedModules].sort();

  const agents: ConsoleAgentWire[] = hasMob
    ? members
        .map((m) => agentFromMember(m, addressableByProfile.get(m.profile) ?? false))
        .sort((a, b) => (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0))
    : sortedTrusted.map(moduleAgent);

  const profileCapabilities: Record<string, { instance_count: number; addressable: boolean; has_wiring: boolean }> = {};
  for (const p of profiles)
    profileCapabilities[p.name] = { instance_count: 0, addressable: p.externalAddressable, has_wiring: false };
  for (const agent of hasMob ? agents : []) {
    let entry = profileCapabilities[agent.profile];
    if (entry === undefined) {
      entry = { instance_count: 0, addressable: true, has_wiring: false };
      profileCapabilities[agent.profile] = entry;
    }
    entry.addressable = entry.instance_count === 0 ? agent.addressable : entry.addressable && agent.addressable;
    entry.instance_count += 1;
    entry.has_wiring ||= agent.wired_to.length > 0;
  }

  // With a runtime, a trusted module counts as loaded only while the runtime has it loaded (a module
  // that crash-looped to Stopped is not), so this agrees with `mobkit/status`.
  const loadedNow = new Set(hasMob ? surface.loadedModules() : []);
  const loadedModules = hasMob
    ? sortedTrusted.length > 0
      ? sortedTrusted.filter((id) => loadedNow.has(id))
      : agents.map((a) => a.agent_id)
    : sortedTrusted;
  const isRunning = hasMob ? surface.isRunning() : sortedTrusted.length > 0;
  const durableIds = surface.eventLog?.() !== undefined;
  const keepAlive = { interval_ms: keepAliveMs, comment: 'keep-alive', event: 'keep-alive' };

  return {
    contract_version: CONSOLE_CONTRACT_VERSION,
    runtime_id: mobId ?? null,
    mob_status: hasMob ? await surface.mobStatus() : null,
    store: consoleStore(surface),
    runtime_capabilities: {
      can_spawn_members: hasMob,
      can_send_messages: hasMob,
      can_wire_members: hasMob,
      can_retire_members: hasMob,
      available_spawn_modes: hasMob ? ['module', 'profile'] : ['module'],
      profile_capabilities: profileCapabilities,
    },
    base_panel: {
      panel_id: 'console.home',
      title: 'Mob Console',
      route: '/console',
      capabilities: { can_render: true, can_subscribe_activity: true, can_send_messages: hasMob },
    },
    module_panels: sortedTrusted.map((id) => ({
      panel_id: `module.${id}`,
      module_id: id,
      title: `${id} module`,
      route: `/console/modules/${id}`,
      capabilities: { can_render: true, can_subscribe_activity: true },
    })),
    agent_sidebar: {
      panel_id: 'console.agents',
      title: 'Agents',
      source_method: hasMob ? 'mobkit/list_members' : 'mobkit/status',
      refresh_policy: { mode: 'pull', poll_interval_ms: 5000 },
      selection_contract: { key: 'agent_id', multi_select: false, opens_panel: 'console.chat_inspector' },
      list_item_contract: {
        fields: [
          'agent_id',
          'member_id',
          'label',
          'kind',
          'profile',
          'state',
          'wired_to',
          'labels',
          'group',
          'addressable',
          'affordances',
        ],
        status_contract: {
          source_method: 'mobkit/member_status',
          params: { member_id: 'string' },
          fields: ['status', 'run_state', 'queued_messages', 'tokens_used', 'error', 'current_session_id', 'is_final'],
          refresh_policy: {
            mode: 'pull+push',
            poll_interval_ms: 5000,
            on_events: ['run_started', 'run_completed', 'run_failed', 'peer_content_ingested', 'compacted'],
          },
        },
        well_known_labels: {
          display_name: 'shown instead of the member id',
          group: 'groups agents in the sidebar (default: the profile)',
          addressable: '"false" hides the send affordance',
          singleton: '"true" prevents retire',
        },
      },
      live_snapshot: { agents, agent_count: agents.length },
    },
    activity_feed: {
      panel_id: 'console.activity',
      title: 'Activity',
      transport: 'sse',
      source_method: 'mobkit/events/subscribe',
      supported_scopes: ['mob', 'agent', 'interaction'],
      default_scope: 'mob',
      request_contract: {
        mob: { method: 'GET', route: '/mob/events' },
        agent: { method: 'GET', route: '/agents/{agent_id}/events' },
        interaction: {
          method: 'POST',
          route: '/interactions/stream',
          body: { member_id: 'string', message: 'string (optional)' },
        },
        resume: {
          header: 'Last-Event-ID',
          query_param: 'last_event_id',
          id_formats: durableIds ? ['<seq>'] : ['mob:<seq>', '<agent_id>:<seq>'],
        },
        auth: { bearer: true, query_param: 'auth_token' },
      },
      event_contract: {
        envelope_fields: ['member_id', 'source', 'payload', 'timestamp_ms'],
        event_type_path: 'event.event_type',
        payload_type_path: 'payload.type',
        frame_format: durableIds
          ? 'id: <seq>\\nevent: <agent event type>\\ndata: <json>\\n\\n'
          : 'id: <scope>:<seq>\\nevent: <agent event type>\\ndata: <json>\\n\\n',
      },
      keep_alive: keepAlive,
    },
    chat_inspector: {
      panel_id: 'console.chat_inspector',
      title: 'Chat',
      send_method: 'mobkit/send_message',
      observe_route: '/interactions/stream',
      transport: 'rpc+sse',
      request_contract: { member_id: 'string', message: 'string (optional: sent after subscribing)' },
      terminal_events: [...TERMINAL_EVENT_TYPES],
      enabled: hasMob,
    },
    topology: {
      panel_id: 'console.topology',
      title: 'Topology',
      source_method: 'mobkit/status',
      route_method: 'mobkit/routing/routes/list',
      live_snapshot: { nodes: loadedModules, node_count: loadedModules.length },
    },
    health_overview: {
      panel_id: 'console.health',
      title: 'Health',
      source_method: 'mobkit/status',
      live_snapshot: {
        running: isRunning,
        loaded_modules: loadedModules,
        loaded_module_count: loadedModules.length,
        modules: consoleModules(surface, sortedTrusted),
      },
    },
    flows: {
      panel_id: 'console.flows',
      title: 'Flows',
      evaluate_method: 'mobkit/scheduling/evaluate',
      dispatch_method: 'mobkit/scheduling/dispatch',
      refresh_policy: { mode: 'pull', poll_interval_ms: 10000 },
      note: 'schedules are evaluated and dispatched through the scheduling module',
    },
    session_history: hasMob
      ? {
          panel_id: 'console.sessions',
          title: 'Sessions',
          available: true,
          source_method: 'mobkit/read_session_history',
          transport: 'rpc',
          route: '/console/rpc',
          session_id_sources: ['mobkit/member_status#current_session_id', 'mobkit/member_current_session_id'],
          selection_contract: { from_panel: 'console.agents', key: 'member_id' },
          page_size: SESSION_HISTORY_PAGE_SIZE,
          request_contract: {
            session_id: 'string (required)',
            offset: 'integer >= 0 (default 0; clamped to message_count)',
            limit: 'positive integer (default: every message from offset)',
          },
          response_contract: {
            fields: ['session_id', 'message_count', 'offset', 'limit', 'has_more', 'messages'],
            message_tag: 'role',
            rendered_roles: SESSION_HISTORY_ROLES,
          },
          paging: { initial: 'newest page', older: 'load older', newer: 'load newer' },
          refresh_policy: { mode: 'push', stream_route: '/mob/events', on_events: [...SESSION_HISTORY_REFRESH_EVENTS] },
        }
      : { panel_id: 'console.sessions', title: 'Sessions', available: false, reason: 'no mob runtime is attached' },
  };
}

/**
 * The `/console/experience` body as {@link buildConsoleExperience} builds it (snake_case, v0.2.0 plus the
 * additive fields), for typed consumers and tests.
 */
export type ConsoleExperienceWire = Awaited<ReturnType<typeof buildConsoleExperience>>;
