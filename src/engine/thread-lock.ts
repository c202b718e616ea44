import { postgresUrl } from "../pg-url.ts";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";

/**
 * One run per thread at a time: concurrent runs on the same `thread_id` would interleave their
 * checkpoints silently. With the SQLite checkpointer (the default) the lock is a file under
 * `<home>/locks/`; with Postgres it is a session advisory lock held on a dedicated connection.
 */
export interface ThreadLock {
  /** Gives the lock up; safe to call more than once. */
  release(): Promise<void>;
}

/** Who holds a busy thread, as far as can be told. */
export interface LockHolder {
  pid?: number;
  startedAt?: string;
  /** Where the lock lives: the lock file, or "postgres". */
  where?: string;
}

export class ThreadBusyError extends Error {
  readonly code = "THREAD_BUSY";
  constructor(
    readonly threadId: string,
    readonly holder: LockHolder,
  ) {
    super(`thread "${threadId}" is already running (${holderText(holder)}); wait for it or use another --thread`);
    this.name = "ThreadBusyError";
  }
}

export function isThreadBusyError(error: unknown): error is ThreadBusyError {
  return error instanceof ThreadBusyError;
}

export interface LockOptions {
  /** State dir: file locks live in `<home>/locks/`. */
  home: string;
  /** The checkpointer URL: `postgres://…` (or `postgres:…`) locks in Postgres; anything else uses files. */
  url?: string;
}

/** Takes the run lock of a thread, or throws ThreadBusyError naming the holder. */
export async function acquireThreadLock(options: LockOptions, threadId: string): Promise<ThreadLock> {
  const url = postgresUrl(options.url);
  return url ? acquirePostgresLock(url, threadId) : acquireFileLock(options.home, threadId);
}

function holderText(holder: LockHolder): string {
  if (holder.pid === undefined) return `held by another process${holder.where ? `, lock in ${holder.where}` : ""}`;
  const since = holder.startedAt ? `, started ${holder.startedAt}` : "";
  return `pid ${holder.pid}${since}${holder.where ? `, lock in ${holder.where}` : ""}`;
}

// ── File locks ────────────────────────────────────────────────────────────────────────────────

interface LockContent {
  pid?: number;
  startedAt?: string;
  token?: string;
}

/** How often a stale lock may be taken over before giving up (another process keeps winning). */
const MAX_TAKEOVERS = 3;

/** Lock files this process holds (file → token), removed if the process exits without releasing. */
const held = new Map<string, string>();
let exitHookInstalled = false;

export function lockFilePath(home: string, threadId: string): string {
  const safe = threadId.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64);
  const digest = createHash("sha256").update(threadId).digest("hex").slice(0, 12);
  return path.join(home, "locks", `${safe}-${digest}.lock`);
}

async function acquireFileLock(home: string, threadId: string): Promise<ThreadLock> {
  const file = lockFilePath(home, threadId);
  await mkdir(path.dirname(file), { recursive: true });
  const token = randomUUID();
  const content = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), threadId, token });
  for (let attempt = 0; attempt <= MAX_TAKEOVERS; attempt++) {
    if (await createExclusive(file, content, token)) return fileLock(file, token);
    const raw = await readFile(file, "utf8").catch(() => undefined);
    if (raw === undefined) continue;
    const holder = parseContent(raw);
    if (isAlive(holder.pid)) throw new ThreadBusyError(threadId, { pid: holder.pid, startedAt: holder.startedAt, where: file });
    await removeStale(file, raw);
  }
  throw new ThreadBusyError(threadId, { where: file });
}

/**
 * Creates the lock file with its full content, or returns false when it exists: the content is
 * written to a temp file (opened with `wx`) and hard-linked into place, so nobody ever reads a
 * half-written lock.
 */
async function createExclusive(file: string, content: string, token: string): Promise<boolean> {
  const temp = `${file}.${token}.tmp`;
  await writeFile(temp, content, { flag: "wx", mode: 0o600 });
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/**
 * Moves a lock judged stale out of the way. The move is atomic; if what was moved is not the
 * stale lock that was read (its owner died and another process took it meanwhile), it is put back.
 */
async function removeStale(file: string, staleRaw: string): Promise<void> {
  const aside = `${file}.${randomUUID()}.stale`;
  try {
    await rename(file, aside);
  } catch {
    return;
  }
  const moved = await readFile(aside, "utf8").catch(() => staleRaw);
  if (moved !== staleRaw) await link(aside, file).catch(() => {});
  await unlink(aside).catch(() => {});
}

function fileLock(file: string, token: string): ThreadLock {
  held.set(file, token);
  installExitHook();
  return {
    async release() {
      if (held.get(file) !== token) return;
      held.delete(file);
      const raw = await readFile(file, "utf8").catch(() => "");
      if (parseContent(raw).token === token) await unlink(file).catch(() => {});
    },
  };
}

/** A process that exits (Ctrl-C twice, process.exit) without releasing removes its own lock files. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [file, token] of held) {
      try {
        if (parseContent(readFileSync(file, "utf8")).token === token) unlinkSync(file);
      } catch {
        // Already gone: nothing to clean up.
      }
    }
  });
}

function parseContent(raw: string): LockContent {
  try {
    const data = JSON.parse(raw) as Record<string, unknown>;
    return {
      pid: typeof data["pid"] === "number" ? data["pid"] : undefined,
      startedAt: typeof data["startedAt"] === "string" ? data["startedAt"] : undefined,
      token: typeof data["token"] === "string" ? data["token"] : undefined,
    };
  } catch {
    return {};
  }
}

/** A lock without a readable pid was not written by this code: treated as stale. */
function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ── Postgres advisory locks ───────────────────────────────────────────────────────────────────

async function acquirePostgresLock(url: string, threadId: string): Promise<ThreadLock> {
  const key = advisoryKey(threadId);
  // The driver loads only for a Postgres checkpointer (a SQLite one never needs it).
  const { default: pgDriver } = await import("pg");
  const client = new pgDriver.Client({ connectionString: url, application_name: `credit-optimizer pid=${process.pid}` });
  // A dropped connection frees the lock on the server; there is nothing else to do about it here.
  client.on("error", () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS locked", [key.toString()]);
    if (rows[0]?.locked !== true) throw new ThreadBusyError(threadId, await advisoryHolder(client, key));
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query("SELECT pg_advisory_unlock($1::bigint)", [key.toString()]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

/** A signed 64-bit key from the thread id (advisory locks take a bigint). */
function advisoryKey(threadId: string): bigint {
  return createHash("sha256").update(`credit-optimizer thread ${threadId}`).digest().readBigInt64BE(0);
}

/** The session holding the advisory lock: its client's pid (from application_name) and start time. */
async function advisoryHolder(client: pg.Client, key: bigint): Promise<LockHolder> {
  const unsigned = BigInt.asUintN(64, key);
  const { rows } = await client.query<{ application_name: string | null; backend_start: Date | null }>(
    `SELECT a.application_name, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.classid = $1::oid AND l.objid = $2::oid AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()],
  );
  const row = rows[0];
  const pid = /pid=(\d+)/.exec(row?.application_name ?? "")?.[1];
  return { pid: pid === undefined ? undefined : Number(pid), startedAt: row?.backend_start?.toISOString(), where: "postgres" };
}
