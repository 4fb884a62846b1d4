import type { RouteTable } from '@mobkit/routing';
import type { MobMemberSnapshot, ReconcileRoutingReport } from '../mob.js';

/** Route keys the runtime manages for roster members: `mob.member.<id>`. */
export const MANAGED_ROUTE_PREFIX = 'mob.member.';

/**
 * Keeps one managed route per active member (`mob.member.<id>`, sink `mob_member`, target `delivery`,
 * channel `notification`) and removes the managed routes of members that are gone. Only while the
 * `router` module is loaded; otherwise nothing changes and the report says so.
 */
export function reconcileManagedRoutes(
  routes: RouteTable,
  members: readonly MobMemberSnapshot[],
  routerModuleLoaded: boolean,
): ReconcileRoutingReport {
  const activeMembers = [...new Set(members.filter((m) => m.state === 'active').map((m) => m.meerkatId))].sort();
  if (!routerModuleLoaded) return { routerModuleLoaded, activeMembers, addedRouteKeys: [], removedRouteKeys: [] };
  const active = new Set(activeMembers);
  const removedRouteKeys: string[] = [];
  for (const route of routes.list()) {
    if (route.routeKey.startsWith(MANAGED_ROUTE_PREFIX) && !active.has(route.recipient)) {
      routes.delete(route.routeKey);
      removedRouteKeys.push(route.routeKey);
    }
  }
  const addedRouteKeys: string[] = [];
  for (const id of activeMembers) {
    const routeKey = `${MANAGED_ROUTE_PREFIX}${id}`;
    if (routes.get(routeKey)) continue;
    routes.add({ routeKey, recipient: id, channel: 'notification', sink: 'mob_member', targetModule: 'delivery' });
    addedRouteKeys.push(routeKey);
  }
  return {
    routerModuleLoaded,
    activeMembers,
    addedRouteKeys: addedRouteKeys.sort(),
    removedRouteKeys: removedRouteKeys.sort(),
  };
}
