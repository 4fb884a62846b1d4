import { MobKitError } from '@mobkit/core';

/**
 * Refuses a database written by a newer schema than this build knows: `StoreSchemaTooNew`, naming both
 * versions and where the store is. Every adapter calls it at open, before running its migrations.
 */
export function assertSchemaVersion(found: number, known: number, location: string): void {
  if (found > known) {
    throw new MobKitError(
      'StoreSchemaTooNew',
      `the store at ${location} has schema version ${found}, but this MobKit knows versions up to ${known}; upgrade MobKit (or open a backup written by this version)`,
      { details: { location, foundVersion: found, knownVersion: known } },
    );
  }
}
