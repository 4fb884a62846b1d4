import type { Readable } from 'node:stream';

/** One line of a {@link boundedLines} stream: its text, or the fact that it was longer than allowed. */
export type BoundedLine = { text: string } | { tooLarge: true };

/**
 * Splits a byte stream into `\n`-terminated lines (a trailing `\r` is dropped), holding at most
 * `maxBytes` of one line in memory: a longer line is discarded as it arrives and reported once as
 * `{ tooLarge: true }`, so a peer cannot make the reader buffer an unbounded line (what `readline`
 * does). A last line without a newline is yielded at end of input.
 */
export async function* boundedLines(input: Readable, maxBytes: number): AsyncGenerator<BoundedLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let oversized = false;
  const finish = (): BoundedLine => {
    const line: BoundedLine = oversized ? { tooLarge: true } : { text: decodeLine(Buffer.concat(parts, size)) };
    parts = [];
    size = 0;
    oversized = false;
    return line;
  };
  for await (const chunk of input) {
    const bytes: Buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (let newline = bytes.indexOf(0x0a, start); newline !== -1; newline = bytes.indexOf(0x0a, start)) {
      append(bytes.subarray(start, newline));
      yield finish();
      start = newline + 1;
    }
    append(bytes.subarray(start));
  }
  if (oversized || size > 0) yield finish();

  function append(piece: Buffer): void {
    if (oversized || piece.length === 0) return;
    // One byte of slack for the `\r` of a CRLF line, which is not part of the message.
    if (size + piece.length > maxBytes + 1) {
      oversized = true;
      parts = [];
      size = 0;
      return;
    }
    parts.push(piece);
    size += piece.length;
  }
}

function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}
