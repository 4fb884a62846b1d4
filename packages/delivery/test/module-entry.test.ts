// `import '@mobkit/delivery'` must not load the MCP SDK (nor the module kit, which brings it): the
// server factory is on `@mobkit/delivery/module`, whose SDK is an optional peer. Nor does it load nodemailer,
// which the first e-mail send loads. A child process imports the BUILT entries (as an install gets them)
// with a resolution recorder.
import { fileURLToPath } from 'node:url';
import { builtBin, resolutionsOf, type ModuleResolution } from '@mobkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const MCP = /^@modelcontextprotocol\/|^@mobkit\/module-kit(\/|$)/;
const mcpOf = (resolutions: ModuleResolution[]) =>
  resolutions.filter((r) => MCP.test(r.specifier) || /\/node_modules\/@modelcontextprotocol\//.test(r.url));

beforeAll(() => {
  builtBin('mobkit-delivery', packageDir); // rebuilds dist/ (entries and bin) when src/ is newer
}, 120_000);

describe('@mobkit/delivery entries (built dist/)', () => {
  it('the root entry resolves dist/index.js and never the MCP SDK or @mobkit/module-kit', () => {
    const resolutions = resolutionsOf('@mobkit/delivery');
    expect(
      resolutions.some((r) => r.specifier === '@mobkit/delivery' && r.url.endsWith('/packages/delivery/dist/index.js')),
    ).toBe(true);
    expect(resolutions.some((r) => r.specifier === '@mobkit/core')).toBe(true);
    expect(mcpOf(resolutions)).toEqual([]);
    // nodemailer is loaded by the first e-mail send, not by importing the package
    expect(
      resolutions.filter((r) => r.specifier === 'nodemailer' || /\/node_modules\/nodemailer\//.test(r.url)),
    ).toEqual([]);
  });

  it('the /module subpath does load the MCP server and the kit', () => {
    const specifiers = new Set(mcpOf(resolutionsOf('@mobkit/delivery/module')).map((r) => r.specifier));
    expect(specifiers.has('@modelcontextprotocol/sdk/server/mcp.js')).toBe(true);
    expect(specifiers.has('@mobkit/module-kit')).toBe(true);
  });
});
