import { defineConfig } from 'tsup';

/**
 * The tsup config of a package that ships a module executable: the library (ESM + .d.ts) and the
 * bin `src/bin/<binName>.ts` bundled into one self-contained file (fast start; `@mobkit/*` bundled
 * from their sources, so the bin never depends on another package's dist).
 */
export function moduleTsup(binName: string): ReturnType<typeof defineConfig> {
  return defineConfig([
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
      entry: { [`bin/${binName}`]: `src/bin/${binName}.ts` },
      format: ['esm'],
      target: 'node20',
      platform: 'node',
      sourcemap: false,
      clean: false,
      noExternal: [/.*/],
      removeNodeProtocol: false,
      esbuildOptions(options) {
        options.conditions = ['@mobkit/source', 'module', 'node'];
      },
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    },
  ]);
}
