import { defineConfig } from 'vitest/config';

// One vitest process runs every project: the packages, the apps and the e2e suites.
export default defineConfig({
  test: { projects: ['packages/*', 'apps/*', 'e2e'] },
});
