import type { Lease, LeasesPort } from '@mobkit/core';
import type { PortAccess } from './access.js';
import { requireName, requirePositive } from '../validate.js';

/**
 * The leases port, kept in `leases`. The fencing token of a name rises every time an owner takes the
 * lease without holding it already (it was free, released or lapsed), and never goes back — not even
 * after a release.
 */
export function memoryLeases(access: PortAccess, nowMs: () => number): LeasesPort {
  const leases = new Map<string, Lease>();
  const tokens = new Map<string, number>();
  const held = (name: string, now: number) => {
    const lease = leases.get(name);
    return lease && lease.expiresAtMs > now ? lease : undefined;
  };
  return {
    acquire: (name, owner, ttlMs) =>
      access.write(() => {
        requireName(name, 'name');
        requireName(owner, 'owner');
        requirePositive(ttlMs, 'ttlMs');
        const now = nowMs();
        const current = held(name, now);
        if (current && current.owner !== owner) return undefined;
        let token = current?.token;
        if (token === undefined) {
          token = (tokens.get(name) ?? 0) + 1;
          tokens.set(name, token);
        }
        const lease: Lease = { name, owner, token, expiresAtMs: now + ttlMs };
        leases.set(name, lease);
        return { ...lease };
      }),
    renew: (name, owner, ttlMs) =>
      access.write(() => {
        requireName(name, 'name');
        requireName(owner, 'owner');
        requirePositive(ttlMs, 'ttlMs');
        const now = nowMs();
        const current = held(name, now);
        if (!current || current.owner !== owner) return undefined;
        const lease: Lease = { ...current, expiresAtMs: now + ttlMs };
        leases.set(name, lease);
        return { ...lease };
      }),
    release: (name, owner) =>
      access.write(() => {
        const current = held(requireName(name, 'name'), nowMs());
        if (!current || current.owner !== requireName(owner, 'owner')) return false;
        leases.delete(name);
        return true;
      }),
    current: (name) =>
      access.read(() => {
        const current = held(requireName(name, 'name'), nowMs());
        return current ? { ...current } : undefined;
      }),
  };
}
