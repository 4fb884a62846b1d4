import { describe, expect, it } from 'vitest';
import { catchError } from '../test/catch-error.js';
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
    const dangling = catchError(() => parseConfigArgv(['--config'], USAGE));
    expect(dangling.code).toBe('InvalidInput');
    expect(dangling.message).toBe(`--config needs a path\n${USAGE}`);
    expect(catchError(() => parseConfigArgv(['--verbose'], USAGE)).message).toContain('unknown argument "--verbose"');
    expect(catchError(() => parseConfigArgv(['a.toml', 'b.toml'], USAGE)).message).toContain(
      'unknown argument "b.toml"',
    );
  });
});
