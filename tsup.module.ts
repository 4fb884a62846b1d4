import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import { libraryOptions } from './tsup.library.js';

/**
 * What a module executable never runs, left out of its bundle so it starts faster (each is parsed
 * and evaluated at every start otherwise, ~45% of the bundle). Each replacement fails loudly if it
 * is ever reached:
 * - zod's translated error messages: only English (zod's default) is kept; `z.locales.en` stays.
 * - Ajv, which the MCP SDK's server constructs to validate elicitation answers (`elicitInput`):
 *   MobKit modules never elicit.
 * - zod 3 and zod-to-json-schema, which the SDK uses only for tools declared with zod 3 schemas:
 *   MobKit modules declare zod 4 schemas.
 */
const leaveOutOfModuleBundles: Plugin = {
  name: 'mobkit-module-bundle',
  setup(build) {
    const modules = new Map<string, string>([
      ['zod-locales', "export { default as en } from 'zod/v4/locales/en.js';"],
      [
        'sdk-ajv-provider',
        `export class AjvJsonSchemaValidator {
  getValidator() {
    throw new Error('JSON Schema validation (elicitation answers) is not bundled into MobKit module executables');
  }
}`,
      ],
      [
        'zod-v3',
        "export function object() { throw new Error('zod 3 schemas are not supported in MobKit module executables; use zod 4'); }",
      ],
      [
        'zod-to-json-schema',
        "export function zodToJsonSchema() { throw new Error('zod 3 schemas are not supported in MobKit module executables; use zod 4'); }",
      ],
    ]);
    const to = (name: string) => () => ({ path: name, namespace: 'mobkit-module-bundle' });
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? to('zod-locales')() : undefined,
    );
    build.onResolve({ filter: /[\\/]validation[\\/]ajv-provider\.js$/ }, (args) =>
      /[\\/]@modelcontextprotocol[\\/]sdk[\\/]/.test(args.importer) ? to('sdk-ajv-provider')() : undefined,
    );
    build.onResolve({ filter: /^zod\/v3$/ }, to('zod-v3'));
    build.onResolve({ filter: /^zod-to-json-schema$/ }, to('zod-to-json-schema'));
    build.onLoad({ filter: /.*/, namespace: 'mobkit-module-bundle' }, (args) => {
      const contents = modules.get(args.path);
      if (contents === undefined) return undefined;
      // Virtual modules resolve their own imports (zod's English locale) from the repository root.
      return { contents, loader: 'js', resolveDir: process.cwd() };
    });
  },
};

/**
 * The tsup config of a package that ships a module executable: the library (ESM + .d.ts; the root
 * entry and the MCP server factory on the `/module` subpath) and the bin `src/bin/<binName>.ts`
 * bundled into one self-contained, minified file (fast start; `@mobkit/*` bundled from their
 * sources, so the bin never depends on another package's dist; see {@link leaveOutOfModuleBundles}).
 */
export function moduleTsup(binName: string): ReturnType<typeof defineConfig> {
  return defineConfig([
    libraryOptions(['src/index.ts', 'src/module/index.ts']),
    {
      entry: { [`bin/${binName}`]: `src/bin/${binName}.ts` },
      format: ['esm'],
      target: 'node20',
      platform: 'node',
      sourcemap: false,
      clean: false,
      // One file: a dynamic import() stays in it, evaluated only when first reached.
      splitting: false,
      minify: true,
      noExternal: [/.*/],
      removeNodeProtocol: false,
      esbuildPlugins: [leaveOutOfModuleBundles],
      esbuildOptions(options) {
        options.conditions = ['@mobkit/source', 'module', 'node'];
      },
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    },
  ]);
}
