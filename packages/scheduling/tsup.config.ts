import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    dts: true,
    sourcemap: true,
    clean: true,
    removeNodeProtocol: false,
  },
  {
    // The module executable: one self-contained file (fast start, independent of other packages' dist).
    entry: { 'bin/mobkit-scheduling': 'src/bin/mobkit-scheduling.ts' },
    format: ['esm'],
    target: 'node20',
    sourcemap: true,
    clean: false,
    removeNodeProtocol: false,
    noExternal: [/.*/],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  },
]);
