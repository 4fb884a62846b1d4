import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isMobKitError, parseTomlText, toMobKitError } from '@mobkit/core';
import { MobDefinition, resolveMcpServers } from '@mobkit/mob-adapter';
import { parseDeliveryConfig } from '@mobkit/delivery';
import { parseRoutingConfig } from '@mobkit/routing';
import { parseSchedulesToml, parseSchedulingModuleConfig } from '@mobkit/scheduling';
import { checkMobkitToml } from './load.js';

/** The kinds of TOML file `mobkit validate` understands. */
export type ConfigFileKind = 'mob' | 'mobkit' | 'schedules' | 'routing' | 'delivery';

/** One problem found in a file. */
export interface ValidationProblem {
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** Dotted key path (`profiles.lead.model`), when known. */
  key?: string;
  code: string;
  message: string;
}

/** The result of validating one file. */
export interface FileValidation {
  file: string;
  kind: ConfigFileKind | undefined;
  problems: ValidationProblem[];
}

/** Tells the kind of a config file from its tables (falling back to its name). */
export function detectKind(file: string, doc: Record<string, unknown> | undefined): ConfigFileKind | undefined {
  if (doc) {
    if ('mob' in doc || 'profiles' in doc) return 'mob';
    if ('modules' in doc) return 'mobkit';
    if ('schedules' in doc) return 'schedules';
    if ('sinks' in doc || 'delivery' in doc) return 'delivery';
    if ('routes' in doc || 'router' in doc) return 'routing';
  }
  const name = basename(file).toLowerCase();
  if (name.startsWith('mob.')) return 'mob';
  if (name.startsWith('mobkit')) return 'mobkit';
  if (name.startsWith('schedules')) return 'schedules';
  if (name.startsWith('routing') || name.startsWith('routes')) return 'routing';
  if (name.startsWith('delivery')) return 'delivery';
  return undefined;
}

/**
 * Finds the line of a dotted key in TOML text: the `[table]` header of its parent, then the `key =`
 * line inside it (or the header itself when the key is absent). Handles `profiles.lead.model`,
 * `profiles.lead.tools.comms` and `modules[1].command` (the second `[[modules]]` block).
 */
export function locateKey(text: string, keyPath: string): number | undefined {
  const parts = keyPath
    .replace(/\[(\d+)\]/g, '.#$1')
    .split('.')
    .filter(Boolean);
  const lines = text.split(/\r?\n/);
  for (let cut = parts.length; cut >= 1; cut -= 1) {
    const tableParts = parts.slice(0, cut);
    const rest = parts.slice(cut);
    const index = tableParts.at(-1)?.startsWith('#') ? Number(tableParts.pop()?.slice(1)) : undefined;
    const header = tableParts.join('.');
    let seen = -1;
    for (let i = 0; i < lines.length; i += 1) {
      const trimmed = (lines[i] ?? '').trim();
      const isHeader = index === undefined ? trimmed === `[${header}]` : trimmed === `[[${header}]]`;
      if (!isHeader) continue;
      seen += 1;
      if (index !== undefined && seen !== index) continue;
      const key = rest[0];
      if (key === undefined) return i + 1;
      for (let j = i + 1; j < lines.length; j += 1) {
        const inner = (lines[j] ?? '').trim();
        if (inner.startsWith('[')) break;
        if (new RegExp(`^"?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*=`).test(inner)) return j + 1;
      }
      return i + 1;
    }
  }
  return undefined;
}

function problemsFrom(file: string, text: string, error: unknown): ValidationProblem[] {
  const e = toMobKitError(error);
  const details = e.details ?? {};
  if (typeof details.line === 'number') {
    return [{ file, line: details.line, code: e.code, message: e.message }];
  }
  const diagnostics = details.diagnostics as Array<{ location?: string; message: string; code?: string }> | undefined;
  if (Array.isArray(diagnostics) && diagnostics.length > 0) {
    return diagnostics.map((d) => ({
      file,
      key: d.location,
      line: d.location ? locateKey(text, d.location) : undefined,
      code: d.code ?? e.code,
      message: d.message,
    }));
  }
  const issues = details.issues as Array<{ field?: string; message: string }> | undefined;
  if (Array.isArray(issues) && issues.length > 0) {
    return issues.map((i) => ({
      file,
      key: i.field,
      line: i.field ? locateKey(text, i.field) : undefined,
      code: e.code,
      message: i.message,
    }));
  }
  const key = typeof details.field === 'string' ? details.field : undefined;
  return [{ file, key, line: key ? locateKey(text, key) : undefined, code: e.code, message: e.message }];
}

/** Validates one config file by its kind, collecting every problem the parsers report. */
export function validateConfigText(file: string, text: string, kind?: ConfigFileKind): FileValidation {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = parseTomlText(text, basename(file));
  } catch (error) {
    return { file, kind, problems: problemsFrom(file, text, error) };
  }
  const detected = kind ?? detectKind(file, doc);
  if (detected === undefined) {
    return {
      file,
      kind: undefined,
      problems: [
        {
          file,
          code: 'InvalidConfig',
          message:
            'cannot tell what this file is: expected a [mob] table (mob.toml), [[modules]] (mobkit.toml), [[schedules]] (schedules.toml), [sinks.*] (delivery TOML) or [[routes]] (routing TOML)',
        },
      ],
    };
  }
  const problems: ValidationProblem[] = [];
  for (const check of CHECKS[detected]) {
    try {
      check(file, text);
    } catch (error) {
      if (!isMobKitError(error)) throw error;
      for (const problem of problemsFrom(file, text, error)) {
        const same = (p: ValidationProblem) =>
          p.line === problem.line && p.key === problem.key && p.code === problem.code && p.message === problem.message;
        if (!problems.some(same)) problems.push(problem);
      }
    }
  }
  return { file, kind: detected, problems };
}

/**
 * What `mobkit validate` checks per kind of file; each check that fails adds its problems. `mobkit.toml`:
 * the trust manifest and every app section (`pre_spawn`, `discovery`, `members`, `runtime`, `console`,
 * `auth`, `trusted_oidc`, `bigquery`); `schedules.toml`: the schedules and `[runtime_injection]`.
 */
const CHECKS: Record<ConfigFileKind, ReadonlyArray<(file: string, text: string) => unknown>> = {
  // The definition, then its `tools.mcp` ids against the host file `mcp.toml` beside it.
  mob: [(file, text) => resolveMcpServers(MobDefinition.fromToml(text, { baseDir: dirname(file) }))],
  mobkit: [(file, text) => checkMobkitToml(text, file)],
  schedules: [
    (_file, text) => parseSchedulesToml(text),
    (file, text) => parseSchedulingModuleConfig(text, basename(file)),
  ],
  delivery: [(file, text) => parseDeliveryConfig(text, basename(file), dirname(file))],
  routing: [(file, text) => parseRoutingConfig(text, basename(file))],
};

/** Reads and validates files; a file that cannot be read is a problem too. */
export function validateConfigFiles(files: string[]): FileValidation[] {
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return {
        file,
        kind: undefined,
        problems: [{ file, code: 'InvalidInput', message: `cannot read file: ${(error as Error).message}` }],
      };
    }
    return validateConfigText(file, text);
  });
}

/** Formats a problem as `file:line: key: message [Code]`. */
export function formatProblem(p: ValidationProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  const key = p.key && !p.message.includes(p.key) ? `${p.key}: ` : '';
  return `${where}: ${key}${p.message} [${p.code}]`;
}
