import type { ClaimHolder, ClaimsPort } from '@mobkit/core';
import { optionalLimit, requireName, requirePositive } from '../validate.js';
import { prefixUpperBound } from './records.js';
import { optionalNumber, type Row, type SqlPortContext, type SqlRunner, type SqlValue } from './sql.js';

function toHolder(row: Row): ClaimHolder {
  const holder: ClaimHolder = {
    key: String(row.key),
    owner: String(row.owner),
    claimedAtMs: Number(row.claimed_at_ms),
  };
  const expires = optionalNumber(row.expires_at_ms);
  if (expires !== undefined) holder.expiresAtMs = expires;
  return holder;
}

const LIVE = '(expires_at_ms IS NULL OR expires_at_ms > ?)';

function liveHolder(sql: SqlRunner, namespace: string, key: string, now: number): ClaimHolder | undefined {
  const row = sql.get(
    `SELECT key, owner, claimed_at_ms, expires_at_ms FROM claims WHERE namespace = ? AND key = ? AND ${LIVE}`,
    [namespace, key, now],
  );
  return row === undefined ? undefined : toHolder(row);
}

/**
 * The claims port over the `claims` table. A claim is one `INSERT … ON CONFLICT DO UPDATE … WHERE`
 * inside a `BEGIN IMMEDIATE` transaction, so two processes on one file never both win a key.
 * Re-claiming a live claim of one's own keeps its `claimedAtMs` and sets the new expiry.
 */
export function sqliteClaims(ctx: SqlPortContext): ClaimsPort {
  return {
    async claim(namespace, key, owner, options = {}) {
      requireName(namespace, 'namespace');
      requireName(key, 'key');
      requireName(owner, 'owner');
      const ttlMs = options.ttlMs === undefined ? undefined : requirePositive(options.ttlMs, 'ttlMs');
      return ctx.write((sql) => {
        const now = ctx.nowMs();
        const expires = ttlMs === undefined ? null : now + ttlMs;
        const row = sql.get(
          `INSERT INTO claims (namespace, key, owner, claimed_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (namespace, key) DO UPDATE SET
                  claimed_at_ms = CASE WHEN claims.owner = excluded.owner AND (claims.expires_at_ms IS NULL OR claims.expires_at_ms > ?)
                                       THEN claims.claimed_at_ms ELSE excluded.claimed_at_ms END,
                  owner = excluded.owner, expires_at_ms = excluded.expires_at_ms
                WHERE claims.owner = excluded.owner OR (claims.expires_at_ms IS NOT NULL AND claims.expires_at_ms <= ?)
                RETURNING key, owner, claimed_at_ms, expires_at_ms`,
          [namespace, key, owner, now, expires, now, now],
        );
        if (row !== undefined) return { claimed: true, holder: toHolder(row) };
        const holder = liveHolder(sql, namespace, key, now);
        // The conflicting row was live a statement ago and nothing else writes inside this transaction.
        return { claimed: false, holder: holder as ClaimHolder };
      }, true);
    },

    async release(namespace, key, owner) {
      requireName(namespace, 'namespace');
      requireName(key, 'key');
      requireName(owner, 'owner');
      return ctx.write((sql) => {
        const row = sql.get(
          'DELETE FROM claims WHERE namespace = ? AND key = ? AND owner = ? RETURNING expires_at_ms',
          [namespace, key, owner],
        );
        if (row === undefined) return false;
        const expires = optionalNumber(row.expires_at_ms);
        return expires === undefined || expires > ctx.nowMs();
      }, true);
    },

    async holder(namespace, key) {
      return liveHolder(ctx.read, requireName(namespace, 'namespace'), requireName(key, 'key'), ctx.nowMs());
    },

    async list(namespace, options = {}) {
      requireName(namespace, 'namespace');
      const limit = optionalLimit(options.limit, 'limit');
      const args: SqlValue[] = [namespace, ctx.nowMs()];
      let range = '';
      if (options.prefix !== undefined && options.prefix !== '') {
        const upper = prefixUpperBound(options.prefix);
        range = upper === undefined ? ' AND key >= ?' : ' AND key >= ? AND key < ?';
        args.push(options.prefix, ...(upper === undefined ? [] : [upper]));
      }
      if (limit !== undefined) args.push(limit);
      const rows = ctx.read.all(
        `SELECT key, owner, claimed_at_ms, expires_at_ms FROM claims WHERE namespace = ? AND ${LIVE}${range}
         ORDER BY key${limit === undefined ? '' : ' LIMIT ?'}`,
        args,
      );
      return rows.map(toHolder);
    },

    async namespaces() {
      const rows = ctx.read.all(`SELECT DISTINCT namespace FROM claims WHERE ${LIVE} ORDER BY namespace`, [
        ctx.nowMs(),
      ]);
      return rows.map((row) => String(row.namespace));
    },
  };
}
