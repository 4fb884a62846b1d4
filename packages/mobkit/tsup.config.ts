import { defineConfig } from 'tsup';

// Three entries and the bin. The root entry (`mobkit`) must not load Express or the reference app:
// they are reached only from the `http` and `cli` entries (test/entry-isolation.test.ts checks it).
const entry = {
  index: 'src/index.ts',
  http: 'src/http/index.ts',
  cli: 'src/cli/index.ts',
};

export default defineConfig({
  entry: { ...entry, 'bin/mobkit': 'src/bin/mobkit.ts' },
  format: ['esm'],
  target: 'node20',
  dts: { entry },
  sourcemap: true,
  clean: true,
  removeNodeProtocol: false,
});
