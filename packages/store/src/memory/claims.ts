import type { ClaimHolder, ClaimResult, ClaimsPort } from '@mobkit/core';
import type { PortAccess } from './access.js';
import type { TableView } from './table.js';
import { optionalLimit, requireName, requirePositive } from '../validate.js';

/** A claim as the memory store keeps it. */
export interface StoredClaim {
  readonly key: string;
  readonly owner: string;
  readonly claimedAtMs: number;
  readonly expiresAtMs?: number;
}

function live(claim: StoredClaim | undefined, now: number): StoredClaim | undefined {
  return claim && (claim.expiresAtMs === undefined || claim.expiresAtMs > now) ? claim : undefined;
}

function toHolder(claim: StoredClaim): ClaimHolder {
  const holder: ClaimHolder = { key: claim.key, owner: claim.owner, claimedAtMs: claim.claimedAtMs };
  if (claim.expiresAtMs !== undefined) holder.expiresAtMs = claim.expiresAtMs;
  return holder;
}

function claim(table: TableView<StoredClaim>, now: number, args: Parameters<ClaimsPort['claim']>): ClaimResult {
  const [namespace, key, owner, options = {}] = args;
  requireName(namespace, 'namespace');
  requireName(key, 'key');
  requireName(owner, 'owner');
  const ttlMs = options.ttlMs === undefined ? undefined : requirePositive(options.ttlMs, 'ttlMs');
  const current = live(table.get(namespace, key), now);
  if (current && current.owner !== owner) return { claimed: false, holder: toHolder(current) };
  const taken: StoredClaim = {
    key,
    owner,
    // A re-claim by the holder keeps when it first took the key and moves the expiry.
    claimedAtMs: current?.claimedAtMs ?? now,
    ...(ttlMs === undefined ? {} : { expiresAtMs: now + ttlMs }),
  };
  table.set(namespace, key, taken);
  return { claimed: true, holder: toHolder(taken) };
}

/** The claims port over `table`, reading and writing through `access`; expiry is by `nowMs`. */
export function memoryClaims(table: TableView<StoredClaim>, access: PortAccess, nowMs: () => number): ClaimsPort {
  return {
    claim: (...args) => access.write(() => claim(table, nowMs(), args)),
    release: (namespace, key, owner) =>
      access.write(() => {
        requireName(owner, 'owner');
        const current = live(table.get(requireName(namespace, 'namespace'), requireName(key, 'key')), nowMs());
        if (!current || current.owner !== owner) return false;
        table.set(namespace, key, undefined);
        return true;
      }),
    holder: (namespace, key) =>
      access.read(() => {
        const current = live(table.get(requireName(namespace, 'namespace'), requireName(key, 'key')), nowMs());
        return current ? toHolder(current) : undefined;
      }),
    list: (namespace, options = {}) =>
      access.read(() => {
        requireName(namespace, 'namespace');
        const limit = optionalLimit(options.limit, 'list.limit');
        const now = nowMs();
        const found = table
          .values(namespace)
          .filter((c) => live(c, now) && (options.prefix === undefined || c.key.startsWith(options.prefix)))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
          .map(toHolder);
        return limit === undefined ? found : found.slice(0, limit);
      }),
    namespaces: () =>
      access.read(() => {
        const now = nowMs();
        return table
          .namespaces()
          .filter((namespace) => table.values(namespace).some((c) => live(c, now)))
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      }),
  };
}
