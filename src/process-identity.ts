import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Who a process is, well enough for another process on the same machine to tell whether it still
 * runs: the pid alone is not enough, because a pid is reused after its process dies.
 */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** Start time in clock ticks since boot (from /proc); undefined where there is no /proc. */
  start?: string;
}

/** This process's identity. */
export function currentProcess(): ProcessIdentity {
  const start = processStartTime(process.pid);
  return start === undefined ? { host: hostname(), pid: process.pid } : { host: hostname(), pid: process.pid, start };
}

/** Field 22 of `/proc/<pid>/stat` (read synchronously so it can run inside a SQLite transaction). */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.[19];
}

/**
 * Whether the process is still alive, judged from this machine. Another host's process cannot be
 * checked: it counts as alive (the caller decides how long to trust that).
 */
export function isProcessAlive(identity: ProcessIdentity): boolean {
  if (identity.host !== hostname()) return true;
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = readStat(identity.pid);
  // No /proc entry although the signal went through: cannot tell, so alive.
  if (stat === undefined) return true;
  // A zombie has died; only its exit status waits for its parent.
  if (stat[0] === "Z") return false;
  return identity.start === undefined || stat[19] === identity.start;
}

/** The fields of `/proc/<pid>/stat` after the command name (state first). */
function readStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}
