import type { ErrorCodeInfo } from './types.js';

/** Codes raised by @mobkit/core: parsing, schemas, the module protocol, JSON-RPC framing, config. */
export const coreErrorCodes = {
  InvalidJson: { rpc: -32700, http: 400, summary: 'text is not valid JSON' },
  InvalidSchema: { rpc: -32602, http: 400, summary: 'JSON does not have the expected shape' },
  MissingField: { rpc: -32602, http: 400, summary: 'a required field is absent' },
  InvalidFieldType: { rpc: -32602, http: 400, summary: 'a field has the wrong type' },
  SourceMismatch: { rpc: -32602, http: 400, summary: 'an event envelope source does not match its event kind' },
  UnexpectedEventKind: { rpc: -32602, http: 400, summary: 'an agent event arrived where a module event was expected' },
  UnexpectedPayloadType: {
    rpc: -32602,
    http: 400,
    summary: 'a module event has another event_type or payload shape than expected',
  },
  InvalidConfig: { rpc: -32602, http: 400, summary: 'a configuration value is invalid' },
  InvalidToml: { rpc: -32602, http: 400, summary: 'TOML text does not parse' },
  MissingContractVersion: { rpc: -32602, http: 400, summary: 'a capabilities line has no contract_version' },
  InvalidContractVersion: { rpc: -32602, http: 400, summary: 'contract_version is not a non-blank string' },
  MissingModuleId: { rpc: -32602, http: 400, summary: 'a trust manifest module has no id' },
  MissingModuleCommand: { rpc: -32602, http: 400, summary: 'a trust manifest module has no command' },
  InvalidInput: { rpc: -32602, http: 400, summary: 'an argument is invalid' },
  RpcParseError: { rpc: -32700, http: 400, summary: 'a JSON-RPC message is not valid JSON' },
  RpcInvalidRequest: { rpc: -32600, http: 400, summary: 'a JSON-RPC message is not a valid request' },
  RpcMethodNotFound: { rpc: -32601, http: 404, summary: 'no such JSON-RPC method' },
  RpcInvalidParams: { rpc: -32602, http: 400, summary: 'JSON-RPC params are invalid' },
  RpcMessageTooLarge: { rpc: -32600, http: 413, summary: 'a JSON-RPC message is larger than the framing byte limit' },
  RpcNestingTooDeep: { rpc: -32600, http: 400, summary: 'a JSON-RPC request nests deeper than the framing limit' },
  RpcParamsTooDeep: { rpc: -32602, http: 400, summary: 'JSON-RPC params nest deeper than the framing limit' },
  RpcResponseUnserializable: {
    rpc: -32603,
    http: 500,
    summary: 'a JSON-RPC result or error could not be serialized (cyclic, too deep, a bigint…)',
  },
  Aborted: { rpc: -32603, http: 503, summary: 'a wait was cancelled through its AbortSignal' },
  Internal: { rpc: -32603, http: 500, summary: 'an unexpected internal failure' },
} as const satisfies Record<string, ErrorCodeInfo>;
