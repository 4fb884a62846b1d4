// What every answer to hostile input must be: JSON-RPC 2.0 responses with a standard error code (or a
// documented HTTP refusal), and never the run's marker inside a `result` (an echo of input).

/** The JSON-RPC 2.0 codes: parse error, invalid request, method not found, invalid params, internal error. */
const STANDARD_CODES = new Set([-32700, -32600, -32601, -32602, -32603]);
/** The implementation-defined server-error range the code table maps its domain codes into. */
const SERVER_ERROR_RANGE = { min: -32099, max: -32000 };
/** The HTTP refusals the reference app documents: bad request, forbidden (Origin/Host/scope), too large, media type. */
const HTTP_REFUSALS = new Set([400, 403, 413, 415]);

/** True for a code a JSON-RPC error may carry under the contract. */
function isAllowedCode(code: unknown): boolean {
  return (
    Number.isInteger(code) &&
    (STANDARD_CODES.has(code as number) ||
      ((code as number) >= SERVER_ERROR_RANGE.min && (code as number) <= SERVER_ERROR_RANGE.max))
  );
}

const short = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** The problems with one parsed response object (empty when it is a well-formed answer). */
function responseProblems(value: unknown, marker: string, where: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${where}: not a response object`];
  const r = value as Record<string, unknown>;
  const problems: string[] = [];
  if (r.jsonrpc !== '2.0') problems.push(`${where}: jsonrpc is ${JSON.stringify(r.jsonrpc)}`);
  const id = r.id;
  if (!(id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))))
    problems.push(`${where}: id ${short(JSON.stringify(id) ?? 'undefined')} is not a JSON-RPC id`);
  const hasResult = 'result' in r;
  const hasError = 'error' in r;
  if (hasResult === hasError) problems.push(`${where}: must hold exactly one of result and error`);
  if (hasError) {
    const error = r.error as { code?: unknown; message?: unknown } | null;
    if (error === null || typeof error !== 'object') problems.push(`${where}: error is not an object`);
    else {
      if (!isAllowedCode(error.code))
        problems.push(`${where}: error code ${String(error.code)} is not a standard code`);
      if (typeof error.message !== 'string') problems.push(`${where}: error.message is not a string`);
    }
  }
  if (hasResult && JSON.stringify(r.result).includes(marker))
    problems.push(`${where}: result echoes the input's marker: ${short(JSON.stringify(r.result))}`);
  return problems;
}

/** The problems with the text of one answer: a JSON response object, or a non-empty array of them. */
export function answerProblems(textAnswer: string, marker: string, where: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(textAnswer);
  } catch {
    return [`${where}: not JSON: ${short(textAnswer)}`];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${where}: an empty batch answer (must be no answer at all)`];
    return value.flatMap((v, i) => responseProblems(v, marker, `${where}[${i}]`));
  }
  return responseProblems(value, marker, where);
}

/** The problems with an HTTP answer to `POST /rpc`: 200 with responses, 204 with none, or a documented 4xx refusal. */
export function httpProblems(
  answer: { status: number; contentType: string; body: string; reset?: string },
  marker: string,
  sentBytes: number,
  limitBytes: number,
): string[] {
  const where = `HTTP ${answer.status}`;
  if (answer.reset !== undefined) {
    // A body far over the limit may be cut off mid-upload once the 413 is decided: that is a refusal too.
    return sentBytes > limitBytes
      ? []
      : [`the server reset the connection (${answer.reset}) on a ${sentBytes}-byte body`];
  }
  if (answer.status === 200) {
    const problems = answerProblems(answer.body, marker, where);
    if (!/^application\/json/.test(answer.contentType)) problems.push(`${where}: content-type ${answer.contentType}`);
    return problems;
  }
  if (answer.status === 204) return answer.body === '' ? [] : [`${where}: a body on 204: ${short(answer.body)}`];
  if (!HTTP_REFUSALS.has(answer.status)) return [`${where}: not a documented answer; body ${short(answer.body)}`];
  try {
    JSON.parse(answer.body);
  } catch {
    return [`${where}: the refusal's body is not JSON: ${short(answer.body)}`];
  }
  if (answer.body.includes(marker) && /"result"/.test(answer.body)) return [`${where}: a refusal echoes the marker`];
  return [];
}

export { short };
