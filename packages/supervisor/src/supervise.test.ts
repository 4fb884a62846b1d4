import type { ModuleHealthTransition } from '@mobkit/core';
import { MobKitError } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { type StartPolicy, crashRestartDelay, superviseStart } from './supervise.js';

/** A fake driver whose attempt n succeeds when `outcomes[n-1]` is true. */
function driver(outcomes: boolean[], opts: { terminateFails?: boolean } = {}) {
  const transitions: ModuleHealthTransition[] = [];
  const sleeps: number[] = [];
  const terminated: number[] = [];
  return {
    transitions,
    sleeps,
    terminated,
    d: {
      attempt: async (n: number) => {
        if (outcomes[n - 1]) return n;
        throw new MobKitError('EmptyOutput', `attempt ${n} failed`);
      },
      terminate: async (instance: number) => {
        if (opts.terminateFails) throw new MobKitError('TerminateFailed', 'cannot stop');
        terminated.push(instance);
      },
      sleep: async (ms: number) => {
        sleeps.push(ms);
      },
      record: (t: ModuleHealthTransition) => {
        transitions.push(t);
      },
    },
  };
}

const policy = (restartPolicy: StartPolicy['restartPolicy'], extra: Partial<StartPolicy> = {}): StartPolicy => ({
  restartPolicy,
  onFailureRetryBudget: 2,
  alwaysRestartBudget: 2,
  backoffMs: 0,
  eagerAlwaysRestart: true,
  ...extra,
});

const tos = (ts: ModuleHealthTransition[]) => ts.map((t) => t.to);

describe('superviseStart (spec §3.3)', () => {
  it('never + failure → [Starting, Failed, Stopped]', async () => {
    const f = driver([false, true]);
    const outcome = await superviseStart('m', policy('never'), f.d);
    expect(outcome.ok).toBe(false);
    expect(f.transitions).toEqual([
      { moduleId: 'm', from: null, to: 'Starting', attempt: 0 },
      { moduleId: 'm', from: 'Starting', to: 'Failed', attempt: 1 },
      { moduleId: 'm', from: 'Failed', to: 'Stopped', attempt: 1 },
    ]);
  });

  it('on_failure failing twice with budget 2 → [Starting, Failed, Restarting, Failed, Restarting, Healthy]', async () => {
    const f = driver([false, false, true]);
    const outcome = await superviseStart('m', policy('on_failure', { backoffMs: 120 }), f.d);
    expect(outcome).toMatchObject({ ok: true, instance: 3, attempts: 3 });
    expect(tos(f.transitions)).toEqual(['Starting', 'Failed', 'Restarting', 'Failed', 'Restarting', 'Healthy']);
    expect(f.transitions.map((t) => t.from)).toEqual([
      null,
      'Starting',
      'Failed',
      'Restarting',
      'Failed',
      'Restarting',
    ]);
    expect(f.sleeps).toEqual([120, 120]);
  });

  it('on_failure with budget 1, first attempt fails → [Starting, Failed, Restarting, Healthy] (seed e2e_003)', async () => {
    const f = driver([false, true]);
    await superviseStart('m', policy('on_failure', { onFailureRetryBudget: 1 }), f.d);
    expect(tos(f.transitions)).toEqual(['Starting', 'Failed', 'Restarting', 'Healthy']);
  });

  it('on_failure exhausting budget 1 → [Starting, Failed, Restarting, Failed, Stopped] with the last error', async () => {
    const f = driver([false, false, true]);
    const outcome = await superviseStart('m', policy('on_failure', { onFailureRetryBudget: 1 }), f.d);
    expect(tos(f.transitions)).toEqual(['Starting', 'Failed', 'Restarting', 'Failed', 'Stopped']);
    expect(outcome.ok === false && outcome.error.message).toBe('attempt 2 failed');
  });

  it('always (healthy) → [Starting, Healthy, Restarting, Healthy, Restarting, Healthy], terminating eagerly', async () => {
    const f = driver([true, true, true]);
    const outcome = await superviseStart('m', policy('always'), f.d);
    expect(tos(f.transitions)).toEqual(['Starting', 'Healthy', 'Restarting', 'Healthy', 'Restarting', 'Healthy']);
    expect(f.terminated).toEqual([1, 2]);
    expect(outcome).toMatchObject({ ok: true, instance: 3 });
  });

  it('always without eager restarts (MCP) → [Starting, Healthy]', async () => {
    const f = driver([true]);
    await superviseStart('m', policy('always', { eagerAlwaysRestart: false }), f.d);
    expect(tos(f.transitions)).toEqual(['Starting', 'Healthy']);
  });

  it('always whose terminate fails keeps the child healthy with a warning', async () => {
    const f = driver([true], { terminateFails: true });
    const outcome = await superviseStart('m', policy('always'), f.d);
    expect(tos(f.transitions)).toEqual(['Starting', 'Healthy', 'Restarting', 'Failed', 'Healthy']);
    expect(outcome.ok && outcome.warning?.code).toBe('TerminateFailed');
  });
});

describe('crashRestartDelay', () => {
  const backoff = { baseMs: 100, minMs: 100, multiplier: 1.5, maxMs: 1000 };
  it('starts at the base and grows ×1.5 up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => crashRestartDelay(n, backoff))).toEqual([
      100, 150, 225, 338, 506, 759, 1000, 1000,
    ]);
  });
  it('restarts at once after the first crash when the base is 0, then grows from the minimum', () => {
    const zero = { ...backoff, baseMs: 0 };
    expect([0, 1, 2].map((n) => crashRestartDelay(n, zero))).toEqual([0, 150, 225]);
  });
});
