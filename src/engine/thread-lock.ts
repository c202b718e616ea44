import { createTableOnce } from "../pg-advisory.ts";
import { postgresUrl } from "../pg-url.ts";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";
import { currentProcess, isProcessAlive } from "../process-identity.ts";

/**
 * One run per thread at a time: concurrent runs on the same `thread_id` would interleave their
 * checkpoints silently. With the SQLite checkpointer (the default) the lock is a file under
 * `<home>/locks/`; with Postgres it is a lease row that expires unless its holder refreshes it.
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
  /** Postgres: a holder that stops refreshing its lease (it died) frees the thread after this long (default 15 s). */
  leaseMs?: number;
}

/** Takes the run lock of a thread, or throws ThreadBusyError naming the holder. */
export async function acquireThreadLock(options: LockOptions, threadId: string): Promise<ThreadLock> {
  const url = postgresUrl(options.url);
  return url ? acquirePostgresLock(url, threadId, options.leaseMs ?? DEFAULT_LEASE_MS) : acquireFileLock(options.home, threadId);
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

// ── Postgres lease rows ───────────────────────────────────────────────────────────────────────

/**
 * On Postgres a thread's lock is a lease row: taken with one `INSERT … ON CONFLICT` that wins only
 * when the thread has no row or its lease has expired, refreshed by a timer while held, deleted on
 * release. It holds no connection (a session advisory lock held one per run, so workers × runs
 * exhausted `max_connections`): the statements share a small pool per database.
 *
 * A holder that dies stops refreshing, so its lease expires after `leaseMs` (times are the server's,
 * so machines' clocks do not matter). One that died on *this* machine (its pid and start time are
 * gone: src/process-identity.ts) is taken over at once, as a stale lock file is.
 */
export const THREAD_LEASE_TABLE = "credit_optimizer_thread_leases";
const DEFAULT_LEASE_MS = 15_000;

const pools = new Map<string, Promise<pg.Pool>>();

/** One small pool per database for every lease of this process; idle, it closes its connections and lets the process exit. */
function leasePool(url: string): Promise<pg.Pool> {
  let pool = pools.get(url);
  if (!pool) {
    pool = openLeasePool(url);
    pools.set(url, pool);
    pool.catch(() => pools.delete(url));
  }
  return pool;
}

async function openLeasePool(url: string): Promise<pg.Pool> {
  // The driver loads only for a Postgres checkpointer (a SQLite one never needs it).
  const { default: pgDriver } = await import("pg");
  const pool = new pgDriver.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 5_000, allowExitOnIdle: true, application_name: `credit-optimizer pid=${process.pid}` });
  // A dropped idle connection is replaced on the next query; there is nothing else to do about it here.
  pool.on("error", () => {});
  try {
    await createTableOnce(
      pool,
      THREAD_LEASE_TABLE,
      `thread_id text PRIMARY KEY,
         token text NOT NULL,
         host text NOT NULL,
         pid integer NOT NULL,
         process_start text,
         started_at timestamptz NOT NULL,
         expires_at timestamptz NOT NULL`,
    );
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return pool;
}

interface LeaseRow {
  token: string;
  host: string;
  pid: number;
  process_start: string | null;
  started_at: Date;
}

async function acquirePostgresLock(url: string, threadId: string, leaseMs: number): Promise<ThreadLock> {
  const pool = await leasePool(url);
  const me = currentProcess();
  const token = randomUUID();
  const values = [threadId, token, me.host, me.pid, me.start ?? null, String(leaseMs)];
  for (let attempt = 0; attempt <= MAX_TAKEOVERS; attempt++) {
    const taken = await pool.query(
      `INSERT INTO ${THREAD_LEASE_TABLE} AS l (thread_id, token, host, pid, process_start, started_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp() + $6::int * interval '1 millisecond')
       ON CONFLICT (thread_id) DO UPDATE SET token = EXCLUDED.token, host = EXCLUDED.host, pid = EXCLUDED.pid,
         process_start = EXCLUDED.process_start, started_at = EXCLUDED.started_at, expires_at = EXCLUDED.expires_at
       WHERE l.expires_at < clock_timestamp()`,
      values,
    );
    if (taken.rowCount === 1) return leaseLock(pool, threadId, token, leaseMs);
    const { rows } = await pool.query<LeaseRow>(`SELECT token, host, pid, process_start, started_at FROM ${THREAD_LEASE_TABLE} WHERE thread_id = $1`, [threadId]);
    const holder = rows[0];
    if (!holder) continue;
    if (isProcessAlive({ host: holder.host, pid: holder.pid, ...(holder.process_start ? { start: holder.process_start } : {}) })) {
      throw new ThreadBusyError(threadId, { pid: holder.pid, startedAt: holder.started_at.toISOString(), where: holder.host === me.host ? "postgres" : `postgres, host ${holder.host}` });
    }
    // Its holder died on this machine: take the lease over, if it is still that holder's.
    const takeover = await pool.query(
      `UPDATE ${THREAD_LEASE_TABLE} SET token = $2, host = $3, pid = $4, process_start = $5, started_at = clock_timestamp(),
         expires_at = clock_timestamp() + $6::int * interval '1 millisecond'
       WHERE thread_id = $1 AND token = $7`,
      [...values, holder.token],
    );
    if (takeover.rowCount === 1) return leaseLock(pool, threadId, token, leaseMs);
  }
  throw new ThreadBusyError(threadId, { where: "postgres" });
}

/** A held lease: refreshed every third of its length until released (a refresh that cannot reach Postgres is tried again at the next tick). */
function leaseLock(pool: pg.Pool, threadId: string, token: string, leaseMs: number): ThreadLock {
  const timer = setInterval(() => {
    void pool
      .query(`UPDATE ${THREAD_LEASE_TABLE} SET expires_at = clock_timestamp() + $3::int * interval '1 millisecond' WHERE thread_id = $1 AND token = $2`, [threadId, token, String(leaseMs)])
      // Lost (it expired and another process took it): nothing left to refresh.
      .then((r) => r.rowCount === 0 && clearInterval(timer))
      .catch(() => {});
  }, Math.max(100, Math.floor(leaseMs / 3)));
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await pool.query(`DELETE FROM ${THREAD_LEASE_TABLE} WHERE thread_id = $1 AND token = $2`, [threadId, token]).catch(() => {});
    },
  };
}
