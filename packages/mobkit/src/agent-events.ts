import type { MobEvent } from '@mobkit/mob-adapter';

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * An agent event payload in the original's snake_case wire form (`sessionId` → `session_id`,
 * `usage.inputTokens` → `usage.input_tokens`); tool `args` and `result` are kept as they are.
 */
export function agentEventPayloadToWire(
  payload: Extract<MobEvent, { kind: 'agent' }>['event'],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'usage' && value && typeof value === 'object') {
      out.usage = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [snake(k), v]));
    } else {
      out[snake(key)] = value;
    }
  }
  return out;
}
