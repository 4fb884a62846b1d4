import { describe, expect, it } from 'vitest';
import { prettyLogging } from './log.js';

describe('log format', () => {
  it('is pretty on a terminal and JSON otherwise, unless LOG_FORMAT says', () => {
    expect(prettyLogging({}, true)).toBe(true);
    expect(prettyLogging({}, false)).toBe(false);
    expect(prettyLogging({ LOG_FORMAT: 'json' }, true)).toBe(false);
    expect(prettyLogging({ LOG_FORMAT: ' Pretty ' }, false)).toBe(true);
  });
});
