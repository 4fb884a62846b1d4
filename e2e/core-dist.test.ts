// Consumes the BUILT @mobkit/core (dist/, resolved through node_modules like a user's install) in
// fresh Node processes: as ESM `import` and as CommonJS `require` (require(esm), Node ≥ 20.19).
// `npm test` builds every package before vitest runs, so dist/ exists here.
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

function runNode(args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return execFileSync(process.execPath, args, { cwd: here, env, encoding: 'utf8', timeout: 20_000 });
}

const SCRIPT_BODY = `
const line = '{"event_id":"evt-1","source":"module","timestamp_ms":5,"module":"router","event_type":"ready","payload":{}}';
const envelope = core.normalizeEventLine(line);
let error;
try { core.loadTrustedModulesFromToml('[[modules]]\\nid = "router"\\n'); } catch (e) { error = e; }
console.log(JSON.stringify({
  version: core.MOBKIT_CONTRACT_VERSION,
  module: envelope.event.module,
  code: error && error.code,
  isMobKit: core.isMobKitError(error),
  rpc: error && error.rpcCode,
  message: error && error.message,
}));
`;

describe('@mobkit/core as installed (dist)', () => {
  it('resolves to dist/, not the TypeScript sources', () => {
    const resolved = runNode(['--input-type=module', '-e', 'console.log(import.meta.resolve("@mobkit/core"))']).trim();
    expect(resolved).toMatch(/packages\/core\/dist\/index\.js$/);
  });

  it.each([
    ['ESM import', ['--input-type=module', '-e', `import * as core from '@mobkit/core';${SCRIPT_BODY}`]],
    ['CommonJS require', ['--input-type=commonjs', '-e', `const core = require('@mobkit/core');${SCRIPT_BODY}`]],
  ])('works through %s', (_name, args) => {
    const out = JSON.parse(runNode(args).trim());
    expect(out).toEqual({
      version: '0.2.0',
      module: 'router',
      code: 'MissingModuleCommand',
      isMobKit: true,
      rpc: -32602,
      message: 'trust manifest: modules[0].command is required for module "router" (the executable to run)',
    });
  });
});
