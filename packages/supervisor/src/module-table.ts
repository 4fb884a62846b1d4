import type { EventEnvelope, MobKitConfig, ModuleConfig, ModuleHealthState, PreSpawnData } from '@mobkit/core';
import { SupervisorError, moduleError } from './errors.js';
import type { McpSession } from './mcp.js';
import type { ModuleProcess } from './module-process.js';
import { StderrRing } from './stderr-ring.js';

/** One running process of a module, with its MCP session when it is an MCP module. */
export interface Instance {
  proc: ModuleProcess;
  session: McpSession | undefined;
  /** Sorted tool names (MCP modules). */
  tools: string[];
  /** Number of the start attempt this process came from. */
  attempt: number;
  /** Set once the supervisor stops (or gave up on) this process: its exit is then no crash. */
  retired: boolean;
  invalidLines: number;
}

/** A process that passed its ready handshake, and the event that says so. */
export interface Started {
  instance: Instance;
  event: EventEnvelope;
}

/** Everything the supervisor keeps about one configured module. */
export interface Slot {
  id: string;
  config: ModuleConfig;
  preSpawn: PreSpawnData | undefined;
  isMcp: boolean;
  ring: StderrRing;
  state: ModuleHealthState | undefined;
  /** The live instance; kept while a replacement starts. */
  instance: Instance | undefined;
  loaded: boolean;
  /** Bumped by every start or replacement, so a crash handler of an older instance knows to stop. */
  generation: number;
  attempts: number;
  /** Crash restarts in the current streak (reset by a stable period or a fresh start). */
  crashStreak: number;
  healthySince: number;
  restarts: number;
  /** Ready bound of the last start, reused by crash restarts. */
  timeoutMs: number;
  /** Instances installed so far (a second one is a restart or replacement: its tools are announced). */
  installs: number;
}

/** True when a pre-spawn env selects the MCP boundary (`MOBKIT_MODULE_BOUNDARY=mcp`, trimmed, any case; last one wins). */
function boundaryIsMcp(preSpawn: PreSpawnData | undefined): boolean {
  if (!preSpawn) return false;
  let value: string | undefined;
  for (const [key, v] of preSpawn.env) if (key === 'MOBKIT_MODULE_BOUNDARY') value = v;
  return value !== undefined && value.trim().toLowerCase() === 'mcp';
}

/** Ids sorted by code unit (the order every id list of the runtime is reported in). */
export function sortedIds(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The instance that serves calls: the live one, even while a replacement is starting; else `ModuleUnavailable`. */
export function liveInstance(slot: Slot): Instance {
  const instance = slot.instance;
  if (!instance || instance.retired) {
    throw moduleError(
      'ModuleUnavailable',
      slot.id,
      `module "${slot.id}" is ${slot.state ?? 'not started'} right now (it is being restarted); retry shortly`,
      { state: slot.state ?? null },
      slot.ring,
    );
  }
  return instance;
}

/** The configured modules (first definition of an id wins) and the supervision slot of each one started. */
export class ModuleTable {
  private readonly configured = new Map<string, ModuleConfig>();
  private readonly preSpawn = new Map<string, PreSpawnData>();
  private readonly slots = new Map<string, Slot>();

  constructor(
    config: MobKitConfig,
    private readonly defaultTimeoutMs: number,
  ) {
    for (const module of config.modules) if (!this.configured.has(module.id)) this.configured.set(module.id, module);
    for (const data of config.preSpawn ?? [])
      if (!this.preSpawn.has(data.moduleId)) this.preSpawn.set(data.moduleId, data);
  }

  /** The slot of a module that was started at least once. */
  get(moduleId: string): Slot | undefined {
    return this.slots.get(moduleId);
  }

  /** Every slot, in the order the modules were first started. */
  all(): Slot[] {
    return [...this.slots.values()];
  }

  /** Ids of the loaded modules, sorted. */
  loadedIds(): string[] {
    return sortedIds(this.all().flatMap((s) => (s.loaded ? [s.id] : [])));
  }

  /** True when the module's pre-spawn env selects the MCP boundary. */
  isMcpModule(moduleId: string): boolean {
    return boundaryIsMcp(this.preSpawn.get(moduleId));
  }

  /** The module's config, else `ModuleNotConfigured` listing the configured ids. */
  requireConfigured(moduleId: string): ModuleConfig {
    const config = typeof moduleId === 'string' ? this.configured.get(moduleId) : undefined;
    if (!config) {
      const known = sortedIds(this.configured.keys());
      throw new SupervisorError(
        'ModuleNotConfigured',
        `module ${JSON.stringify(moduleId)} is not configured; configured modules: ${known.length === 0 ? '(none)' : known.join(', ')}`,
        { details: { moduleId, configuredModules: known } },
      );
    }
    return config;
  }

  /** The slot of a loaded module, else `ModuleNotConfigured` or `UnloadedModule`. */
  loadedSlot(moduleId: string): Slot {
    const slot = this.slots.get(moduleId);
    if (!slot?.loaded) {
      this.requireConfigured(moduleId);
      throw new SupervisorError(
        'UnloadedModule',
        `module "${moduleId}" is not loaded (state: ${slot?.state ?? 'never started'}); start it with spawnMember or reconcileModules`,
        { details: { moduleId, state: slot?.state ?? null } },
      );
    }
    return slot;
  }

  /** The module's slot, created on first use (the module must be configured). */
  slotFor(moduleId: string): Slot {
    const existing = this.slots.get(moduleId);
    if (existing) return existing;
    const config = this.requireConfigured(moduleId);
    const preSpawn = this.preSpawn.get(moduleId);
    const slot: Slot = {
      id: moduleId,
      config,
      preSpawn,
      isMcp: boundaryIsMcp(preSpawn),
      ring: new StderrRing(),
      state: undefined,
      instance: undefined,
      loaded: false,
      generation: 0,
      attempts: 0,
      crashStreak: 0,
      healthySince: 0,
      restarts: 0,
      timeoutMs: this.defaultTimeoutMs,
      installs: 0,
    };
    this.slots.set(moduleId, slot);
    return slot;
  }
}
