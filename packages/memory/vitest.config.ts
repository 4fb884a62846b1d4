import { defineProject } from 'vitest/config';

export default defineProject({
  // Node tests run in Vite's SSR environment; resolve workspace packages to their sources.
  ssr: { resolve: { conditions: ['@mobkit/source', 'module', 'node', 'development|production'] } },
  test: { name: 'memory', environment: 'node', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
});
