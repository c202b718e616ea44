import { randomInt } from "node:crypto";
import type Database from "better-sqlite3";
import type pg from "pg";
import { lockedTransaction } from "../pg-advisory.ts";
import { currentProcess, isProcessAlive, type ProcessIdentity } from "../process-identity.ts";
import { formatUsd } from "./format.ts";

/**
 * Budget reservations: before a run starts it holds its forecast (p90) in the ledger, so that runs
 * in other processes count it against the daily and monthly caps while it runs. The check and the
 * insert are one atomic step — a SQLite `BEGIN IMMEDIATE` transaction, or a Postgres transaction
 * under an advisory lock — so N runs starting at once cannot each see the same room under a cap.
 *
 * A reservation lives while its owner does. On SQLite (one machine) the owner is a pid with its start
 * time (a reused pid is another process); on Postgres the owner also refreshes a lease on the row
 * (machines cannot check each other's pids), which runs out `RESERVATION_LEASE_MS` after its owner
 * died elsewhere. A killed run's hold goes with it, and the next reserve marks it expired.
 */

export interface ReservationCaps {
  dailyUsd: number;
  monthlyUsd: number;
}

export interface ReservationRequest {
  /** The run (thread) id; reserving again for the same run replaces its reservation (a resume). */
  runId: string;
  /** What to hold: the forecast's p90. */
  usd: number;
  caps: ReservationCaps;
  now?: number;
}

/** What is committed in the current UTC day and month, not counting one run (the caller's own). */
export interface CommittedSpend {
  /** Actual spend (model calls + steps) of the other runs. */
  spentToday: number;
  spentThisMonth: number;
  /** What live reservations of other runs still hold beyond what those runs have spent. */
  reservedUsd: number;
  /** How many live reservations of other runs there are. */
  reservations: number;
  /** spent + reserved. */
  today: number;
  month: number;
  /** The excluded run's own actual spend in the day and month (0 without one). */
  ownToday: number;
  ownThisMonth: number;
}

export interface Reservation {
  runId: string;
  usd: number;
  /** What the other runs had committed when this one reserved. */
  others: CommittedSpend;
  /**
   * The run has ended: its reservation shrinks to what it actually spent (from the ledger) and stops
   * holding anything. Returns that actual. Safe to call more than once.
   */
  settle(now?: number): Promise<number>;
}

/** A stored reservation, for reports and tests. */
export interface ReservationRecord {
  runId: string;
  usd: number;
  state: "live" | "settled" | "expired";
  owner: ProcessIdentity;
  createdAt: number;
  endedAt?: number;
}

export type CapName = "daily" | "monthly";

/** A reservation refused because it would cross a cap; the message has the numbers. */
export class BudgetReservationError extends Error {
  readonly code = "BUDGET_RESERVATION";
  constructor(
    readonly limit: CapName,
    readonly capUsd: number,
    /** Everything committed with this run's reservation: spent by all runs + others' reservations + this run's remaining hold. */
    readonly totalUsd: number,
    readonly requestedUsd: number,
    readonly committed: CommittedSpend,
  ) {
    const daily = limit === "daily";
    const spent = daily ? committed.spentToday + committed.ownToday : committed.spentThisMonth + committed.ownThisMonth;
    const own = daily ? committed.ownToday : committed.ownThisMonth;
    super(
      `${limit} cap ${formatUsd(capUsd)}: ${formatUsd(spent)} spent ${daily ? "today" : "this month"} + ${formatUsd(committed.reservedUsd)} reserved by ` +
        `${committed.reservations} other running run(s) + ${formatUsd(Math.max(0, requestedUsd - own))} for this run (forecast p90 ${formatUsd(requestedUsd)}) = ` +
        `${formatUsd(totalUsd)}, over the cap`,
    );
    this.name = "BudgetReservationError";
  }
}

export function isBudgetReservationError(error: unknown): error is BudgetReservationError {
  return error instanceof BudgetReservationError;
}

/** What the ledger does for reservations, per database. */
export interface ReservationStore {
  reserve(request: ReservationRequest): Promise<Reservation>;
  committed(excludeRunId: string | undefined, now: number): Promise<CommittedSpend>;
  list(): Promise<ReservationRecord[]>;
}

export const RESERVATION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ledger_reservations (run_id TEXT PRIMARY KEY, usd DOUBLE PRECISION NOT NULL, owner_json TEXT NOT NULL,
    lock_key INTEGER NOT NULL, state TEXT NOT NULL, created_at BIGINT NOT NULL, ended_at BIGINT)`,
  "CREATE INDEX IF NOT EXISTS ledger_reservations_state ON ledger_reservations (state)",
];

/**
 * The first key of every reservation advisory lock ("CORS"); the second is 0 for the reserve
 * critical section and the reservation's `lock_key` (≥ 1) for its owner's hold.
 */
const ADVISORY_CLASS = 0x434f5253;

/**
 * Past this age a reservation expires even if its owner looks alive: the owner may run on another
 * host (a shared SQLite file), where its pid cannot be checked.
 */
const MAX_AGE_MS = 24 * 3_600_000;

function windows(now: number): { dayStart: number; monthStart: number } {
  const d = new Date(now);
  return { dayStart: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()), monthStart: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) };
}

/** Spend of the other runs and of the excluded one, in the day and the month: one pass over the month's rows. */
const SPENT_SQL = `SELECT
    COALESCE(SUM(CASE WHEN at >= ? AND run_id <> ? THEN usd ELSE 0 END), 0) AS others_today,
    COALESCE(SUM(CASE WHEN run_id <> ? THEN usd ELSE 0 END), 0) AS others_month,
    COALESCE(SUM(CASE WHEN at >= ? AND run_id = ? THEN usd ELSE 0 END), 0) AS own_today,
    COALESCE(SUM(CASE WHEN run_id = ? THEN usd ELSE 0 END), 0) AS own_month
  FROM (SELECT run_id, usd, at FROM ledger_model_calls WHERE at >= ? UNION ALL SELECT run_id, usd, at FROM ledger_steps WHERE at >= ?) spend`;

function spentParams(exclude: string, now: number): unknown[] {
  const { dayStart, monthStart } = windows(now);
  return [dayStart, exclude, exclude, dayStart, exclude, exclude, monthStart, monthStart];
}

/** Live reservations with what their runs have spent so far (`alive` is added on Postgres). */
const LIVE_SQL = (alive: string): string => `SELECT r.run_id, r.usd, r.owner_json, r.lock_key, r.created_at,
    (SELECT COALESCE(SUM(m.usd), 0) FROM ledger_model_calls m WHERE m.run_id = r.run_id)
      + (SELECT COALESCE(SUM(s.usd), 0) FROM ledger_steps s WHERE s.run_id = r.run_id) AS spent${alive}
  FROM ledger_reservations r WHERE r.state = 'live'`;

/** Postgres's clock in epoch ms: leases are judged by the one clock every machine shares. */
const PG_NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

const PG_ALIVE = `, (r.lease_until IS NOT NULL AND r.lease_until > ${PG_NOW_MS}) AS alive`;

interface LiveRow {
  runId: string;
  usd: number;
  spent: number;
  alive: boolean;
}

function liveRowOf(r: Record<string, unknown>, now: number, alive: (r: Record<string, unknown>) => boolean): LiveRow {
  const young = now - Number(r["created_at"]) < MAX_AGE_MS;
  return { runId: String(r["run_id"]), usd: Number(r["usd"]), spent: Number(r["spent"]), alive: young && alive(r) };
}

function committedOf(spent: Record<string, unknown>, live: readonly LiveRow[], exclude: string): CommittedSpend {
  const others = live.filter((r) => r.alive && r.runId !== exclude);
  const reservedUsd = others.reduce((total, r) => total + Math.max(0, r.usd - r.spent), 0);
  const spentToday = Number(spent["others_today"]);
  const spentThisMonth = Number(spent["others_month"]);
  return {
    spentToday,
    spentThisMonth,
    reservedUsd,
    reservations: others.length,
    today: spentToday + reservedUsd,
    month: spentThisMonth + reservedUsd,
    ownToday: Number(spent["own_today"]),
    ownThisMonth: Number(spent["own_month"]),
  };
}

/**
 * Throws when the run's commitment — the larger of its reservation and what it already spent (a
 * resumed run) — on top of the others' would cross a cap.
 */
function checkCaps(request: ReservationRequest, committed: CommittedSpend): void {
  const checks: [CapName, number, number, number][] = [
    ["daily", request.caps.dailyUsd, committed.today, committed.ownToday],
    ["monthly", request.caps.monthlyUsd, committed.month, committed.ownThisMonth],
  ];
  for (const [limit, cap, others, own] of checks) {
    const mine = Math.max(request.usd, own);
    // A tolerance of a millionth of a cent: sums of floats must not refuse an exact fit.
    if (others + mine > cap + 1e-8) throw new BudgetReservationError(limit, cap, others + mine, request.usd, committed);
  }
}

function checkRequest(request: ReservationRequest): void {
  if (request.runId === "") throw new TypeError("reserve: runId must not be empty");
  if (!Number.isFinite(request.usd) || request.usd < 0) throw new TypeError(`reserve: usd must be a finite amount ≥ 0, got ${request.usd}`);
}

function recordOf(r: Record<string, unknown>): ReservationRecord {
  const record: ReservationRecord = {
    runId: String(r["run_id"]),
    usd: Number(r["usd"]),
    state: String(r["state"]) as ReservationRecord["state"],
    owner: JSON.parse(String(r["owner_json"])) as ProcessIdentity,
    createdAt: Number(r["created_at"]),
  };
  if (r["ended_at"] !== null && r["ended_at"] !== undefined) record.endedAt = Number(r["ended_at"]);
  return record;
}

const UPSERT_SQL = `INSERT INTO ledger_reservations (run_id, usd, owner_json, lock_key, state, created_at, ended_at) VALUES (?, ?, ?, ?, 'live', ?, NULL)
  ON CONFLICT (run_id) DO UPDATE SET usd = excluded.usd, owner_json = excluded.owner_json, lock_key = excluded.lock_key,
    state = 'live', created_at = excluded.created_at, ended_at = NULL`;
const RUN_SPENT_SQL = `SELECT (SELECT COALESCE(SUM(usd), 0) FROM ledger_model_calls WHERE run_id = ?) + (SELECT COALESCE(SUM(usd), 0) FROM ledger_steps WHERE run_id = ?) AS spent`;
const SETTLE_SQL = "UPDATE ledger_reservations SET usd = ?, state = 'settled', ended_at = ? WHERE run_id = ? AND lock_key = ? AND state = 'live'";
const EXPIRE_SQL = "UPDATE ledger_reservations SET state = 'expired', ended_at = ? WHERE run_id = ? AND state = 'live'";
const LIST_SQL = "SELECT * FROM ledger_reservations ORDER BY created_at";

// ── SQLite ────────────────────────────────────────────────────────────────────────────────────

/** Reservations in a SQLite ledger; `db` must have a busy timeout (concurrent reservers wait on it). */
export function sqliteReservations(db: Database.Database): ReservationStore {
  const alive = (r: Record<string, unknown>): boolean => isProcessAlive(JSON.parse(String(r["owner_json"])) as ProcessIdentity);
  const read = (exclude: string, now: number): { committed: CommittedSpend; live: LiveRow[] } => {
    const spent = db.prepare(SPENT_SQL).get(...spentParams(exclude, now)) as Record<string, unknown>;
    const live = (db.prepare(LIVE_SQL("")).all() as Record<string, unknown>[]).map((r) => liveRowOf(r, now, alive));
    return { committed: committedOf(spent, live, exclude), live };
  };
  return {
    reserve: async (request) => {
      checkRequest(request);
      const now = request.now ?? Date.now();
      const lockKey = randomInt(1, 2 ** 31 - 1);
      const owner = JSON.stringify(currentProcess());
      // Synchronous from BEGIN IMMEDIATE to COMMIT: nothing else of this process can slip into the transaction.
      const committed = db
        .transaction((): CommittedSpend => {
          const { committed, live } = read(request.runId, now);
          for (const dead of live.filter((r) => !r.alive)) db.prepare(EXPIRE_SQL).run(now, dead.runId);
          checkCaps(request, committed);
          db.prepare(UPSERT_SQL).run(request.runId, request.usd, owner, lockKey, now);
          return committed;
        })
        .immediate();
      let settled: number | undefined;
      return {
        runId: request.runId,
        usd: request.usd,
        others: committed,
        settle: async (at = Date.now()) => {
          if (settled !== undefined) return settled;
          const spent = Number((db.prepare(RUN_SPENT_SQL).get(request.runId, request.runId) as Record<string, unknown>)["spent"]);
          db.prepare(SETTLE_SQL).run(spent, at, request.runId, lockKey);
          settled = spent;
          return spent;
        },
      };
    },
    committed: async (exclude, now) => read(exclude ?? "", now).committed,
    list: async () => (db.prepare(LIST_SQL).all() as Record<string, unknown>[]).map(recordOf),
  };
}

// ── Postgres ──────────────────────────────────────────────────────────────────────────────────

function toPg(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Adds `lease_until` to a ledger made before leases; processes racing to add it all end with it. */
async function addLeaseColumn(pool: pg.Pool): Promise<void> {
  const { rowCount } = await pool.query("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'ledger_reservations' AND column_name = 'lease_until'");
  if (rowCount) return;
  try {
    await pool.query("ALTER TABLE ledger_reservations ADD COLUMN IF NOT EXISTS lease_until BIGINT");
  } catch (error) {
    // 42701 duplicate column, 23505 its catalog row: another process added it meanwhile.
    const code = (error as { code?: unknown }).code;
    if (code !== "42701" && code !== "23505") throw error;
  }
}

/** How long a Postgres reservation outlives its owner's last refresh (it is refreshed every third of it). */
export const RESERVATION_LEASE_MS = 15_000;

/**
 * Reservations in a Postgres ledger. A live reservation is a lease: its owner refreshes
 * `lease_until` (Postgres's clock) while the run goes, so it holds no connection of its own (an
 * advisory lock held one per run, and workers × runs exhausted `max_connections`). An owner that
 * dies stops refreshing: its hold goes after `leaseMs`, at once when it died on this machine (its
 * pid and start time are gone).
 */
export function postgresReservations(pool: pg.Pool, leaseMs = RESERVATION_LEASE_MS): ReservationStore {
  // Ledgers written before leases have no lease column: added once, on first use.
  let ready: Promise<unknown> | undefined;
  const ensureLease = (): Promise<unknown> => (ready ??= addLeaseColumn(pool).catch((error: unknown) => {
    ready = undefined;
    throw error;
  }));
  const alive = (row: Record<string, unknown>): boolean => row["alive"] === true && isProcessAlive(JSON.parse(String(row["owner_json"])) as ProcessIdentity);
  const read = async (client: pg.Pool | pg.PoolClient, exclude: string, now: number): Promise<{ committed: CommittedSpend; live: LiveRow[] }> => {
    const spent = (await client.query(toPg(SPENT_SQL), spentParams(exclude, now))).rows[0] as Record<string, unknown>;
    const rows = (await client.query(LIVE_SQL(PG_ALIVE))).rows as Record<string, unknown>[];
    const live = rows.map((r) => liveRowOf(r, now, alive));
    return { committed: committedOf(spent, live, exclude), live };
  };
  const extend = `UPDATE ledger_reservations SET lease_until = ${PG_NOW_MS} + $1 WHERE run_id = $2 AND lock_key = $3 AND state = 'live'`;
  return {
    reserve: async (request) => {
      checkRequest(request);
      const now = request.now ?? Date.now();
      const lockKey = randomInt(1, 2 ** 31 - 1);
      await ensureLease();
      const client = await pool.connect();
      let committed: CommittedSpend;
      try {
        // Reservers serialise on this lock until COMMIT: N runs starting at once cannot each see the same room.
        committed = await lockedTransaction(client, [ADVISORY_CLASS, 0], async () => {
          const state = await read(client, request.runId, now);
          for (const dead of state.live.filter((r) => !r.alive)) await client.query(toPg(EXPIRE_SQL), [now, dead.runId]);
          checkCaps(request, state.committed);
          await client.query(toPg(UPSERT_SQL), [request.runId, request.usd, JSON.stringify(currentProcess()), lockKey, now]);
          await client.query(extend, [leaseMs, request.runId, lockKey]);
          return state.committed;
        });
      } finally {
        client.release();
      }
      // A refresh that cannot reach Postgres is tried again at the next tick; one that finds the
      // reservation gone (expired by another reserver after a long outage) stops.
      const timer = setInterval(() => {
        void pool
          .query(extend, [leaseMs, request.runId, lockKey])
          .then((r) => r.rowCount === 0 && clearInterval(timer))
          .catch(() => {});
      }, Math.max(100, Math.floor(leaseMs / 3)));
      timer.unref();
      let settled: Promise<number> | undefined;
      return {
        runId: request.runId,
        usd: request.usd,
        others: committed,
        settle: (at = Date.now()) =>
          (settled ??= (async () => {
            clearInterval(timer);
            const spent = Number(((await pool.query(toPg(RUN_SPENT_SQL), [request.runId, request.runId])).rows[0] as Record<string, unknown>)["spent"]);
            await pool.query(toPg(SETTLE_SQL), [spent, at, request.runId, lockKey]);
            return spent;
          })()),
      };
    },
    committed: async (exclude, now) => {
      await ensureLease();
      return (await read(pool, exclude ?? "", now)).committed;
    },
    list: async () => ((await pool.query(LIST_SQL)).rows as Record<string, unknown>[]).map(recordOf),
  };
}
