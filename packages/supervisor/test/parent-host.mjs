// A host process for parent-death tests: starts a module runtime from the built package, prints the
// module pids as one JSON line, then either idles until killed (mode "idle") or exits without
// shutting the runtime down (mode "exit"). Usage: node parent-host.mjs <idle|exit> <repoRoot>
import { join } from 'node:path';
import { startModuleRuntime } from '../dist/index.js';

const [mode = 'idle', root] = process.argv.slice(2);
const modules = join(root, 'fixtures/modules');
const runtime = await startModuleRuntime(
  {
    modules: [
      { id: 'jsonline', command: 'sh', args: [join(modules, 'ready.sh'), 'jsonline'], restartPolicy: 'on_failure' },
      {
        id: 'router',
        command: process.execPath,
        args: [join(root, 'fixtures/mcp-fixture.mjs'), '--module', 'router'],
        restartPolicy: 'on_failure',
      },
      { id: 'deaf', command: 'sh', args: [join(modules, 'grandchild.sh'), 'deaf'], restartPolicy: 'never' },
    ],
    discovery: { namespace: 'parent-death', modules: mode === 'exit' ? ['deaf'] : ['jsonline', 'router'] },
    preSpawn: [{ moduleId: 'router', env: [['MOBKIT_MODULE_BOUNDARY', 'mcp']] }],
  },
  { timeoutMs: 10_000 },
);
const pids = {};
for (const id of runtime.loadedModules()) pids[id] = runtime.moduleStatus(id)?.pid;
const deaf = runtime.mergedEvents().find((e) => e.event.kind === 'module' && e.event.module === 'deaf');
if (deaf) pids.deafChild = deaf.event.payload.child;
process.stdout.write(`${JSON.stringify(pids)}\n`);
if (mode === 'exit') process.exit(0);
setInterval(() => {}, 60_000);
