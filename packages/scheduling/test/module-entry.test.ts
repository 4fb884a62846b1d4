// `import '@mobkit/scheduling'` must not load the MCP SDK (nor the module kit, which brings it): the
// server factory is on `@mobkit/scheduling/module`, whose SDK is an optional peer. A child process imports
// the BUILT entries (as an install gets them) with a resolution recorder.
import { fileURLToPath } from 'node:url';
import { builtBin, resolutionsOf, type ModuleResolution } from '@mobkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const MCP = /^@modelcontextprotocol\/|^@mobkit\/module-kit(\/|$)/;
const mcpOf = (resolutions: ModuleResolution[]) =>
  resolutions.filter((r) => MCP.test(r.specifier) || /\/node_modules\/@modelcontextprotocol\//.test(r.url));

beforeAll(() => {
  builtBin('mobkit-scheduling', packageDir); // rebuilds dist/ (entries and bin) when src/ is newer
}, 120_000);

describe('@mobkit/scheduling entries (built dist/)', () => {
  it('the root entry resolves dist/index.js and never the MCP SDK or @mobkit/module-kit', () => {
    const resolutions = resolutionsOf('@mobkit/scheduling');
    expect(
      resolutions.some(
        (r) => r.specifier === '@mobkit/scheduling' && r.url.endsWith('/packages/scheduling/dist/index.js'),
      ),
    ).toBe(true);
    expect(resolutions.some((r) => r.specifier === '@mobkit/core')).toBe(true);
    expect(mcpOf(resolutions)).toEqual([]);
  });

  it('the /module subpath does load the MCP server and the kit', () => {
    const specifiers = new Set(mcpOf(resolutionsOf('@mobkit/scheduling/module')).map((r) => r.specifier));
    expect(specifiers.has('@modelcontextprotocol/sdk/server/mcp.js')).toBe(true);
    expect(specifiers.has('@mobkit/module-kit')).toBe(true);
  });
});
