import { randomUUID } from 'node:crypto';
import type { MobDefinition, Profile } from '../definition.js';
import { resolveLlmClient } from '../llm/resolve.js';
import type { LlmClient } from '../llm/types.js';
import type { SpawnMemberSpec } from '../types.js';
import { type HistoryLimits, MemberHistory } from './history.js';
import { type Member, emptyStats } from './member.js';
import { profileSystemPrompt } from './prompt.js';
import type { EmbeddedMobOptions, EmbeddedMobTuning } from './types.js';

/**
 * Builds members from validated spawn specs. The LLM client and the profile's system prompt are
 * made once per profile (so a spawn fails at once for a missing provider key or an unreadable
 * path skill) and shared by the profile's members.
 */
export class MemberFactory {
  private readonly llmByProfile = new Map<string, LlmClient>();
  private readonly promptByProfile = new Map<string, string>();

  constructor(
    private readonly definition: MobDefinition,
    private readonly llm: EmbeddedMobOptions['llm'],
    private readonly tuning: EmbeddedMobTuning,
    private readonly historyLimits: HistoryLimits,
  ) {}

  /** A new active member of `profile` from `spec` (its session is `sessionId`, else `resumeSessionId`, else a fresh one). */
  create(spec: SpawnMemberSpec, profile: Profile, sessionId?: string): Member {
    const llm = this.llmFor(profile);
    const base = this.systemPromptFor(profile);
    const extra = spec.additionalInstructions;
    return {
      system: extra && extra.length > 0 ? `${base}\n\n${extra.join('\n\n')}` : base,
      id: spec.meerkatId,
      profile,
      spec,
      sessionId: sessionId ?? spec.resumeSessionId ?? randomUUID(),
      runtimeMode: spec.runtimeMode ?? profile.runtimeMode,
      labels: spec.labels ?? {},
      state: 'active',
      wired: new Set(),
      history: new MemberHistory(this.historyLimits),
      inbox: [],
      lock: Promise.resolve(),
      pumpScheduled: false,
      running: undefined,
      replyTo: undefined,
      llm,
      retired: false,
      stats: emptyStats(),
      openRun: undefined,
      resumeRun: undefined,
    };
  }

  /** The LLM client members of `profile` share (made on first use; a missing key fails here). */
  llmFor(profile: Profile): LlmClient {
    const cached = this.llmByProfile.get(profile.name);
    if (cached) return cached;
    let client: LlmClient;
    if (this.llm === undefined) client = resolveLlmClient(profile, this.tuning.env ?? process.env, this.tuning.fetch);
    else if (typeof this.llm === 'function') client = this.llm(profile);
    else client = this.llm;
    this.llmByProfile.set(profile.name, client);
    return client;
  }

  private systemPromptFor(profile: Profile): string {
    let prompt = this.promptByProfile.get(profile.name);
    if (prompt === undefined) {
      prompt = profileSystemPrompt(this.definition, profile);
      this.promptByProfile.set(profile.name, prompt);
    }
    return prompt;
  }
}
