import { readFileSync, readdirSync } from 'node:fs';

interface ProcStat {
  state: string;
  pgid: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) S ppid pgrp …" — comm may hold spaces and parentheses, so cut at the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0] ?? '';
  const pgid = Number(fields[2]);
  return { state, pgid };
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat', 'utf8');
    return true;
  } catch {
    return false;
  }
})();

/**
 * True when the process `pid` is alive. A zombie (state `Z` in `/proc/<pid>/stat`: exited but not
 * yet reaped, which happens to orphans on machines whose PID 1 does not reap) counts as gone, even
 * though `kill -0` still succeeds on it.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!hasProc) return true;
  const stat = readStat(pid);
  if (stat === undefined) return false;
  return stat.state !== 'Z' && stat.state !== 'X';
}

/**
 * Live (non-zombie) processes whose process group is `pgid`, read from `/proc`. Empty where `/proc`
 * is missing. Used to find a module's own children before and after stopping it.
 */
export function liveGroupMembers(pgid: number): number[] {
  if (!hasProc || !Number.isInteger(pgid) || pgid <= 0) return [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    const stat = readStat(pid);
    if (stat && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') out.push(pid);
  }
  return out;
}

/** Sends `signal` to the whole process group `pgid` (falling back to the leader alone); never throws. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    try {
      process.kill(pgid, signal);
      return true;
    } catch {
      return false;
    }
  }
}
