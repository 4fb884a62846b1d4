import { fileURLToPath } from 'node:url';
import { builtBin as builtPackageBin } from '@mobkit/test-utils';

/**
 * Transitional: the delivery MCP tests import these names from here. The logic lives once, in
 * `@mobkit/test-utils` (`builtBin(name, packageDir)`, `childEnv`); import it from there instead.
 */
export { childEnv } from '@mobkit/test-utils';

/** This package's directory. */
export const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Path of this package's built bin `name` (rebuilt when older than `src/`). */
export function builtBin(name: string, dir: string = packageDir): string {
  return builtPackageBin(name, dir);
}
