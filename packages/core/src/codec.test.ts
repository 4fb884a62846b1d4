import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { wireCodec, wireEncoder } from './codec.js';
import { ModuleConfigSchema, moduleConfigToWire, parseRuntimeOptions, runtimeOptionsToWire } from './config.js';
import { EventEnvelopeSchema, eventEnvelopeToWire } from './events.js';

describe('wire codecs', () => {
  it('decode and encode are the two directions of one mapping', () => {
    const Point = wireCodec(z.object({ x_pos: z.number(), y_pos: z.number().default(0) }), {
      decode: (w) => ({ xPos: w.x_pos, yPos: w.y_pos }),
      encode: (p) => ({ x_pos: p.xPos, y_pos: p.yPos }),
    });
    const point = Point.parse({ x_pos: 3 });
    expect(point).toEqual({ xPos: 3, yPos: 0 });
    expect(wireEncoder(Point)(point)).toEqual({ x_pos: 3, y_pos: 0 });
  });

  it('validates what it encodes against the wire schema', () => {
    expect(() => moduleConfigToWire({ id: '  ', command: 'node', args: [], restartPolicy: 'never' })).toThrow(
      /id must not be blank/,
    );
  });

  it('round-trips every core shape', () => {
    const module = { id: 'router', command: 'node', args: ['r.js'], restart_policy: 'on_failure' };
    expect(moduleConfigToWire(ModuleConfigSchema.parse(module))).toEqual(module);
    const options = { on_failure_retry_budget: 2, always_restart_budget: 1, shutdown_grace_ms: 10 };
    expect(runtimeOptionsToWire(parseRuntimeOptions(options))).toEqual({
      ...options,
      supervisor_restart_backoff_ms: 0,
      supervisor_test_force_terminate_failure: false,
    });
    const envelope = {
      event_id: 'e1',
      source: 'module',
      timestamp_ms: 5,
      event: { kind: 'module', module: 'm', event_type: 't', payload: null },
    };
    expect(eventEnvelopeToWire(EventEnvelopeSchema.parse(envelope))).toEqual(envelope);
  });
});
