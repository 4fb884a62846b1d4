import { defineProject } from 'vitest/config';

export default defineProject({
  // Node tests run in Vite's SSR environment; resolve workspace packages to their sources.
  ssr: { resolve: { conditions: ['@mobkit/source', 'module', 'node', 'development|production'] } },
  test: {
    name: 'reference-app-server',
    environment: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // test/start.test.ts runs `scripts/start.mjs`, whose Nx build restores every package's dist/
    // from the cache (without the Nx daemon, Nx always rewrites outputs). Other suites run the
    // built module bins, so this project runs after every other project (groupOrder 1) and its
    // files one at a time: nothing reads a dist/ while it is being rewritten.
    sequence: { groupOrder: 1 },
    fileParallelism: false,
  },
});
