import { type EventEnvelope, type PreSpawnData, cutLine, normalizeEventLine, toMobKitError } from '@mobkit/core';
import { SupervisorError, moduleError } from './errors.js';
import type { EventLog } from './event-log.js';
import { McpSession } from './mcp.js';
import { type FirstLine, ModuleProcess, type TerminateOutcome, describeExit } from './module-process.js';
import type { Instance, Slot, Started } from './module-table.js';
import type { ExitInfo, ProcessSpawner } from './spawner.js';

/** The options the launcher honours. */
export interface LauncherOptions {
  /** SIGTERM → this grace → SIGKILL when an instance is stopped for a restart, a replacement or shutdown. */
  shutdownGraceMs: number;
  /** Test hook: stopping an instance for a restart or replacement "fails". */
  supervisorTestForceTerminateFailure: boolean;
}

/**
 * A module's environment: this process's env, then the module's pre-spawn env on top. Module
 * output is a protocol, so `FORCE_COLOR` is dropped and `NO_COLOR=1` set unless the pre-spawn env
 * says otherwise.
 */
function moduleEnv(preSpawn: PreSpawnData | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  const own = new Map(preSpawn?.env ?? []);
  // Nx and some CI set FORCE_COLOR; module output is a protocol, never colour it.
  if (!own.has('FORCE_COLOR')) delete env.FORCE_COLOR;
  if (!own.has('NO_COLOR')) env.NO_COLOR = '1';
  for (const [key, value] of own) env[key] = value;
  return env;
}

/**
 * Starts module processes through their ready handshake and stops them again. Every process
 * whose group could not be emptied is kept as a stray, so shutdown can try once more and count
 * what survives.
 */
export class ModuleLauncher {
  private readonly strays = new Set<ModuleProcess>();

  constructor(
    private readonly spawner: ProcessSpawner,
    private readonly options: LauncherOptions,
    private readonly log: EventLog,
    /** Told the id of a module whose live instance's tool list changed (`notifications/tools/list_changed`). */
    private readonly toolsChanged: (moduleId: string) => void = () => {},
  ) {}

  /** One start attempt: spawn, then the JSON-line ready line or the MCP `initialize` + `tools/list`; throws on failure. */
  async start(slot: Slot, attempt: number, timeoutMs: number): Promise<Started> {
    const proc = this.spawn(slot);
    if (slot.isMcp) {
      if (proc.pid === undefined) throw spawnFailed(slot, await proc.exited);
      let session: McpSession;
      try {
        session = await McpSession.open(slot.id, proc, slot.ring, timeoutMs);
      } catch (error) {
        await proc.kill();
        throw error;
      }
      const instance: Instance = { proc, session, tools: [...session.tools], attempt, retired: false, invalidLines: 0 };
      session.onToolsChanged = () => {
        instance.tools = [...session.tools];
        if (!instance.retired && slot.instance === instance) this.toolsChanged(slot.id);
      };
      return { instance, event: this.log.mcpReadyEvent(slot.id, session.tools) };
    }
    const event = await readReadyLine(slot, proc, await proc.firstLine(timeoutMs), timeoutMs);
    return { instance: { proc, session: undefined, tools: [], attempt, retired: false, invalidLines: 0 }, event };
  }

  /** Starts a JSON-line module once, for its first event, and kills it again (a routed call, spec §3.7). */
  async firstEvent(slot: Slot, timeoutMs: number): Promise<EventEnvelope> {
    const proc = this.spawn(slot);
    const event = await readReadyLine(slot, proc, await proc.firstLine(timeoutMs), timeoutMs);
    this.keepIfSurvived(proc, await proc.kill());
    return event;
  }

  /** Stops a started instance for a restart or a replacement (honours the force-failure test hook); throws `TerminateFailed`. */
  async stopForRestart(slot: Slot, instance: Instance): Promise<void> {
    if (this.options.supervisorTestForceTerminateFailure) {
      throw new SupervisorError('TerminateFailed', `forced terminate failure for testing (module "${slot.id}")`, {
        details: { moduleId: slot.id },
      });
    }
    instance.retired = true;
    await instance.session?.close();
    const outcome = await instance.proc.terminate(this.options.shutdownGraceMs);
    if (outcome.survivors.length > 0) {
      this.strays.add(instance.proc);
      throw new SupervisorError(
        'TerminateFailed',
        `module "${slot.id}" processes ${outcome.survivors.join(', ')} survived SIGKILL`,
        { details: { moduleId: slot.id, survivors: outcome.survivors } },
      );
    }
  }

  /** Kills an instance that is not wanted (any more): a replacement that lost, a start during shutdown. */
  async discard(instance: Instance): Promise<void> {
    instance.retired = true;
    await instance.session?.close();
    this.keepIfSurvived(instance.proc, await instance.proc.kill());
  }

  /** Cleans up after an instance that exited by itself: its group (the module's own children) is killed. */
  async reap(instance: Instance): Promise<void> {
    void instance.session?.close();
    this.keepIfSurvived(instance.proc, await instance.proc.kill());
  }

  /** Stops an instance at shutdown (SIGTERM → grace → SIGKILL); returns how many of its processes survived. */
  async stop(instance: Instance): Promise<number> {
    instance.retired = true;
    void instance.session?.close();
    return (await instance.proc.terminate(this.options.shutdownGraceMs)).survivors.length;
  }

  /** Kills every stray once more; returns how many of their processes survived. */
  async stopStrays(): Promise<number> {
    let survivors = 0;
    for (const proc of this.strays) survivors += (await proc.kill()).survivors.length;
    this.strays.clear();
    return survivors;
  }

  private spawn(slot: Slot): ModuleProcess {
    return ModuleProcess.spawn(
      this.spawner,
      { command: slot.config.command, args: slot.config.args, env: moduleEnv(slot.preSpawn) },
      slot.ring,
    );
  }

  private keepIfSurvived(proc: ModuleProcess, outcome: TerminateOutcome): void {
    if (outcome.survivors.length > 0) this.strays.add(proc);
  }
}

function spawnFailed(slot: Slot, info: ExitInfo): SupervisorError {
  return moduleError(
    'SpawnFailed',
    slot.id,
    `could not start module "${slot.id}" (command ${JSON.stringify(slot.config.command)}): ${info.spawnError ?? describeExit(info)}`,
    { command: slot.config.command },
  );
}

/** Turns the first stdout line into the ready event, or kills the process and throws. */
async function readReadyLine(
  slot: Slot,
  proc: ModuleProcess,
  first: FirstLine,
  timeoutMs: number,
): Promise<EventEnvelope> {
  const id = slot.id;
  switch (first.kind) {
    case 'spawn-error':
      throw spawnFailed(slot, { exitCode: null, signal: null, spawnError: first.message });
    case 'timeout':
      await proc.kill();
      throw moduleError(
        'Timeout',
        id,
        `module "${id}" wrote no ready line within ${timeoutMs} ms; it was killed`,
        { timeoutMs, operation: 'ready' },
        slot.ring,
      );
    case 'eof': {
      await proc.exitWithin(500);
      await proc.drained(300);
      const exit = proc.exit;
      await proc.kill();
      throw moduleError(
        'EmptyOutput',
        id,
        `module "${id}" closed stdout before writing its ready line (${describeExit(exit)})`,
        { ...(exit ? { exit } : {}) },
        slot.ring,
      );
    }
    case 'overflow':
      await proc.kill();
      throw moduleError(
        'InvalidModuleOutput',
        id,
        `module "${id}" wrote a first stdout line longer than ${first.limitBytes} bytes; it starts ${JSON.stringify(first.head)}`,
        { line: cutLine(first.head), reason: 'LineTooLong' },
        slot.ring,
      );
    case 'line':
      try {
        return normalizeEventLine(first.line);
      } catch (raw) {
        await proc.kill();
        const cause = toMobKitError(raw);
        throw moduleError(
          'InvalidModuleOutput',
          id,
          `module "${id}" ready line is not a valid event envelope: ${cause.message}`,
          { line: cutLine(first.line), reason: cause.code },
          slot.ring,
          cause,
        );
      }
  }
}
