import type { LedgerEntry } from './ledger.js';

/** What a ledger file's text holds, and what must be repaired before anything is appended to it. */
export interface ParsedLedger {
  entries: LedgerEntry[];
  /** Byte length of the whole lines kept before a torn last line (the file is cut to this). */
  goodBytes: number;
  /** A torn last line (a crash mid-write) was found. */
  tornLast: boolean;
  /** Torn fragments glued in front of a later complete line (an older writer appended after a failed write). */
  tornFragments: number;
  /** 1-based number of the first line that is neither an entry nor a fragment plus an entry, if any. */
  corruptLine?: number;
}

/** True for an object with a known ledger `kind`. */
function isEntry(value: unknown): value is LedgerEntry {
  if (value === null || typeof value !== 'object') return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'begin' || kind === 'record';
}

function parseEntry(text: string): LedgerEntry | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isEntry(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The entry at the end of a line that starts with a torn fragment: every line is
 * `JSON.stringify(entry)` and so starts with `{"kind":"`; the first such start after the line's
 * beginning whose rest parses as an entry is the complete line the fragment was glued to.
 */
function salvage(line: string): LedgerEntry | undefined {
  for (let at = line.indexOf('{"kind":"', 1); at > 0; at = line.indexOf('{"kind":"', at + 1)) {
    const entry = parseEntry(line.slice(at));
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** Reads a ledger file's text line by line (see {@link ParsedLedger}). */
export function parseLedgerText(text: string): ParsedLedger {
  const result: ParsedLedger = { entries: [], goodBytes: 0, tornLast: false, tornFragments: 0 };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') {
      if (i < lines.length - 1) result.goodBytes += Buffer.byteLength(line) + 1;
      continue;
    }
    const entry = parseEntry(line);
    const salvaged = entry ?? salvage(line);
    if (salvaged === undefined) {
      // Only the last line can be torn by a crash (no newline after it yet); it is cut off.
      if (lines.slice(i + 1).every((l) => l.trim() === '')) result.tornLast = true;
      else result.corruptLine = i + 1;
      break;
    }
    if (entry === undefined) result.tornFragments++;
    result.entries.push(salvaged);
    result.goodBytes += Buffer.byteLength(line) + 1;
  }
  return result;
}
