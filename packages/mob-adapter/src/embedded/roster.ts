import type { MobDefinition } from '../definition.js';
import { memberNotFound, requireMemberId } from '../errors.js';
import type { MobLogPayload } from '../types.js';
import { type Member, isActive } from './member.js';

/**
 * The embedded mob's roster: members by id and by profile, and the undirected wiring between them.
 * Every wiring change is written to the mob log through `log`.
 */
export class Roster {
  private readonly members = new Map<string, Member>();
  private readonly byProfile = new Map<string, Set<string>>();

  constructor(
    private readonly definition: MobDefinition,
    private readonly log: (event: MobLogPayload) => void,
  ) {}

  /** The member with `id` (active or retiring), if any. */
  get(id: string): Member | undefined {
    return this.members.get(id);
  }

  /** The active member with `id`; a blank id is `InvalidInput`, an unknown or retiring one `MemberNotFound`. */
  active(id: string): Member {
    requireMemberId(id);
    const m = this.members.get(id);
    if (!isActive(m)) throw memberNotFound(id);
    return m;
  }

  /** Every member (active and retiring). */
  all(): Member[] {
    return [...this.members.values()];
  }

  /** Ids of the active members. */
  activeIds(): Set<string> {
    return new Set(
      this.all()
        .filter((m) => isActive(m))
        .map((m) => m.id),
    );
  }

  /** Adds a member to the roster. */
  add(member: Member): void {
    this.members.set(member.id, member);
    let set = this.byProfile.get(member.profile.name);
    if (!set) {
      set = new Set();
      this.byProfile.set(member.profile.name, set);
    }
    set.add(member.id);
  }

  /** Unwires a retired member from every peer and removes it. */
  remove(member: Member): void {
    for (const peer of [...member.wired]) this.unlink(member, this.members.get(peer));
    this.members.delete(member.id);
    this.byProfile.get(member.profile.name)?.delete(member.id);
  }

  /**
   * Spawn-time wiring targets (Meerkat's `spawn_wiring_targets`): with `auto_wire_orchestrator` an
   * orchestrator is wired to every active non-orchestrator and any other member to the
   * orchestrators; each `role_wiring` edge wires the member to the active members of the other role.
   * Nothing is linked yet (the mob commits the roster first, then calls {@link link}).
   */
  spawnTargets(member: Member): Member[] {
    const out = new Set<Member>();
    const orch = this.definition.orchestrator;
    const profile = member.profile.name;
    if (this.definition.wiring.autoWireOrchestrator && orch !== undefined) {
      if (profile === orch) {
        for (const other of this.members.values())
          if (other !== member && isActive(other) && other.profile.name !== orch) out.add(other);
      } else {
        this.addProfile(out, orch);
      }
    }
    for (const edge of this.definition.wiring.roleWiring) {
      if (edge.a === profile) this.addProfile(out, edge.b);
      if (edge.b === profile) this.addProfile(out, edge.a);
    }
    out.delete(member);
    return [...out].filter((m) => isActive(m));
  }

  private addProfile(out: Set<Member>, profile: string): void {
    for (const id of this.byProfile.get(profile) ?? []) {
      const m = this.members.get(id);
      if (m) out.add(m);
    }
  }

  /** The active member whose current session is `sessionId`, if any. */
  holderOf(sessionId: string): Member | undefined {
    for (const m of this.members.values()) if (m.sessionId === sessionId && isActive(m)) return m;
    return undefined;
  }

  /** Wiring links among active members (each undirected edge once). */
  edgeCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (isActive(m)) for (const id of m.wired) if (m.id < id) n++;
    return n;
  }

  /** Wires `a` and `b` (idempotent; only active members, never a member to itself). */
  link(a: Member, b: Member | undefined): void {
    if (!isActive(b) || a === b || a.wired.has(b.id)) return;
    a.wired.add(b.id);
    b.wired.add(a.id);
    const [x, y] = a.id < b.id ? [a.id, b.id] : [b.id, a.id];
    this.log({ type: 'members_wired', a: x, b: y });
  }

  /** Removes the wire between `a` and `b` (idempotent). */
  unlink(a: Member, b: Member | undefined): void {
    if (!b || !a.wired.has(b.id)) return;
    a.wired.delete(b.id);
    b.wired.delete(a.id);
    const [x, y] = a.id < b.id ? [a.id, b.id] : [b.id, a.id];
    this.log({ type: 'members_unwired', a: x, b: y });
  }
}
