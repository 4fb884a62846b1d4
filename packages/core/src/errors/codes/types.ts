/** How one error code maps onto the two wire surfaces: JSON-RPC and HTTP. */
export interface ErrorCodeInfo {
  /** JSON-RPC 2.0 error number (`error.code`). */
  readonly rpc: number;
  /** HTTP status used by the reference app when this error reaches an HTTP client. */
  readonly http: number;
  /** One line on what the code means. */
  readonly summary: string;
}
