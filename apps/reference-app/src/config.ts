import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AppConfig, type AppStoreOverrides, loadAppConfig as loadConfigDir } from 'mobkit';

export { displayPath, type AppConfig } from 'mobkit';

/** The example config shipped with the app (`apps/reference-app/config`). */
export const DEFAULT_CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'config');

/**
 * Reads and checks a config directory (default: the app's example config) with mobkit's loader, the
 * one `mobkit validate` shares; every problem names the file and the key path. `storeOverrides`:
 * `DATABASE_URL` and `--ephemeral`, which win over `[store]` of mobkit.toml.
 */
export function loadAppConfig(
  configDir: string = DEFAULT_CONFIG_DIR,
  storeOverrides: AppStoreOverrides = {},
): AppConfig {
  return loadConfigDir(configDir, storeOverrides);
}
