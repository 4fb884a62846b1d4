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
    // The mobkit-delivery executable: one self-contained file (fast start, no other package's dist needed).
    entry: { 'bin/mobkit-delivery': 'src/bin/mobkit-delivery.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    clean: false,
    noExternal: [/.*/],
    removeNodeProtocol: false,
    // Bundle @mobkit/core from its sources so the bin never depends on another package's dist.
    esbuildOptions(options) {
      options.conditions = ['@mobkit/source', 'module', 'node'];
    },
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  },
]);
