import { describe, expect, it } from 'vitest';
import { expectMobKitError } from '@mobkit/test-utils';
import { parseConfigArgv } from './argv.js';

const USAGE = 'usage: mobkit-x [--config] <x.toml>';

describe('parseConfigArgv', () => {
  it.each([
    [['routes.toml'], 'routes.toml'],
    [['--config', 'a.toml'], 'a.toml'],
    [['-c', 'a.toml'], 'a.toml'],
    [['--config=a.toml'], 'a.toml'],
    [[], undefined],
  ])('%j → %s', (argv, path) => {
    expect(parseConfigArgv(argv, USAGE)).toEqual({ help: false, configPath: path });
  });

  it('help wins', () => {
    expect(parseConfigArgv(['a.toml', '--help'], USAGE)).toEqual({ help: true });
    expect(parseConfigArgv(['-h'], USAGE)).toEqual({ help: true });
  });

  it('rejects a dangling --config, unknown flags and a second path, with the usage line', () => {
    const dangling = expectMobKitError(() => parseConfigArgv(['--config'], USAGE), 'InvalidInput');
    expect(dangling.message).toBe(`--config needs a path\n${USAGE}`);
    expect(expectMobKitError(() => parseConfigArgv(['--verbose'], USAGE), 'InvalidInput').message).toContain(
      'unknown argument "--verbose"',
    );
    expect(expectMobKitError(() => parseConfigArgv(['a.toml', 'b.toml'], USAGE), 'InvalidInput').message).toContain(
      'unknown argument "b.toml"',
    );
  });
});
