import { z } from 'zod';
import { MobKitError } from './errors/error.js';
import type { MobKitErrorCode } from './errors/codes.js';

/** Formats a zod/JSON path as `modules[1].restart_policy` (empty path → `<root>`). */
export function formatPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '<root>' : out;
}

/** Describes a JSON value's type the way a person reads it (`null`, `array`, `string`…). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isInteger(value)) return 'integer';
  return typeof value;
}

function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}…` : text;
  } catch {
    return String(value);
  }
}

interface IssueSummary {
  code: MobKitErrorCode;
  field: string;
  message: string;
}

function summarizeIssue(issue: z.core.$ZodIssue, prefix: string): IssueSummary {
  const field = formatPath(issue.path, prefix);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) {
        return { code: 'MissingField', field, message: `${field}: required (expected ${issue.expected})` };
      }
      return {
        code: 'InvalidFieldType',
        field,
        message: `${field}: expected ${issue.expected}, got ${describeType(input)}`,
      };
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => String(v)).join(', ');
      if (input === undefined) {
        return { code: 'MissingField', field, message: `${field}: required (expected one of ${options})` };
      }
      return {
        code: 'InvalidFieldType',
        field,
        message: `${field}: expected ${issue.values.length === 1 ? options : `one of ${options}`}, got ${quote(input)}`,
      };
    }
    case 'unrecognized_keys':
      return { code: 'InvalidSchema', field, message: `${field}: unknown key(s) ${issue.keys.join(', ')}` };
    case 'invalid_union':
      return { code: 'InvalidSchema', field, message: `${field}: ${issue.message}` };
    default:
      return { code: 'InvalidSchema', field, message: `${field}: ${issue.message}` };
  }
}

/**
 * An object schema that refuses keys outside `shape`: one issue per unknown key, at that key's own
 * path (so a file locator can point at its line), naming the keys it allows
 * (`profiles.lead.modle: unknown key; allowed: model, provider, …`). Known keys are validated by
 * `shape`; unknown ones never reach a decoder, since parsing fails. Use it for every config and
 * wire object where a typo must be caught rather than ignored.
 */
export function closedObject<S extends z.core.$ZodLooseShape>(shape: S): z.ZodObject<S, z.core.$loose> {
  const allowed = Object.keys(shape).join(', ');
  const refuseUnknown = z.superRefine<Record<string, unknown>>(
    (value, ctx) => {
      for (const key of Object.keys(value)) {
        if (Object.hasOwn(shape, key)) continue;
        ctx.addIssue({ code: 'custom', path: [key], input: value[key], message: `unknown key; allowed: ${allowed}` });
      }
    },
    // Report unknown keys even when a known key is also wrong, so one pass lists every problem.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );
  return z.looseObject(shape).check(refuseUnknown as never);
}

/** How many problems {@link parseWithSchema} names in its message (every one is in `details.issues`). */
const MAX_PROBLEMS_IN_MESSAGE = 5;

/** Options for {@link parseWithSchema}. */
export interface ParseWithSchemaOptions {
  /** What is being parsed, for the message (`module config`, `mobkit/init params`…). */
  what: string;
  /** A path prefix for field names (`modules[2]`). */
  pathPrefix?: string;
  /** Force one error code (e.g. `InvalidConfig`) instead of the issue-specific one. */
  code?: MobKitErrorCode;
}

/**
 * Parses `input` with a zod schema; on failure throws a {@link MobKitError} whose message names the
 * offending fields (up to five, `; `-separated, then `(and N more problems)`) and what was expected (`modules[1].restart_policy: expected one of never,
 * on_failure, always, got "sometimes"`), and whose `details.issues` lists every problem.
 * Never lets a zod error or stack reach the caller.
 */
export function parseWithSchema<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: ParseWithSchemaOptions,
): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const summaries = result.error.issues.map((issue) => summarizeIssue(issue, options.pathPrefix ?? ''));
  const first = summaries[0] ?? { code: 'InvalidSchema' as const, field: '<root>', message: 'invalid value' };
  // Name up to five problems, so one run of a config check shows what to fix (all are in details.issues).
  const shown = summaries.length === 0 ? [first] : summaries.slice(0, MAX_PROBLEMS_IN_MESSAGE);
  const rest = summaries.length - shown.length;
  const more = rest > 0 ? ` (and ${rest} more problem${rest > 1 ? 's' : ''})` : '';
  throw new MobKitError(
    options.code ?? first.code,
    `invalid ${options.what}: ${shown.map((p) => p.message).join('; ')}${more}`,
    {
      details: {
        field: first.field,
        issues: summaries.map((s) => ({ field: s.field, message: s.message })),
      },
    },
  );
}

/** Parses JSON text, turning a syntax error into `InvalidJson` that quotes the text (cut to 200 chars). */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MobKitError(
      'InvalidJson',
      `invalid ${what}: not valid JSON (${(error as Error).message}): ${quoteLine(text)}`,
      {
        cause: error,
        details: { line: cutLine(text) },
      },
    );
  }
}

/** Cuts a line to 200 characters for quoting in an error. */
export function cutLine(line: string, max = 200): string {
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/**
 * Quotes a line (cut to 200 characters) for an error message: wrapped in backticks, JSON left
 * readable (no escaped quotes); control characters are shown escaped so the message stays one line.
 */
export function quoteLine(line: string): string {
  let visible = '';
  for (const c of cutLine(line)) {
    const code = c.charCodeAt(0);
    visible += code < 0x20 || code === 0x7f ? JSON.stringify(c).slice(1, -1) : c;
  }
  return `\`${visible}\``;
}
