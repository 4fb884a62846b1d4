import type { Profile } from '../definition.js';
import type { ToolCall, ToolDef } from '../llm/types.js';
import { type CommsHost, isCommsTool, runCommsTool } from './comms.js';
import type { PeerEffect } from './journal.js';
import type { Member } from './member.js';
import { COMMS_TOOLS } from './prompt.js';
import type { EmbeddedTool } from './types.js';

/** The tools of the embedded mob's members: the comms tools (with `tools.comms`) and the application's tools. */
export class MemberTools {
  private readonly byProfile = new Map<string, ToolDef[]>();

  constructor(
    private readonly comms: CommsHost,
    private readonly appTools: readonly EmbeddedTool[],
  ) {}

  /** The tool definitions a member of `profile` is offered (computed once per profile). */
  definitionsFor(profile: Profile): ToolDef[] {
    let tools = this.byProfile.get(profile.name);
    if (!tools) {
      tools = [...(profile.tools.comms ? COMMS_TOOLS : [])];
      for (const t of this.appTools) if (!t.profiles || t.profiles.includes(profile.name)) tools.push(t.definition);
      this.byProfile.set(profile.name, tools);
    }
    return tools;
  }

  /**
   * Runs `call` for member `m`; an unknown tool throws (an error result for the model). A comms
   * tool's peer deliveries are pushed to `effects` (committed with the result, then delivered).
   */
  async execute(m: Member, call: ToolCall, signal: AbortSignal, effects: PeerEffect[]): Promise<unknown> {
    if (m.profile.tools.comms && isCommsTool(call.name))
      return runCommsTool(this.comms, m, call.name, (call.args ?? {}) as Record<string, unknown>, effects);
    const tool = this.appTools.find(
      (t) => t.definition.name === call.name && (!t.profiles || t.profiles.includes(m.profile.name)),
    );
    if (!tool) throw new Error(`unknown tool: ${call.name}`);
    return tool.execute(call.args, { memberId: m.id, profile: m.profile.name, sessionId: m.sessionId, signal });
  }
}
