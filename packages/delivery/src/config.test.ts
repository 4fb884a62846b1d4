import { expectMobKitError, fixturePath } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { EmailSink, MemorySink, WebhookSink, loadDeliveryConfig, parseDeliveryConfig } from './index.js';

const fixtures = `${fixturePath('delivery')}/`;

describe('delivery TOML', () => {
  it('builds sinks by name; type defaults to the table name; ledger path resolves against the file', () => {
    const config = parseDeliveryConfig(
      '[delivery]\nledger_path = "data/ledger.jsonl"\nhistory_limit = 50\n[sinks.memory]\n[sinks.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/x"\ntimeout_ms = 100\n[sinks.email]\nhost = "127.0.0.1"\nport = 2525\nfrom = "a@b.c"\n',
      'test',
      '/etc/mobkit',
    );
    expect(config.ledgerPath).toBe('/etc/mobkit/data/ledger.jsonl');
    expect(config.historyLimit).toBe(50);
    expect(config.sinks.memory).toBeInstanceOf(MemorySink);
    expect(config.sinks.hook).toBeInstanceOf(WebhookSink);
    expect(config.sinks.email).toBeInstanceOf(EmailSink);
  });

  it('loads the memory fixture', () => {
    expect(Object.keys(loadDeliveryConfig(`${fixtures}memory.toml`).sinks).sort()).toEqual([
      'email',
      'memory',
      'webhook',
    ]);
  });

  it('names the offending field', () => {
    expect(expectMobKitError(() => loadDeliveryConfig(`${fixtures}invalid-sink.toml`)).message).toContain(
      'sinks.pager.type',
    );
    expect(
      expectMobKitError(() => parseDeliveryConfig('[sinks.email]\nhost = "h"\nport = 70000\nfrom = "a"\n')).message,
    ).toContain('sinks.email.port');
    expect(
      expectMobKitError(() => parseDeliveryConfig('[sinks.hook]\ntype = "webhook"\nurl = "ftp://x"\n')).message,
    ).toContain('sinks.hook.url');
    expect(expectMobKitError(() => parseDeliveryConfig('[sinks.m]\ntype = "mob_member"\n')).message).toContain(
      'in-process mob',
    );
    expect(expectMobKitError(() => parseDeliveryConfig('[delivery]\nin_flight = "maybe"\n')).message).toContain(
      'delivery.in_flight',
    );
    expect(
      expectMobKitError(() =>
        parseDeliveryConfig(
          '[sinks.email]\nhost = "h"\nport = 25\nfrom = "a"\nuser = "u"\npassword_env = "NOPE_NOT_SET"\n',
          'c',
          '/',
          {},
        ),
      ).code,
    ).toBe('InvalidConfig');
    expect(expectMobKitError(() => parseDeliveryConfig('[sinks\n')).code).toBe('InvalidToml');
    expect(expectMobKitError(() => loadDeliveryConfig('/nonexistent/delivery.toml'), 'InvalidConfig').message).toBe(
      'delivery config /nonexistent/delivery.toml: cannot read the file (ENOENT)',
    );
  });

  it('refuses each unknown key at its own path, listing the allowed ones, with the other problems', () => {
    const top = expectMobKitError(() => parseDeliveryConfig('[sink.email]\nhost = "h"\n', 'c'), 'InvalidConfig');
    expect(top.message).toBe('invalid c: sink: unknown key; allowed: delivery, sinks');
    expect(top.details?.field).toBe('sink');
    const table = expectMobKitError(
      () => parseDeliveryConfig('[delivery]\nledger = "l.jsonl"\nin_flight = "maybe"\n', 'c'),
      'InvalidConfig',
    );
    expect(table.details?.issues).toEqual([
      { field: 'delivery.in_flight', message: 'delivery.in_flight: expected one of wait, reject, got "maybe"' },
      {
        field: 'delivery.ledger',
        message:
          'delivery.ledger: unknown key; allowed: ledger_path, history_limit, idempotency_key_limit, idempotency_key_ttl_ms, in_flight, max_backoff_ms, trusted_capacity',
      },
    ]);
    const email = expectMobKitError(
      () => parseDeliveryConfig('[sinks.email]\nhots = "h"\nport = 25\nfrom = "a"\npasword_env = "P"\n', 'c'),
      'InvalidConfig',
    );
    const emailKeys =
      'type, host, port, secure, from, user, password_env, default_subject, timeout_ms, reject_unauthorized';
    expect(email.details?.issues).toEqual([
      { field: 'sinks.email.host', message: 'sinks.email.host: required (expected string)' },
      { field: 'sinks.email.hots', message: `sinks.email.hots: unknown key; allowed: ${emailKeys}` },
      { field: 'sinks.email.pasword_env', message: `sinks.email.pasword_env: unknown key; allowed: ${emailKeys}` },
    ]);
    expect(
      expectMobKitError(() => parseDeliveryConfig('[sinks.hook]\ntype = "webhook"\nheader = {}\n', 'c')).message,
    ).toBe('invalid c: sinks.hook.header: unknown key; allowed: type, url, timeout_ms, headers, secret, secret_env');
    expect(expectMobKitError(() => parseDeliveryConfig('[sinks.memory]\nsize = 3\n', 'c')).message).toBe(
      'invalid c: sinks.memory.size: unknown key; allowed: type',
    );
  });

  it('reads the SMTP password from the named environment variable', () => {
    const config = parseDeliveryConfig(
      '[sinks.email]\nhost = "h"\nport = 25\nfrom = "a"\nuser = "u"\npassword_env = "SMTP_PASS"\n',
      'c',
      '/',
      { SMTP_PASS: 'secret' },
    );
    expect(config.sinks.email).toBeInstanceOf(EmailSink);
  });
});
