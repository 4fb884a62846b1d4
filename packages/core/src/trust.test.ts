import { describe, expect, it } from 'vitest';
import { catchError } from '../test/catch-error.js';
import { parseTomlText } from './toml.js';
import { loadTrustedModulesFromToml } from './trust.js';

describe('loadTrustedModulesFromToml', () => {
  it('loads [[modules]] tables, defaulting restart_policy to on_failure and args to []', () => {
    const modules = loadTrustedModulesFromToml(`
[[modules]]
id = "router"
command = "mobkit-router"
args = ["--routes", "routes.toml"]
restart_policy = "always"

[[modules]]
id = "delivery"
command = "mobkit-delivery"
`);
    expect(modules).toEqual([
      { id: 'router', command: 'mobkit-router', args: ['--routes', 'routes.toml'], restartPolicy: 'always' },
      { id: 'delivery', command: 'mobkit-delivery', args: [], restartPolicy: 'on_failure' },
    ]);
  });

  it('an empty manifest has no modules', () => {
    expect(loadTrustedModulesFromToml('# nothing trusted yet\n')).toEqual([]);
  });

  it('a syntax error names line and column', () => {
    const error = catchError(() => loadTrustedModulesFromToml('[[modules]]\nid = "router"\ncommand = = "x"\n'));
    expect(error.code).toBe('InvalidToml');
    expect(error.message).toMatch(/line 3, column \d+/);
    expect(error.details).toMatchObject({ line: 3 });
  });

  it('a missing id names the module index', () => {
    const error = catchError(() =>
      loadTrustedModulesFromToml('[[modules]]\nid = "a"\ncommand = "x"\n[[modules]]\ncommand = "y"\n'),
    );
    expect(error.code).toBe('MissingModuleId');
    expect(error.message).toContain('modules[1].id is required');
    expect(error.details).toMatchObject({ index: 1 });
  });

  it('a missing command names the module index and id', () => {
    const error = catchError(() => loadTrustedModulesFromToml('[[modules]]\nid = "router"\n'));
    expect(error.code).toBe('MissingModuleCommand');
    expect(error.message).toContain('modules[0].command is required for module "router"');
  });

  it('rejects a bad restart policy, bad args and duplicate ids by field', () => {
    expect(
      catchError(() => loadTrustedModulesFromToml('[[modules]]\nid="a"\ncommand="x"\nrestart_policy="sometimes"\n'))
        .message,
    ).toContain('modules[0].restart_policy: expected one of never, on_failure, always, got "sometimes"');
    expect(
      catchError(() => loadTrustedModulesFromToml('[[modules]]\nid="a"\ncommand="x"\nargs=[1]\n')).message,
    ).toContain('modules[0].args');
    const dup = catchError(() =>
      loadTrustedModulesFromToml('[[modules]]\nid="a"\ncommand="x"\n[[modules]]\nid="a"\ncommand="y"\n'),
    );
    expect(dup.code).toBe('InvalidConfig');
    expect(dup.message).toContain('listed twice');
    expect(catchError(() => loadTrustedModulesFromToml('modules = "router"\n')).code).toBe('InvalidConfig');
  });

  it('parseTomlText reports the name of what it parses', () => {
    expect(catchError(() => parseTomlText('a = [', 'routes.toml')).message).toMatch(
      /^routes\.toml: TOML syntax error at line 1, column \d+/,
    );
  });
});
