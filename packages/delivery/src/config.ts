import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { MobKitError, closedObject, parseTomlText, parseWithSchema, readConfigFile } from '@mobkit/core';
import { EmailSink } from './sinks/email.js';
import { MemorySink } from './sinks/memory.js';
import type { SinkAdapter } from './sinks/types.js';
import { WebhookSink } from './sinks/webhook.js';

const positive = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

const MemorySinkConfig = closedObject({ type: z.literal('memory') });
const WebhookSinkConfig = closedObject({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/ }).optional(),
  timeout_ms: positive.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /** Standard Webhooks signing secret, `whsec_<base64>` (prefer `secret_env`, which keeps it out of the file). */
  secret: z.string().min(1).optional(),
  /** Name of the environment variable holding the signing secret. */
  secret_env: z.string().min(1).optional(),
});
const EmailSinkConfig = closedObject({
  type: z.literal('email'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  secure: z.boolean().optional(),
  from: z.string().min(1),
  user: z.string().optional(),
  /** Name of the environment variable holding the SMTP password (keeps secrets out of the file). */
  password_env: z.string().optional(),
  default_subject: z.string().optional(),
  timeout_ms: positive.optional(),
  reject_unauthorized: z.boolean().optional(),
});

/**
 * Wire (TOML) form of the delivery module's configuration. `[delivery]` and each `[sinks.<name>]` (by its
 * type) are closed: each unknown key is an error at its own path listing the allowed ones
 * (`sinks.email.hots: unknown key; allowed: type, host, port, …`).
 */
export const DeliveryConfigWireSchema = closedObject({
  delivery: closedObject({
    ledger_path: z.string().min(1).optional(),
    history_limit: positive.optional(),
    idempotency_key_limit: positive.optional(),
    idempotency_key_ttl_ms: positive.optional(),
    in_flight: z.enum(['wait', 'reject']).optional(),
    max_backoff_ms: z.number().int().min(0).optional(),
    trusted_capacity: positive.optional(),
  }).optional(),
  sinks: z.record(z.string(), z.looseObject({ type: z.string().optional() })).optional(),
});

/** A parsed delivery module configuration. */
export interface DeliveryConfig {
  /** Absolute ledger path (relative paths resolve against the config file), or none for in-memory. */
  ledgerPath?: string;
  /** Records kept in the history (`history_limit`). */
  historyLimit?: number;
  /** Finished idempotency keys honoured (`idempotency_key_limit`), independent of the history. */
  idempotencyKeyLimit?: number;
  /** How long a finished idempotency key is honoured, ms (`idempotency_key_ttl_ms`). */
  idempotencyKeyTtlMs?: number;
  inFlight?: 'wait' | 'reject';
  maxBackoffMs?: number;
  /** How many caller-pinned resolutions the module remembers (default 4096). */
  trustedCapacity?: number;
  /** Sink adapters by sink name. */
  sinks: Record<string, SinkAdapter>;
}

/**
 * Parses the delivery module's TOML:
 * ```toml
 * [delivery]
 * ledger_path = "delivery-ledger.jsonl"  # optional; in memory when absent
 * [sinks.email]                          # the table name is the sink name of resolutions
 * type = "email"                          # memory | webhook | email (defaults to the table name)
 * host = "127.0.0.1"
 * port = 2525
 * from = "mobkit@example.com"
 * [sinks.webhook]
 * type = "webhook"
 * url = "https://hooks.example.com/mobkit"
 * ```
 * `mob_member` sinks cannot be configured here: they need the in-process mob (use the library).
 */
export function parseDeliveryConfig(
  text: string,
  source = 'delivery config',
  baseDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): DeliveryConfig {
  const wire = parseWithSchema(DeliveryConfigWireSchema, parseTomlText(text, source), {
    what: source,
    code: 'InvalidConfig',
  });
  const config: DeliveryConfig = { sinks: {} };
  const d = wire.delivery ?? {};
  if (d.ledger_path !== undefined)
    config.ledgerPath = isAbsolute(d.ledger_path) ? d.ledger_path : resolve(baseDir, d.ledger_path);
  if (d.history_limit !== undefined) config.historyLimit = d.history_limit;
  if (d.idempotency_key_limit !== undefined) config.idempotencyKeyLimit = d.idempotency_key_limit;
  if (d.idempotency_key_ttl_ms !== undefined) config.idempotencyKeyTtlMs = d.idempotency_key_ttl_ms;
  if (d.in_flight !== undefined) config.inFlight = d.in_flight;
  if (d.max_backoff_ms !== undefined) config.maxBackoffMs = d.max_backoff_ms;
  if (d.trusted_capacity !== undefined) config.trustedCapacity = d.trusted_capacity;
  for (const [name, raw] of Object.entries(wire.sinks ?? {})) {
    const type = raw.type ?? name;
    const what = { what: source, pathPrefix: `sinks.${name}`, code: 'InvalidConfig' as const };
    const withType = { ...raw, type };
    if (type === 'memory') {
      parseWithSchema(MemorySinkConfig, withType, what);
      config.sinks[name] = new MemorySink();
    } else if (type === 'webhook') {
      const c = parseWithSchema(WebhookSinkConfig, withType, what);
      const secret = webhookSecret(c, source, `sinks.${name}`, env);
      config.sinks[name] = new WebhookSink({
        ...(c.url === undefined ? {} : { url: c.url }),
        ...(c.timeout_ms === undefined ? {} : { timeoutMs: c.timeout_ms }),
        ...(c.headers === undefined ? {} : { headers: c.headers }),
        ...(secret === undefined ? {} : { secret }),
      });
    } else if (type === 'email') {
      const c = parseWithSchema(EmailSinkConfig, withType, what);
      let auth: { user: string; pass: string } | undefined;
      if (c.user !== undefined) {
        const pass = c.password_env === undefined ? undefined : env[c.password_env];
        if (pass === undefined) {
          throw new MobKitError(
            'InvalidConfig',
            `${source}: sinks.${name}.password_env must name a set environment variable when user is given`,
            {
              details: { field: `sinks.${name}.password_env` },
            },
          );
        }
        auth = { user: c.user, pass };
      }
      config.sinks[name] = new EmailSink({
        host: c.host,
        port: c.port,
        from: c.from,
        ...(c.secure === undefined ? {} : { secure: c.secure }),
        ...(auth === undefined ? {} : { auth }),
        ...(c.default_subject === undefined ? {} : { defaultSubject: c.default_subject }),
        ...(c.timeout_ms === undefined ? {} : { timeoutMs: c.timeout_ms }),
        ...(c.reject_unauthorized === undefined ? {} : { rejectUnauthorized: c.reject_unauthorized }),
      });
    } else if (type === 'mob_member') {
      throw new MobKitError(
        'InvalidConfig',
        `${source}: sinks.${name}: mob_member sinks need the in-process mob; configure them with MobMemberSink in the unified runtime`,
        {
          details: { field: `sinks.${name}.type` },
        },
      );
    } else {
      throw new MobKitError(
        'InvalidConfig',
        `${source}: sinks.${name}.type: expected one of memory, webhook, email, got ${JSON.stringify(type)}`,
        {
          details: { field: `sinks.${name}.type` },
        },
      );
    }
  }
  return config;
}

/** The webhook signing secret from `secret` or the variable `secret_env` names (not both; a named variable must be set). */
function webhookSecret(
  c: { secret?: string | undefined; secret_env?: string | undefined },
  source: string,
  path: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (c.secret !== undefined && c.secret_env !== undefined) {
    throw new MobKitError('InvalidConfig', `${source}: ${path}: give secret or secret_env, not both`, {
      details: { field: `${path}.secret_env` },
    });
  }
  if (c.secret_env === undefined) return c.secret;
  const secret = env[c.secret_env];
  if (secret === undefined || secret === '') {
    throw new MobKitError(
      'InvalidConfig',
      `${source}: ${path}.secret_env: environment variable ${c.secret_env} is not set (it must hold the whsec_… signing secret)`,
      { details: { field: `${path}.secret_env`, env: c.secret_env } },
    );
  }
  return secret;
}

/** Reads and parses a delivery TOML file (relative ledger paths resolve against its directory). */
export function loadDeliveryConfig(path: string, env: NodeJS.ProcessEnv = process.env): DeliveryConfig {
  const text = readConfigFile(path, 'delivery config');
  return parseDeliveryConfig(text, `delivery config ${path}`, dirname(resolve(path)), env);
}
