import { normalizeSpawnSpec } from '../spec.js';
import type { MemberSnapshot, ReconcileOptions, ReconcileReport, SpawnMemberSpec } from '../types.js';

/** Orders snapshots by member id (the order `listMembers` returns). */
export function byMemberId(a: MemberSnapshot, b: MemberSnapshot): number {
  return a.meerkatId < b.meerkatId ? -1 : a.meerkatId > b.meerkatId ? 1 : 0;
}

/** The members whose label `key` equals `value` (`findMembers`). */
export function withLabel(members: readonly MemberSnapshot[], key: string, value: string): MemberSnapshot[] {
  return members.filter((m) => m.labels[key] === value);
}

/** `spawnMany`: spawns concurrently, and once all have settled rejects with the first failure (in input order). */
export async function spawnAll(
  specs: readonly SpawnMemberSpec[],
  spawn: (spec: SpawnMemberSpec) => Promise<MemberSnapshot>,
): Promise<MemberSnapshot[]> {
  const settled = await Promise.allSettled(specs.map((s) => spawn(s)));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<MemberSnapshot>).value);
}

/** What a reconcile will do: the de-duplicated desired specs, who to spawn and who to retire. */
export interface ReconcilePlan {
  /** Desired specs, normalized, first occurrence of each id kept, in input order. */
  desired: SpawnMemberSpec[];
  /** Desired members that are already active, in input order. */
  retained: string[];
  /** Desired members that are not active, in input order. */
  toSpawn: SpawnMemberSpec[];
  /** Active members that are not desired, sorted (empty with `retireStale: false`). */
  stale: string[];
}

/**
 * Diffs `desired` against the active member ids. Each spec is validated (`InvalidInput` naming
 * `desired[i]`); a repeated id keeps its first spec.
 */
export function planReconcile(
  desired: readonly SpawnMemberSpec[],
  active: ReadonlySet<string>,
  options: ReconcileOptions = {},
): ReconcilePlan {
  const seen = new Set<string>();
  const specs: SpawnMemberSpec[] = [];
  desired.forEach((s, i) => {
    const spec = normalizeSpawnSpec(s, `desired[${i}]`);
    if (seen.has(spec.meerkatId)) return;
    seen.add(spec.meerkatId);
    specs.push(spec);
  });
  return {
    desired: specs,
    retained: specs.filter((s) => active.has(s.meerkatId)).map((s) => s.meerkatId),
    toSpawn: specs.filter((s) => !active.has(s.meerkatId)),
    stale: (options.retireStale ?? true) ? [...active].filter((id) => !seen.has(id)).sort() : [],
  };
}

/** Carries out a plan: spawns the missing members one by one, then retires the stale ones together. */
export async function applyReconcile(
  plan: ReconcilePlan,
  ops: { spawn(spec: SpawnMemberSpec): Promise<unknown>; retire(memberId: string): Promise<void> },
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    desired: plan.desired.map((s) => s.meerkatId),
    retained: [...plan.retained],
    spawned: [],
    retired: [],
  };
  for (const spec of plan.toSpawn) {
    await ops.spawn(spec);
    report.spawned.push(spec.meerkatId);
  }
  await Promise.all(plan.stale.map((id) => ops.retire(id)));
  report.retired.push(...plan.stale);
  return report;
}
