import type { LlmClient, MobDefinition, MobRuntime, Profile } from '@mobkit/mob-adapter';

/**
 * Where the embedded mob keeps its roster, sessions, histories and inboxes (the original's
 * `MobStorage`). The default, {@link MobStorage.runtimeStore}, is the runtime's own store: durable
 * when the runtime's is (`.persistentState(dir)`, `.store(sqliteOrPostgres)`), in memory with the
 * default in-memory store. {@link MobStorage.inMemory} keeps the mob in memory even on a durable store.
 */
export class MobStorage {
  private constructor(readonly kind: 'memory' | 'runtime-store') {}
  /** Roster and sessions live in this process and end with it, whatever the runtime's store. */
  static inMemory(): MobStorage {
    return new MobStorage('memory');
  }
  /** The mob persists through the runtime's store (the default) and is restored from it at the next build. */
  static runtimeStore(): MobStorage {
    return new MobStorage('runtime-store');
  }
}

/** Chooses the LLM client of a member from its profile. */
export type LlmClientFactory = (profile: Profile) => LlmClient;

/** Options of {@link MobBootstrapSpec} (the original's `MobBootstrapOptions`). */
export interface MobBootstrapOptions {
  /** Members may run on sessions that are not persisted (with an in-memory store or `MobStorage.inMemory()`). Default true. */
  allowEphemeralSessions?: boolean;
  /**
   * After a restart restores the mob, send each orchestrator the original's notice (`Mob '<id>' resumed
   * with <n> active meerkats and <m> wiring links. …`). Default true.
   */
  notifyOrchestratorOnResume?: boolean;
  /** The LLM client for every member, or a factory choosing one per profile. Default: the TestClient. */
  defaultLlmClient?: LlmClient | LlmClientFactory;
}

/** Everything needed to bootstrap the mob half of a {@link UnifiedRuntime}. */
export class MobBootstrapSpec {
  private constructor(
    /** The mob definition (profiles, wiring, skills). */
    readonly definition: MobDefinition,
    /** Roster storage. */
    readonly storage: MobStorage,
    /** Bootstrap options. */
    readonly options: Readonly<
      Required<Pick<MobBootstrapOptions, 'allowEphemeralSessions' | 'notifyOrchestratorOnResume'>> &
        Pick<MobBootstrapOptions, 'defaultLlmClient'>
    >,
    /** A mob created by the caller (embedded or rkat-rpc), used instead of creating one; the runtime owns it. */
    readonly mob?: MobRuntime,
  ) {}

  /** A spec for `definition` kept in `storage` (default: the runtime's store). */
  static new(definition: MobDefinition, storage: MobStorage = MobStorage.runtimeStore()): MobBootstrapSpec {
    return new MobBootstrapSpec(definition, storage, {
      allowEphemeralSessions: true,
      notifyOrchestratorOnResume: true,
    });
  }

  /**
   * A spec around a mob you already created: an embedded one with your own tools or tuning
   * (`createEmbeddedMob`), or an external Meerkat (`createRkatRpcMob`). Ownership passes to the
   * runtime, as for a mob it boots itself: it closes the mob at shutdown, or at once if the modules
   * fail to start (`close()`: stopped, listeners released, an rkat-rpc child process ended), so hand
   * a mob to one runtime only and do not close it yourself. The spec's `storage` is in-memory and its
   * `defaultLlmClient` is unused: the mob brings its own.
   */
  static fromMob(mob: MobRuntime): MobBootstrapSpec {
    return new MobBootstrapSpec(
      mob.definition,
      MobStorage.inMemory(),
      { allowEphemeralSessions: true, notifyOrchestratorOnResume: true },
      mob,
    );
  }

  /** A copy with `options` applied over the current ones. */
  withOptions(options: MobBootstrapOptions): MobBootstrapSpec {
    return new MobBootstrapSpec(
      this.definition,
      this.storage,
      {
        allowEphemeralSessions: options.allowEphemeralSessions ?? this.options.allowEphemeralSessions,
        notifyOrchestratorOnResume: options.notifyOrchestratorOnResume ?? this.options.notifyOrchestratorOnResume,
        defaultLlmClient: options.defaultLlmClient ?? this.options.defaultLlmClient,
      },
      this.mob,
    );
  }
}
