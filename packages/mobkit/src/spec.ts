import type { EmbeddedMob, LlmClient, MobDefinition, Profile } from '@mobkit/mob-adapter';

/**
 * Where the mob keeps its roster and sessions. The embedded mob is in-memory; this type exists so a
 * durable store can be added without changing the bootstrap API (the original's `MobStorage`).
 */
export class MobStorage {
  private constructor(readonly kind: 'memory') {}
  /** Roster and sessions live in this process and end with it. */
  static inMemory(): MobStorage {
    return new MobStorage('memory');
  }
}

/** Chooses the LLM client of a member from its profile. */
export type LlmClientFactory = (profile: Profile) => LlmClient;

/** Options of {@link MobBootstrapSpec} (the original's `MobBootstrapOptions`). */
export interface MobBootstrapOptions {
  /** Members may run on sessions that are not persisted (the embedded mob's only kind today). Default true. */
  allowEphemeralSessions?: boolean;
  /** Tell the orchestrator when a member resumes a session. Default true. */
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
    /** An embedded mob created by the caller, used instead of creating one. */
    readonly mob?: EmbeddedMob,
  ) {}

  /** A spec for `definition` kept in `storage` (default in-memory). */
  static new(definition: MobDefinition, storage: MobStorage = MobStorage.inMemory()): MobBootstrapSpec {
    return new MobBootstrapSpec(definition, storage, {
      allowEphemeralSessions: true,
      notifyOrchestratorOnResume: true,
    });
  }

  /**
   * A spec around an embedded mob you already created (e.g. with your own tools or tuning through
   * `createEmbeddedMob`). The runtime takes it over: it is stopped at shutdown, or at once if the
   * modules fail to start.
   */
  static fromMob(mob: EmbeddedMob): MobBootstrapSpec {
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
