/**
 * The live feed's one-line summaries of agent events (wire payloads, snake_case), kept apart from the
 * page so they are tested without a browser.
 */

/**
 * A tool event's summary: the tool's `name`; for `tool_execution_completed` its `duration_ms` and
 * `error` when `is_error`; then the MCP `server` or supervised `module` it belongs to, when given
 * (`toolbox.lookup · 12 ms · error · crm`).
 */
function summarizeTool(
  type: 'tool_call_requested' | 'tool_execution_completed',
  payload: Record<string, unknown>,
): string {
  const text = (k: string) =>
    typeof payload[k] === 'string' && payload[k] !== '' ? (payload[k] as string) : undefined;
  const parts = [text('name') ?? ''];
  if (type === 'tool_execution_completed') {
    const ms = payload.duration_ms;
    if (typeof ms === 'number' && Number.isFinite(ms)) parts.push(`${ms} ms`);
    if (payload.is_error === true) parts.push('error');
  }
  const origin = text('server') ?? text('module');
  if (origin !== undefined) parts.push(origin);
  return parts.join(' · ');
}

/** A one-line summary of an agent event payload. */
export function summarize(type: string, payload: Record<string, unknown>): string {
  const pick = (k: string) => (typeof payload[k] === 'string' ? (payload[k] as string) : '');
  switch (type) {
    case 'text_delta':
      return pick('delta');
    case 'text_complete':
      return pick('content');
    case 'run_started':
      return pick('prompt');
    case 'run_completed':
      return pick('result');
    case 'run_failed':
      return `${pick('error_class')}: ${pick('error')}`;
    case 'tool_call_requested':
    case 'tool_execution_completed':
      return summarizeTool(type, payload);
    case 'peer_content_ingested':
      return `from ${pick('peer')}`;
    default:
      return '';
  }
}
