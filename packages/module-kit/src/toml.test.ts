import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectMobKitError } from '@mobkit/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadTomlFile } from './toml.js';

const dir = mkdtempSync(join(tmpdir(), 'mobkit-module-kit-toml-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadTomlFile', () => {
  it('reads a table', () => {
    expect(loadTomlFile(file('ok.toml', 'port = 8080\n[sink]\nname = "memory"\n'), 'demo config')).toEqual({
      port: 8080,
      sink: { name: 'memory' },
    });
  });

  it('validates with a schema and returns its output', () => {
    const Schema = z.object({ port: z.number().int(), host: z.string().default('127.0.0.1') });
    expect(loadTomlFile(file('schema.toml', 'port = 1\n'), 'demo config', Schema)).toEqual({
      port: 1,
      host: '127.0.0.1',
    });
    const bad = file('bad.toml', 'port = "x"\n');
    const error = expectMobKitError(() => loadTomlFile(bad, 'demo config', Schema), 'InvalidConfig');
    expect(error.message).toBe(`invalid demo config ${bad}: port: expected number, got string`);
  });

  it('names the file when it cannot be read or does not parse', () => {
    const missing = join(dir, 'missing.toml');
    const unread = expectMobKitError(() => loadTomlFile(missing, 'demo config'), 'InvalidConfig');
    expect(unread.message).toBe(`demo config ${missing}: cannot read the file (ENOENT)`);
    expect(unread.details).toEqual({ path: missing });
    const broken = file('broken.toml', 'port = = 1\n');
    const syntax = expectMobKitError(() => loadTomlFile(broken, 'demo config'), 'InvalidToml');
    expect(syntax.message).toMatch(new RegExp(`^demo config ${broken}: TOML syntax error at line 1, column \\d+: `));
  });
});
