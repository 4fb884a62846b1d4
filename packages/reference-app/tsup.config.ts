import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library (Node): the router, the console contracts, SSE.
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    // Not `clean`: both builds write into dist at the same time.
    clean: false,
    removeNodeProtocol: false,
  },
  {
    // The console page's script (browser): Preact bundled in, one IIFE file served at /console/assets/console-app.js.
    entry: { 'console-app': 'src/console/main.tsx' },
    outDir: 'dist/console',
    format: ['iife'],
    platform: 'browser',
    target: 'es2020',
    globalName: 'MobKitConsole',
    outExtension: () => ({ js: '.js' }),
    noExternal: [/.*/],
    minify: true,
    sourcemap: false,
    dts: false,
    clean: false,
    tsconfig: 'src/console/tsconfig.json',
    esbuildOptions(options) {
      options.jsx = 'automatic';
      options.jsxImportSource = 'preact';
    },
  },
]);
