#!/usr/bin/env node
// The `mobkit` command. This shim is checked in (not built) so that npm links `node_modules/.bin/mobkit`
// when it installs a clone, before the package is built; it runs the built CLI in dist/.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/bin/mobkit.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'mobkit: the CLI is not built yet (dist/bin/mobkit.js is missing). In a clone of MobKit-TS run\n' +
      '`npm run build` (or `npm test` / `npm start`, which build it) and try again.\n',
  );
  process.exit(1);
}
await import(cli.href);
