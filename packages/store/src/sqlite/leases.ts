import type { Lease, LeasesPort } from '@mobkit/core';
import { requireName, requirePositive } from '../validate.js';
import type { Row, SqlPortContext } from './sql.js';

function toLease(row: Row): Lease {
  return {
    name: String(row.name),
    owner: String(row.owner),
    token: Number(row.token),
    expiresAtMs: Number(row.expires_at_ms),
  };
}

/**
 * The leases port over the `leases` table. The fencing token rises every time an owner takes the lease
 * without holding it (free, released or lapsed); a released lease keeps its row (owner cleared) so the
 * token never goes back. Renew and release act only on a live lease of that owner.
 */
export function sqliteLeases(ctx: SqlPortContext): LeasesPort {
  return {
    async acquire(name, owner, ttlMs) {
      requireName(name, 'name');
      requireName(owner, 'owner');
      requirePositive(ttlMs, 'ttlMs');
      return ctx.write((sql) => {
        const now = ctx.nowMs();
        const row = sql.get(
          `INSERT INTO leases (name, owner, token, expires_at_ms) VALUES (?, ?, 1, ?)
                ON CONFLICT (name) DO UPDATE SET
                  token = CASE WHEN leases.owner IS excluded.owner AND leases.expires_at_ms > ?
                               THEN leases.token ELSE leases.token + 1 END,
                  owner = excluded.owner, expires_at_ms = excluded.expires_at_ms
                WHERE leases.owner IS excluded.owner OR leases.owner IS NULL OR leases.expires_at_ms <= ?
                RETURNING name, owner, token, expires_at_ms`,
          [name, owner, now + ttlMs, now, now],
        );
        return row === undefined ? undefined : toLease(row);
      }, true);
    },

    async renew(name, owner, ttlMs) {
      requireName(name, 'name');
      requireName(owner, 'owner');
      requirePositive(ttlMs, 'ttlMs');
      return ctx.write((sql) => {
        const now = ctx.nowMs();
        const row = sql.get(
          `UPDATE leases SET expires_at_ms = ? WHERE name = ? AND owner = ? AND expires_at_ms > ?
           RETURNING name, owner, token, expires_at_ms`,
          [now + ttlMs, name, owner, now],
        );
        return row === undefined ? undefined : toLease(row);
      }, true);
    },

    async release(name, owner) {
      requireName(name, 'name');
      requireName(owner, 'owner');
      return ctx.write((sql) => {
        const now = ctx.nowMs();
        const released = sql.run(
          'UPDATE leases SET owner = NULL, expires_at_ms = 0 WHERE name = ? AND owner = ? AND expires_at_ms > ?',
          [name, owner, now],
        );
        return released > 0;
      }, true);
    },

    async current(name) {
      const row = ctx.read.get(
        'SELECT name, owner, token, expires_at_ms FROM leases WHERE name = ? AND owner IS NOT NULL AND expires_at_ms > ?',
        [requireName(name, 'name'), ctx.nowMs()],
      );
      return row === undefined ? undefined : toLease(row);
    },
  };
}
