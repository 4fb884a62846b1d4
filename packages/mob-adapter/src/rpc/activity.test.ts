import { describe, expect, it } from 'vitest';
import { RunActivity } from './activity.js';

describe('RunActivity', () => {
  it('is idle once the run a send started has completed, even when run_started beat the send answer', () => {
    const activity = new RunActivity();
    activity.sent('w'); // marked before the request goes out
    activity.observe('w', 'run_started'); // the stream can deliver this before the send's answer
    expect(activity.busy('w')).toBe(true);
    activity.observe('w', 'run_completed');
    expect(activity.busy('w')).toBe(false);
  });

  it('stays busy from a send until its run starts and ends; a refused send leaves nothing pending', () => {
    const activity = new RunActivity();
    activity.sent('w');
    expect(activity.busy('w')).toBe(true);
    activity.unsent('w');
    expect(activity.busy('w')).toBe(false);
    activity.sent('w');
    activity.observe('w', 'run_started');
    activity.observe('w', 'run_failed');
    expect(activity.busy('w')).toBe(false);
  });
});
