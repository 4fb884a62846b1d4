/**
 * PostgreSQL claims and leases: one row per key, taken with `insert … on conflict … do update … where`
 * the holder is the caller or has expired, so two processes racing for a key get one winner. Expiry is
 * measured with the adapter's clock.
 * @module
 */
import { MobKitError } from '@mobkit/core';
import type { ClaimHolder, ClaimsPort, Lease, LeasesPort } from '@mobkit/core';
import { type Exec, type Row, type Tables, checkInteger, checkText, likePrefix, num } from './sql.js';

function holderOf(row: Row): ClaimHolder {
  const holder: ClaimHolder = { key: String(row.key), owner: String(row.owner), claimedAtMs: num(row.claimed_at_ms) };
  if (row.expires_at_ms !== null) holder.expiresAtMs = num(row.expires_at_ms);
  return holder;
}

function checkOwner(owner: unknown): string {
  const checked = checkText('owner', owner);
  if (checked === '') throw new MobKitError('InvalidInput', 'owner must not be empty', { details: { field: 'owner' } });
  return checked;
}

function checkTtl(ttlMs: unknown): number {
  return checkInteger('ttlMs', ttlMs, 1);
}

const LIVE = '(expires_at_ms is null or expires_at_ms > $3)';

/** The claims port over `exec`. */
export function postgresClaims(exec: Exec, t: Tables): ClaimsPort {
  return {
    async claim(namespace, key, owner, options = {}) {
      const now = exec.nowMs();
      const values = [checkText('namespace', namespace), checkText('key', key), now, checkOwner(owner)];
      const expiresAt = options.ttlMs === undefined ? null : now + checkTtl(options.ttlMs);
      return exec.write(async (q) => {
        // A live claim of the same owner keeps its claimedAtMs and takes the new expiry.
        const taken = await q.query(
          `insert into ${t.claims} as c (namespace, key, owner, claimed_at_ms, expires_at_ms)
           values ($1, $2, $4, $3, $5)
           on conflict (namespace, key) do update set owner = excluded.owner,
             claimed_at_ms = case when c.owner = excluded.owner and (c.expires_at_ms is null or c.expires_at_ms > $3)
                                  then c.claimed_at_ms else excluded.claimed_at_ms end,
             expires_at_ms = excluded.expires_at_ms
           where c.owner = excluded.owner or (c.expires_at_ms is not null and c.expires_at_ms <= $3)
           returning key, owner, claimed_at_ms, expires_at_ms`,
          [...values, expiresAt],
        );
        if (taken.rows[0] !== undefined) return { claimed: true, holder: holderOf(taken.rows[0]) };
        // The conflicting row is locked by the insert above, so it is still there to read.
        const held = await q.query(
          `select key, owner, claimed_at_ms, expires_at_ms from ${t.claims} where namespace = $1 and key = $2`,
          values.slice(0, 2),
        );
        return { claimed: false, holder: holderOf(held.rows[0] as Row) };
      });
    },
    async release(namespace, key, owner) {
      const values = [checkText('namespace', namespace), checkText('key', key), exec.nowMs(), checkOwner(owner)];
      return exec.write(async (q) => {
        const released = await q.query(
          `delete from ${t.claims} where namespace = $1 and key = $2 and owner = $4 returning ${LIVE} as live`,
          values,
        );
        return released.rows[0]?.live === true;
      });
    },
    async holder(namespace, key) {
      const values = [checkText('namespace', namespace), checkText('key', key), exec.nowMs()];
      const found = await exec.read((q) =>
        q.query(
          `select key, owner, claimed_at_ms, expires_at_ms from ${t.claims}
           where namespace = $1 and key = $2 and ${LIVE}`,
          values,
        ),
      );
      return found.rows[0] === undefined ? undefined : holderOf(found.rows[0]);
    },
    async list(namespace, options = {}) {
      const prefix = options.prefix === undefined ? '' : checkText('options.prefix', options.prefix);
      const values = [checkText('namespace', namespace), likePrefix(prefix), exec.nowMs()];
      const limit = options.limit === undefined ? '' : ` limit ${checkInteger('options.limit', options.limit, 0)}`;
      const found = await exec.read((q) =>
        q.query(
          `select key, owner, claimed_at_ms, expires_at_ms from ${t.claims}
           where namespace = $1 and key like $2 escape '\\' and ${LIVE} order by key${limit}`,
          values,
        ),
      );
      return found.rows.map(holderOf);
    },
    async namespaces() {
      const now = exec.nowMs();
      const found = await exec.read((q) =>
        q.query(
          `select distinct namespace from ${t.claims}
           where expires_at_ms is null or expires_at_ms > $1 order by namespace`,
          [now],
        ),
      );
      return found.rows.map((row) => String(row.namespace));
    },
  };
}

function leaseOf(row: Row | undefined): Lease | undefined {
  if (row === undefined) return undefined;
  return {
    name: String(row.name),
    owner: String(row.owner),
    token: num(row.token),
    expiresAtMs: num(row.expires_at_ms),
  };
}

/**
 * The leases port over `exec`. A released lease keeps its row (owner null) so its fencing token only
 * rises; the token rises whenever the lease is taken while free, expired or held by another owner.
 */
export function postgresLeases(exec: Exec, t: Tables): LeasesPort {
  const returning = 'returning name, owner, token, expires_at_ms';
  return {
    async acquire(name, owner, ttlMs) {
      const now = exec.nowMs();
      const values = [checkText('name', name), checkOwner(owner), now, now + checkTtl(ttlMs)];
      return exec.write(async (q) => {
        const taken = await q.query(
          `insert into ${t.leases} as l (name, owner, token, expires_at_ms) values ($1, $2, 1, $4)
           on conflict (name) do update set owner = excluded.owner, expires_at_ms = excluded.expires_at_ms,
             token = case when l.owner = excluded.owner and l.expires_at_ms > $3 then l.token else l.token + 1 end
           where l.owner is null or l.owner = excluded.owner or l.expires_at_ms <= $3
           ${returning}`,
          values,
        );
        return leaseOf(taken.rows[0]);
      });
    },
    async renew(name, owner, ttlMs) {
      const now = exec.nowMs();
      const values = [checkText('name', name), checkOwner(owner), now + checkTtl(ttlMs), now];
      return exec.write(async (q) => {
        const renewed = await q.query(
          `update ${t.leases} set expires_at_ms = $3 where name = $1 and owner = $2 and expires_at_ms > $4 ${returning}`,
          values,
        );
        return leaseOf(renewed.rows[0]);
      });
    },
    async release(name, owner) {
      const values = [checkText('name', name), checkOwner(owner), exec.nowMs()];
      return exec.write(async (q) => {
        const released = await q.query(
          `update ${t.leases} set owner = null, expires_at_ms = 0
           where name = $1 and owner = $2 and expires_at_ms > $3 returning name`,
          values,
        );
        return released.rows.length > 0;
      });
    },
    async current(name) {
      const values = [checkText('name', name), exec.nowMs()];
      const found = await exec.read((q) =>
        q.query(
          `select name, owner, token, expires_at_ms from ${t.leases}
           where name = $1 and owner is not null and expires_at_ms > $2`,
          values,
        ),
      );
      return leaseOf(found.rows[0]);
    },
  };
}
