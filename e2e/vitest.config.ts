import { defineProject } from 'vitest/config';

// e2e suites exercise what users install: the built dist/ of each package, in child processes.
export default defineProject({
  test: {
    name: 'e2e',
    environment: 'node',
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    testTimeout: 60_000,
  },
});
