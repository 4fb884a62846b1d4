import type { RuntimeDecisionState } from '@mobkit/auth-policy';
import { MobKitError } from '@mobkit/core';
import type { RequestHandler } from 'express';
import { RouteError } from '../http-errors.js';
import type { ResolvedRouterOptions } from '../options.js';
import type { StreamRegistry } from '../streams.js';
import type { ReferenceAppRuntimeSurface, SurfaceMember } from '../surface.js';

/** What every route group of one router shares. */
export interface RouteContext {
  surface: ReferenceAppRuntimeSurface;
  decisionState: RuntimeDecisionState;
  options: ResolvedRouterOptions;
  streams: StreamRegistry;
  /** The console auth middleware (lets everything through when auth is off). */
  guard: RequestHandler;
  /** The page shell's guard: {@link guard} with `guardConsoleShell`, else a pass-through. */
  shellGuard: RequestHandler;
  /** The trusted module ids of the decision state, in manifest order. */
  trustedModules: readonly string[];
}

/** Throws {@link RouteError} `unsupported` (422) when the runtime has no mob. */
export function requireMob(surface: ReferenceAppRuntimeSurface, detail: string): void {
  if (surface.mobId() === undefined) throw new RouteError('unsupported', detail);
}

/** The member with `memberId`, or throws `MemberNotFound` (404 `member_not_found`). */
export async function requireMember(surface: ReferenceAppRuntimeSurface, memberId: string): Promise<SurfaceMember> {
  const member = await surface.getMember(memberId);
  if (member === undefined) {
    throw new MobKitError('MemberNotFound', `the mob has no member ${JSON.stringify(memberId)}`, {
      details: { memberId },
    });
  }
  return member;
}
