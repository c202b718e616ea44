import { readFile, rm, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { isRunning, startTime } from "./processes-launch.ts";

/**
 * Takes a lock file, or returns false when a live process holds it. The lock names the holder's
 * pid and start time, so a pid reused by another process after a crash does not keep it.
 */
export async function takeLock(file: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid} ${(await startTime(process.pid)) ?? ""}`, { flag: "wx", mode: 0o600 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder: string;
      try {
        holder = await readFile(file, "utf8");
      } catch (readError) {
        if ((readError as NodeJS.ErrnoException).code === "ENOENT") continue; // released in between
        throw readError;
      }
      const [pid, started] = holder.split(" ");
      if (await isRunning(Number(pid), started || undefined)) return false;
      await rm(file, { force: true });
    }
  }
  return false;
}

/** Runs `fn` holding the lock file, waiting (up to `timeoutMs`) while another live process holds it. */
export async function withLock<T>(file: string, timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (!(await takeLock(file))) {
    if (Date.now() >= deadline) throw new Error(`${what}: another process held ${file} for more than ${timeoutMs / 1000} s`);
    await sleep(50);
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}
