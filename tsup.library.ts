import { defineConfig, type Options } from 'tsup';

/**
 * How every published package builds its library entries: ESM for Node 20, `.d.ts`, source maps,
 * `node:` specifiers kept (tsup 8 strips them by default), dist cleaned first.
 */
export function libraryOptions(entry: NonNullable<Options['entry']> = ['src/index.ts']): Options {
  return {
    entry,
    format: ['esm'],
    target: 'node20',
    dts: true,
    sourcemap: true,
    clean: true,
    removeNodeProtocol: false,
  };
}

/** The tsup config of a package with library entries only (default: `src/index.ts`). */
export function libraryTsup(entry?: NonNullable<Options['entry']>): ReturnType<typeof defineConfig> {
  return defineConfig(libraryOptions(entry));
}
