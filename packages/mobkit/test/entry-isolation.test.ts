// `import 'mobkit'` must load neither Express nor the reference app; `mobkit/http` and `mobkit/cli` do.
// A child process imports the BUILT entry (dist/, as an install would: `npx nx run mobkit:build`
// first) with a module-resolution hook that records every specifier resolved on the way.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const IMPORTER = join(here, 'fixtures', 'import-entry.mjs');

interface Resolution {
  specifier: string;
  url: string;
}

function resolutionsOf(specifier: string): Resolution[] {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-resolutions-'));
  const log = join(dir, 'resolutions.jsonl');
  try {
    execFileSync(process.execPath, [IMPORTER, specifier, log], { env: childEnv(), stdio: 'pipe', timeout: 30_000 });
    return readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Resolution);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HTTP_STACK = /^(express|@mobkit\/reference-app)(\/|$)/;
const httpStack = (resolutions: Resolution[]) =>
  resolutions.filter((r) => HTTP_STACK.test(r.specifier) || /\/node_modules\/express\//.test(r.url));

describe('entry isolation (built dist/)', () => {
  it('the root entry resolves mobkit dist/index.js and never express or @mobkit/reference-app', () => {
    const resolutions = resolutionsOf('mobkit');
    expect(resolutions.some((r) => r.specifier === 'mobkit' && r.url.endsWith('/packages/mobkit/dist/index.js'))).toBe(
      true,
    );
    expect(resolutions.some((r) => r.specifier === '@mobkit/core')).toBe(true);
    expect(httpStack(resolutions)).toEqual([]);
  });

  it.each(['mobkit/http', 'mobkit/cli'])('%s does load express and @mobkit/reference-app', (entry) => {
    const specifiers = new Set(resolutionsOf(entry).map((r) => r.specifier));
    expect(specifiers.has('express')).toBe(true);
    expect(specifiers.has('@mobkit/reference-app')).toBe(true);
  });
});
