import { type ModuleConfig, RestartPolicySchema } from './config.js';
import { MobKitError } from './errors/error.js';
import { describeType } from './schema.js';
import { parseTomlText } from './toml.js';

/**
 * Loads the trust manifest (`mobkit.toml`): `[[modules]]` tables with `id`, `command`,
 * `args = []` and `restart_policy` (default `on_failure`). A syntax error names line and column
 * (`InvalidToml`); a missing `id` or `command` names the module's index (`MissingModuleId`,
 * `MissingModuleCommand`); other bad values name the field (`InvalidConfig`).
 */
export function loadTrustedModulesFromToml(text: string): ModuleConfig[] {
  const doc = parseTomlText(text, 'trust manifest');
  const raw = doc.modules;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    throw new MobKitError(
      'InvalidConfig',
      `trust manifest: "modules" must be an array of [[modules]] tables, got ${describeType(raw)}`,
      {
        details: { field: 'modules' },
      },
    );
  }
  const seen = new Set<string>();
  return raw.map((entry, index): ModuleConfig => {
    const where = `modules[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new MobKitError('InvalidConfig', `trust manifest: ${where} must be a table`, {
        details: { field: where, index },
      });
    }
    const table = entry as Record<string, unknown>;
    const id = typeof table.id === 'string' ? table.id.trim() : '';
    if (id === '') {
      throw new MobKitError(
        'MissingModuleId',
        `trust manifest: ${where}.id is required (a non-blank string naming the module)`,
        {
          details: { field: `${where}.id`, index },
        },
      );
    }
    const command = typeof table.command === 'string' ? table.command.trim() : '';
    if (command === '') {
      throw new MobKitError(
        'MissingModuleCommand',
        `trust manifest: ${where}.command is required for module "${id}" (the executable to run)`,
        {
          details: { field: `${where}.command`, index, moduleId: id },
        },
      );
    }
    if (seen.has(id)) {
      throw new MobKitError(
        'InvalidConfig',
        `trust manifest: ${where}.id "${id}" is listed twice; module ids must be unique`,
        {
          details: { field: `${where}.id`, index, moduleId: id },
        },
      );
    }
    seen.add(id);
    const args = table.args ?? [];
    if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
      throw new MobKitError('InvalidConfig', `trust manifest: ${where}.args must be an array of strings`, {
        details: { field: `${where}.args`, index },
      });
    }
    const policy = RestartPolicySchema.safeParse(table.restart_policy ?? 'on_failure');
    if (!policy.success) {
      throw new MobKitError(
        'InvalidConfig',
        `trust manifest: ${where}.restart_policy: expected one of never, on_failure, always, got ${JSON.stringify(table.restart_policy)}`,
        { details: { field: `${where}.restart_policy`, index } },
      );
    }
    return { id, command, args: args as string[], restartPolicy: policy.data };
  });
}
