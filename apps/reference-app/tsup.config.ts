import { defineConfig } from 'tsup';

// The app's entry: dist/main.js (package.json "main", run by scripts/start.mjs). Workspace
// packages and other dependencies stay external and load from node_modules.
export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  target: 'node20',
  sourcemap: true,
  clean: true,
  removeNodeProtocol: false,
});
