import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { isMobKitError } from '@mobkit/core';
import { EmailSink, MemorySink, WebhookSink, loadDeliveryConfig, parseDeliveryConfig } from './index.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/delivery/', import.meta.url));

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isMobKitError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an error');
}

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
    expect(errorOf(() => loadDeliveryConfig(`${fixtures}invalid-sink.toml`)).message).toContain('sinks.pager.type');
    expect(
      errorOf(() => parseDeliveryConfig('[sinks.email]\nhost = "h"\nport = 70000\nfrom = "a"\n')).message,
    ).toContain('sinks.email.port');
    expect(errorOf(() => parseDeliveryConfig('[sinks.hook]\ntype = "webhook"\nurl = "ftp://x"\n')).message).toContain(
      'sinks.hook.url',
    );
    expect(errorOf(() => parseDeliveryConfig('[sinks.m]\ntype = "mob_member"\n')).message).toContain('in-process mob');
    expect(errorOf(() => parseDeliveryConfig('[delivery]\nin_flight = "maybe"\n')).message).toContain(
      'delivery.in_flight',
    );
    expect(
      errorOf(() =>
        parseDeliveryConfig(
          '[sinks.email]\nhost = "h"\nport = 25\nfrom = "a"\nuser = "u"\npassword_env = "NOPE_NOT_SET"\n',
          'c',
          '/',
          {},
        ),
      ).code,
    ).toBe('InvalidConfig');
    expect(errorOf(() => parseDeliveryConfig('[sinks\n')).code).toBe('InvalidToml');
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
