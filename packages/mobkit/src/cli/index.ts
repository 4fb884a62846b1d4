/**
 * mobkit/cli — the `mobkit` command line and its persistent stdio gateway, for embedding (the
 * `mobkit` bin runs {@link runCli}). The gateway serves HTTP through `mobkit/http`, so this subpath
 * loads Express; the root entry (`mobkit`) loads neither.
 * @packageDocumentation
 */
export { runCli } from './run.js';
export { runGateway, FALLBACK_MOB_TOML, type GatewayOptions, type GatewayResult } from './gateway.js';
