import { cutLine } from '@mobkit/core';
/**
 * A bounded ring of a module's most recent stderr lines. Modules may write any amount to stderr;
 * only the last `maxLines` lines (each cut to `maxLineChars`) are kept, so memory stays bounded
 * while every failure about the module can still quote what it said last.
 */
export class StderrRing {
  private readonly lines: string[] = [];
  private partial = '';
  private dropped = 0;

  constructor(
    private readonly maxLines = 40,
    private readonly maxLineChars = 400,
  ) {}

  /** Appends a chunk of stderr output (text or bytes). */
  push(chunk: string | Uint8Array): void {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const parts = (this.partial + text).split('\n');
    this.partial = this.cut(parts.pop() ?? '');
    for (const part of parts) this.add(part.replace(/\r$/, ''));
  }

  /** The kept lines, oldest first, including an unfinished last line. */
  snapshot(): string[] {
    return this.partial === '' ? [...this.lines] : [...this.lines, this.partial];
  }

  /** The last `n` kept lines joined with newlines ('' when the module wrote nothing). */
  tail(n = 10): string {
    return this.snapshot().slice(-n).join('\n');
  }

  /** How many lines fell out of the ring. */
  get droppedLines(): number {
    return this.dropped;
  }

  private add(line: string): void {
    this.lines.push(this.cut(line));
    if (this.lines.length > this.maxLines) {
      this.lines.shift();
      this.dropped += 1;
    }
  }

  private cut(line: string): string {
    return cutLine(line, this.maxLineChars);
  }
}
