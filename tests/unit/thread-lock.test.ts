import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import pg from "pg";
import { acquireThreadLock, isThreadBusyError, lockFilePath, THREAD_LEASE_TABLE, ThreadBusyError, type LockOptions } from "../../src/engine/thread-lock.ts";
import { waitFor } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const MODULE = fileURLToPath(new URL("../../src/engine/thread-lock.ts", import.meta.url));
const POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** A second process that takes the lock, prints "locked", and then exits the way it is told to on stdin. */
async function holdInChild(options: LockOptions, threadId: string): Promise<ChildProcess> {
  const script = `
    const { acquireThreadLock } = await import(${JSON.stringify(MODULE)});
    const lock = await acquireThreadLock(${JSON.stringify(options)}, ${JSON.stringify(threadId)});
    process.stdout.write("locked\\n");
    process.stdin.on("data", async (d) => {
      if (String(d).startsWith("release")) await lock.release();
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes("locked") || child.exitCode !== null, 30_000, "the child to take the lock");
  expect(out).toContain("locked");
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
}

async function busy(options: LockOptions, threadId: string): Promise<ThreadBusyError> {
  const error = await acquireThreadLock(options, threadId).then(
    async (lock) => {
      await lock.release();
      return new Error("the lock was free");
    },
    (e: unknown) => e,
  );
  if (!isThreadBusyError(error)) throw error;
  return error;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await exited(child);
  return child.pid!;
}

describe("thread lock (files)", () => {
  it("refuses a second run on the same thread with a clear error, and frees the thread on release", async () => {
    const home = tempDir("co-lock-");
    const lock = await acquireThreadLock({ home }, "run-1");
    const file = lockFilePath(home, "run-1");
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const error = await busy({ home }, "run-1");
    expect(error.code).toBe("THREAD_BUSY");
    expect(error.holder.pid).toBe(process.pid);
    expect(error.message).toMatch(
      new RegExp(`^thread "run-1" is already running \\(pid ${process.pid}, started \\d{4}-\\d\\d-\\d\\dT[^,]+, lock in .+\\.lock\\); wait for it or use another --thread$`),
    );
    const other = await acquireThreadLock({ home }, "run-2");

    await lock.release();
    await lock.release();
    expect(existsSync(file)).toBe(false);
    const again = await acquireThreadLock({ home }, "run-1");
    await again.release();
    await other.release();
    expect(readdirSync(path.join(home, "locks"))).toEqual([]);
  });

  it("keeps odd thread ids inside the locks dir and apart from look-alikes", async () => {
    const home = tempDir("co-lock-");
    const a = await acquireThreadLock({ home }, "../a/b");
    const b = await acquireThreadLock({ home }, "___a_b");
    expect(path.dirname(lockFilePath(home, "../a/b"))).toBe(path.join(home, "locks"));
    expect(lockFilePath(home, "../a/b")).not.toBe(lockFilePath(home, "___a_b"));
    await a.release();
    await b.release();
  });

  it("takes over a lock whose process is gone, or that no lock writer could have written", async () => {
    const home = tempDir("co-lock-");
    const file = lockFilePath(home, "stale");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ pid: await deadPid(), startedAt: "2026-01-01T00:00:00.000Z", token: "old" }));
    const lock = await acquireThreadLock({ home }, "stale");
    expect((await busy({ home }, "stale")).holder.pid).toBe(process.pid);
    await lock.release();

    await writeFile(file, "not json");
    const taken = await acquireThreadLock({ home }, "stale");
    await taken.release();
    expect(existsSync(file)).toBe(false);
  });

  it("another process holding the thread is named; once it is killed the thread can be taken", async () => {
    const home = tempDir("co-lock-");
    const child = await holdInChild({ home }, "shared");
    const error = await busy({ home }, "shared");
    expect(error.holder.pid).toBe(child.pid);
    expect(error.message).toContain(`is already running (pid ${child.pid}, started `);
    child.kill("SIGKILL");
    await exited(child);
    const lock = await acquireThreadLock({ home }, "shared");
    await lock.release();
  });

  it("a process that exits without releasing removes its lock file; one that releases frees the thread", async () => {
    const home = tempDir("co-lock-");
    const quitter = await holdInChild({ home }, "quit");
    quitter.stdin!.write("exit\n");
    await exited(quitter);
    expect(existsSync(lockFilePath(home, "quit"))).toBe(false);

    const polite = await holdInChild({ home }, "polite");
    polite.stdin!.write("release\n");
    await exited(polite);
    const lock = await acquireThreadLock({ home }, "polite");
    await lock.release();
  });
});

describe("thread lock (Postgres lease row)", () => {
  const home = tempDir("co-lock-pg-");

  it("refuses a second run on the same thread and frees it on release", async () => {
    const thread = `pg-${randomUUID()}`;
    const lock = await acquireThreadLock({ home, url: POSTGRES }, thread);
    const error = await busy({ home, url: `postgres:${POSTGRES}` }, thread);
    expect(error.holder).toMatchObject({ pid: process.pid, where: "postgres" });
    expect(error.message).toMatch(new RegExp(`^thread "${thread}" is already running \\(pid ${process.pid}, started .+, lock in postgres\\); wait for it or use another --thread$`));
    const other = await acquireThreadLock({ home, url: POSTGRES }, `${thread}-other`);
    await lock.release();
    await lock.release();
    const again = await acquireThreadLock({ home, url: POSTGRES }, thread);
    await again.release();
    await other.release();
    expect(existsSync(path.join(home, "locks"))).toBe(false);
  });

  it("another process holding the thread is named; once it is killed on this machine the thread is taken over at once", async () => {
    const thread = `pg-${randomUUID()}`;
    // A long lease: only the dead holder's identity can free it within this test.
    const child = await holdInChild({ home, url: POSTGRES, leaseMs: 600_000 }, thread);
    expect((await busy({ home, url: POSTGRES }, thread)).holder.pid).toBe(child.pid);
    child.kill("SIGKILL");
    await exited(child);
    const lock = await acquireThreadLock({ home, url: POSTGRES }, thread);
    await lock.release();
  });

  it("holds no connection: many held threads share the process's small pool", async () => {
    const threads = Array.from({ length: 12 }, () => `pg-${randomUUID()}`);
    const locks = await Promise.all(threads.map((t) => acquireThreadLock({ home, url: POSTGRES }, t)));
    const admin = new pg.Client({ connectionString: POSTGRES });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [`credit-optimizer pid=${process.pid}`]);
      expect(rows[0]!.n).toBeLessThanOrEqual(2);
      const held = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${THREAD_LEASE_TABLE} WHERE thread_id = ANY($1)`, [threads]);
      expect(held.rows[0]!.n).toBe(12);
      await Promise.all(locks.map((l) => l.release()));
      const left = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${THREAD_LEASE_TABLE} WHERE thread_id = ANY($1)`, [threads]);
      expect(left.rows[0]!.n).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it("a held lease is refreshed past its length; another machine's holder that stopped refreshing frees the thread when its lease expires", async () => {
    const thread = `pg-${randomUUID()}`;
    const lock = await acquireThreadLock({ home, url: POSTGRES, leaseMs: 1_500 }, thread);
    await new Promise((r) => setTimeout(r, 4_500));
    // Three lease lengths later the thread is still held: the timer kept the lease alive.
    expect((await busy({ home, url: POSTGRES }, thread)).holder.pid).toBe(process.pid);
    await lock.release();

    // A holder on another machine (its process cannot be checked from here), then its lease runs out.
    const lost = `pg-${randomUUID()}`;
    const admin = new pg.Client({ connectionString: POSTGRES });
    await admin.connect();
    try {
      await admin.query(
        `INSERT INTO ${THREAD_LEASE_TABLE} (thread_id, token, host, pid, process_start, started_at, expires_at)
         VALUES ($1, 'gone', 'another-machine', 4242, NULL, clock_timestamp(), clock_timestamp() + interval '60 seconds')`,
        [lost],
      );
      const error = await busy({ home, url: POSTGRES }, lost);
      expect(error.message).toContain("pid 4242");
      expect(error.message).toContain("host another-machine");
      await admin.query(`UPDATE ${THREAD_LEASE_TABLE} SET expires_at = clock_timestamp() - interval '1 millisecond' WHERE thread_id = $1`, [lost]);
    } finally {
      await admin.end();
    }
    const taken = await acquireThreadLock({ home, url: POSTGRES }, lost);
    await taken.release();
  });
});
