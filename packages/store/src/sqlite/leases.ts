import type { Lease, LeasesPort } from '@mobkit/core';
import type { Row } from '@libsql/client';
import { requireName, requirePositive } from '../memory/validate.js';
import type { SqlPortContext } from './sql.js';

function toLease(row: Row): Lease {
  return {
    name: String(row.name),
    owner: String(row.owner),
    token: Number(row.token),
    expiresAtMs: Number(row.expires_at_ms),
  };
}

/**
 * The leases port over the `leases` table. A released lease keeps its row (owner cleared) so its
 * fencing token keeps rising; an owner whose lease lapsed but was not taken may renew it.
 */
export function sqliteLeases(ctx: SqlPortContext): LeasesPort {
  return {
    async acquire(name, owner, ttlMs) {
      requireName(name, 'name');
      requireName(owner, 'owner');
      requirePositive(ttlMs, 'ttlMs');
      return ctx.write(async (sql) => {
        const now = ctx.nowMs();
        const result = await sql.execute({
          sql: `INSERT INTO leases (name, owner, token, expires_at_ms) VALUES (?, ?, 1, ?)
                ON CONFLICT (name) DO UPDATE SET
                  token = CASE WHEN leases.owner IS excluded.owner THEN leases.token ELSE leases.token + 1 END,
                  owner = excluded.owner, expires_at_ms = excluded.expires_at_ms
                WHERE leases.owner IS excluded.owner OR leases.owner IS NULL OR leases.expires_at_ms <= ?
                RETURNING name, owner, token, expires_at_ms`,
          args: [name, owner, now + ttlMs, now],
        });
        const row = result.rows[0];
        return row === undefined ? undefined : toLease(row);
      }, true);
    },

    async renew(name, owner, ttlMs) {
      requireName(name, 'name');
      requireName(owner, 'owner');
      requirePositive(ttlMs, 'ttlMs');
      return ctx.write(async (sql) => {
        const result = await sql.execute({
          sql: `UPDATE leases SET expires_at_ms = ? WHERE name = ? AND owner = ? RETURNING name, owner, token, expires_at_ms`,
          args: [ctx.nowMs() + ttlMs, name, owner],
        });
        const row = result.rows[0];
        return row === undefined ? undefined : toLease(row);
      }, true);
    },

    async release(name, owner) {
      requireName(name, 'name');
      requireName(owner, 'owner');
      return ctx.write(async (sql) => {
        const now = ctx.nowMs();
        const held = await sql.execute({
          sql: 'SELECT expires_at_ms FROM leases WHERE name = ? AND owner = ?',
          args: [name, owner],
        });
        const row = held.rows[0];
        if (row === undefined) return false;
        await sql.execute({
          sql: 'UPDATE leases SET owner = NULL, expires_at_ms = 0 WHERE name = ? AND owner = ?',
          args: [name, owner],
        });
        return Number(row.expires_at_ms) > now;
      }, true);
    },

    async current(name) {
      const result = await ctx.read.execute({
        sql: 'SELECT name, owner, token, expires_at_ms FROM leases WHERE name = ? AND owner IS NOT NULL AND expires_at_ms > ?',
        args: [requireName(name, 'name'), ctx.nowMs()],
      });
      const row = result.rows[0];
      return row === undefined ? undefined : toLease(row);
    },
  };
}
