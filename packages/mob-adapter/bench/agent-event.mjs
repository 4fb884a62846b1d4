#!/usr/bin/env node
// Benchmark (not a test): the cost of core's agent-event codec on the per-event SSE path. Every agent
// event goes to every SSE subscriber once encoded, so encode runs once per event. Compares the key-map
// encoder (`agentEventPayloadToWire`) with `z.encode` of the same codec, and the generic camel→snake
// walk mobkit's surface used before; also times the decode that the rkat-rpc stream runs per event.
// Run after a build: `node packages/mob-adapter/bench/agent-event.mjs` (imports @mobkit/core's dist).
import { performance } from 'node:perf_hooks';
import { AgentEventPayloadCodec, agentEventPayloadFromWire, agentEventPayloadToWire } from '@mobkit/core';
import { z } from 'zod';

const usage = { inputTokens: 120, outputTokens: 42 };
// A run's mix: mostly text deltas, a tool call, the turn and run bookends.
const EVENTS = [
  { type: 'run_started', sessionId: 'b1c9', prompt: 'Summarise the ticket' },
  { type: 'turn_started', turnNumber: 1 },
  ...Array.from({ length: 12 }, (_, i) => ({ type: 'text_delta', delta: `chunk ${i} ` })),
  { type: 'tool_call_requested', id: 't1', name: 'search', args: { query: 'ticket 42', limit: 5 } },
  { type: 'tool_execution_completed', id: 't1', name: 'search', result: '{"hits":3}', isError: false, durationMs: 12 },
  { type: 'text_complete', content: 'chunk 0 chunk 1' },
  { type: 'turn_completed', stopReason: 'end_turn', usage },
  { type: 'run_completed', sessionId: 'b1c9', result: 'done', usage },
];

const snake = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** mobkit's surface encoder before the codec (the baseline). */
function genericWalk(payload) {
  const out = {};
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'usage' && value && typeof value === 'object')
      out.usage = Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), v]));
    else out[snake(key)] = value;
  }
  return out;
}

function perEventMicros(fn, inputs, minMs = 400) {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink ^= Object.keys(fn(inputs[i % inputs.length])).length; // warm up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    for (let i = 0; i < 1_000; i++) sink ^= Object.keys(fn(inputs[(n + i) % inputs.length])).length;
    n += 1_000;
  }
  const micros = ((performance.now() - start) * 1_000) / n;
  if (sink === -1) console.log(sink);
  return micros;
}

const wire = EVENTS.map((e) => agentEventPayloadToWire(e));
const rows = [
  ['encode: agentEventPayloadToWire (key map)', perEventMicros(agentEventPayloadToWire, EVENTS)],
  ['encode: z.encode(AgentEventPayloadCodec)', perEventMicros((e) => z.encode(AgentEventPayloadCodec, e), EVENTS)],
  ['encode: generic camel→snake walk (before)', perEventMicros(genericWalk, EVENTS)],
  ['decode: agentEventPayloadFromWire', perEventMicros((w) => agentEventPayloadFromWire(w, 's'), wire)],
];
const target = 2;
for (const [name, micros] of rows) console.log(`${name.padEnd(46)} ${micros.toFixed(3).padStart(8)} µs/event`);
const keyMap = rows[0][1];
console.log(
  `key-map encode ${keyMap < target ? 'PASS' : 'MISS'} (target < ${target} µs/event); z.encode costs ${(rows[1][1] / keyMap).toFixed(1)}× the key map`,
);
