import { ManualClock } from '@mobkit/core';
import { describeStoreConformance } from '../src/testing/index.js';
import { createMemoryStore } from '../src/index.js';

const clock = new ManualClock(1_700_000_000_000);

describeStoreConformance('memory store', {
  open: async () => createMemoryStore({ clock }),
  clock,
  skipReasons: {
    reopen: 'an in-memory store keeps nothing once closed',
    child: 'an in-memory store lives in one process',
  },
});
