import { z } from 'zod';
import { wireCodec, wireEncoder } from './codec.js';
import { MobKitError } from './errors/error.js';
import { cutLine, describeType, parseJsonText } from './schema.js';

/** The contract version MobKit speaks on every wire (console JSON, RPC, gateway). */
export const MOBKIT_CONTRACT_VERSION = '0.2.0';

/** Most schedules accepted in one request. */
export const MAX_SCHEDULES_PER_REQUEST = 256;

/** A capabilities line: `contract_version` plus any extra keys, preserved. */
export interface RpcCapabilities {
  contractVersion: string;
  /** Every other key of the line, unchanged. */
  extra: Record<string, unknown>;
}

/** The codec between a capabilities object (`contract_version` plus any keys) and {@link RpcCapabilities}. */
export const RpcCapabilitiesSchema = wireCodec(z.looseObject({ contract_version: z.string() }), {
  decode: ({ contract_version: contractVersion, ...extra }): RpcCapabilities => ({ contractVersion, extra }),
  encode: (caps) => ({ ...caps.extra, contract_version: caps.contractVersion }),
});

/**
 * Parses an RPC capabilities line (`{"contract_version":"0.2.0", …}`). Requires a non-blank string
 * `contract_version` (`MissingContractVersion` / `InvalidContractVersion`) and keeps extra keys.
 */
export function parseRpcCapabilities(line: string): RpcCapabilities {
  const value = parseJsonText(line.trim(), 'capabilities line');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MobKitError('InvalidSchema', `capabilities line must be a JSON object, got ${describeType(value)}`, {
      details: { line: cutLine(line) },
    });
  }
  const version = (value as Record<string, unknown>).contract_version;
  if (version === undefined) {
    throw new MobKitError(
      'MissingContractVersion',
      'capabilities line has no "contract_version"; add it, e.g. "0.2.0"',
      {
        details: { field: 'contract_version' },
      },
    );
  }
  if (typeof version !== 'string' || version.trim() === '') {
    throw new MobKitError(
      'InvalidContractVersion',
      `capabilities "contract_version" must be a non-blank string, got ${JSON.stringify(version)}`,
      {
        details: { field: 'contract_version' },
      },
    );
  }
  return RpcCapabilitiesSchema.parse(value);
}

/** Converts {@link RpcCapabilities} back to its wire object. */
export const rpcCapabilitiesToWire: (caps: RpcCapabilities) => Record<string, unknown> =
  wireEncoder(RpcCapabilitiesSchema);
