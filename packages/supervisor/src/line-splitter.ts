/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line: a
 * longer line is reported once through `onOverflow` (with its first 200 bytes) and discarded up to
 * its newline. This keeps a module that floods stdout without newlines from exhausting memory.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly maxLineBytes: number,
    /** Called for each complete line (without `\n` / `\r\n`). */
    public onLine: (line: string) => void,
    /** Called once for each line that exceeded `maxLineBytes`. */
    public onOverflow: (head: string, limitBytes: number) => void,
  ) {}

  /** Feeds a chunk of the stream. */
  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      if (nl === -1) {
        this.append(buf.subarray(start));
        return;
      }
      this.append(buf.subarray(start, nl));
      this.flush();
      start = nl + 1;
    }
  }

  /** The unterminated rest of the stream, if any (call at end of stream). */
  rest(): string | undefined {
    if (this.discarding || this.size === 0) return undefined;
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.size = 0;
    return text.replace(/\r$/, '');
  }

  private append(buf: Buffer): void {
    if (this.discarding || buf.length === 0) return;
    if (this.size + buf.length > this.maxLineBytes) {
      const head = Buffer.concat([...this.parts, buf.subarray(0, 200)])
        .subarray(0, 200)
        .toString('utf8');
      this.parts = [];
      this.size = 0;
      this.discarding = true;
      this.onOverflow(head, this.maxLineBytes);
      return;
    }
    this.parts.push(buf);
    this.size += buf.length;
  }

  private flush(): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    const first = this.parts[0];
    const line =
      this.parts.length === 0
        ? ''
        : this.parts.length === 1 && first
          ? first.toString('utf8')
          : Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
