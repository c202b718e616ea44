import { postgresUrl } from "../pg-url.ts";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { maskSecrets } from "../secrets.ts";
import { CostError } from "./errors.ts";
import type { CachedPlan, PlanCache } from "./plan-cache.ts";
import {
  postgresReservations,
  RESERVATION_SCHEMA,
  sqliteReservations,
  type CommittedSpend,
  type Reservation,
  type ReservationRecord,
  type ReservationRequest,
  type ReservationStore,
} from "./reservations.ts";
import { sum } from "./stats.ts";
import type { ActualSummary, ForecastSummary } from "./types.ts";

/** One model call. Times are epoch milliseconds. */
export interface ModelCallRecord {
  runId: string;
  /** The agent that made the call (architect, credit-validator, reporter, a workspace codegen step …). */
  agent: string;
  model: string;
  /** All input tokens, cached ones included. */
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  usd: number;
  /** False when the model has no price: `usd` is 0 and reports say "unknown". */
  known: boolean;
  at: number;
  /** The model routing replaced (the default), when the call was routed to a cheaper one. */
  routedFrom?: string;
  /** The plan step whose tool made the call (a workspace codegen step reporting its model usage). */
  stepId?: string;
}

/**
 * Where a step's USD came from: declared in the plan (`estimate.usd`), reported by the tool
 * (`cost_usd`, or model usage — then the cost is in a model call row with this step's id and the
 * step's own USD is 0), a backend that costs nothing (the local provider, a template scaffold), or none.
 */
export type UsdSource = "declared" | "measured" | "free" | "none";

/** One finished step (succeeded or failed; skipped steps are not recorded). */
export interface StepRecord {
  runId: string;
  /** The plan's name: lets a re-run of the same plan be forecast per step. */
  plan?: string;
  stepId: string;
  /** The step's agent (db, redis, deploy, coding …), when the plan names one. */
  agent?: string;
  /**
   * The backend that served the call, as its server published it (`local`, `template`), `remote`
   * when the server published none (a cloud API, a model), absent when the recorder was not told.
   */
  backend?: string;
  /** `server.tool`, or `server.tool#inner` for a broker call (see toolKey). */
  tool: string;
  server: string;
  status: string;
  durationMs: number;
  attempts: number;
  usd: number;
  usdSource: UsdSource;
  /** When it ended. */
  at: number;
}

/** One run; recorded when it starts and again when it ends (same runId: an update). */
export interface RunRecord {
  runId: string;
  /** The request in plain language, with secrets masked. */
  request?: string;
  /** The plan's name. */
  plan: string;
  status: string;
  forecast?: ForecastSummary;
  actual?: ActualSummary;
  startedAt: number;
  endedAt?: number;
}

/**
 * The latest progress a running step's tool reported (MCP `notifications/progress`), kept so that a
 * viewer in another process sees it live: one row per step, replaced by each report.
 */
export interface ProgressRecord {
  runId: string;
  stepId: string;
  progress: number;
  total?: number;
  /** With secrets masked. */
  message?: string;
  at: number;
}

export interface LedgerFilter {
  /** Inclusive, epoch ms. */
  since?: number;
  /** Exclusive, epoch ms. */
  until?: number;
  runId?: string;
  /** Any of these runs. */
  runIds?: readonly string[];
}

/** A past successful execution of a step or tool. */
export interface DurationSample {
  stepId: string;
  tool: string;
  durationMs: number;
  usd: number;
  usdSource: UsdSource;
  /** See StepRecord.backend. */
  backend?: string;
}

/** Tokens one agent used with one model in one run (summed over its calls). */
export interface ModelRunUsage {
  runId: string;
  agent: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  usd: number;
  at: number;
}

export interface RunSpend {
  usd: number;
  modelUsd: number;
  stepUsd: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  modelCalls: number;
  /** Models of this run with no price. */
  unknownModels: string[];
}

/**
 * Every model call and every step of every run. Each record is written (and, for SQLite, synced)
 * by the time its promise resolves — with better-sqlite3 already before the call returns — so a
 * crash mid-run leaves everything that finished in the ledger.
 */
export interface Ledger {
  /** `sqlite:<file>` or the Postgres URL with its password masked. */
  readonly description: string;
  recordModelCall(call: ModelCallRecord): Promise<void>;
  recordStep(step: StepRecord): Promise<void>;
  /**
   * Inserts or updates the run; fields left undefined keep their stored value. Only the summary of a
   * forecast (duration and USD ranges) is stored.
   */
  recordRun(run: RunRecord): Promise<void>;
  /** Replaces the step's latest progress. */
  recordProgress(progress: ProgressRecord): Promise<void>;
  /** The latest progress of each step of the run that reported any. */
  progress(runId: string): Promise<ProgressRecord[]>;
  modelCalls(filter?: LedgerFilter): Promise<ModelCallRecord[]>;
  steps(filter?: LedgerFilter): Promise<StepRecord[]>;
  runs(filter?: LedgerFilter): Promise<RunRecord[]>;
  /** The latest successful durations of each `server.tool`, newest first, at most `limit` each. */
  toolHistory(tools: readonly string[], limit?: number): Promise<Record<string, DurationSample[]>>;
  /** The latest successful durations of each step id of plans with this name, newest first. */
  stepHistory(plan: string, limit?: number): Promise<Record<string, DurationSample[]>>;
  /** Per run, the tokens each of these agents used with each model; newest runs first. */
  modelHistory(agents: readonly string[], limitRuns?: number): Promise<ModelRunUsage[]>;
  /** USD of model calls and steps recorded in [since, until). */
  spentBetween(since: number, until?: number): Promise<number>;
  runSpend(runId: string): Promise<RunSpend>;
  /**
   * Before a run: atomically checks the daily and monthly caps against what every other run has
   * spent and still holds, and holds `usd` (the forecast p90) for this run; throws a
   * BudgetReservationError with the numbers when it would cross a cap. `settle()` the result when
   * the run ends. See reservations.ts.
   */
  reserve(request: ReservationRequest): Promise<Reservation>;
  /**
   * What the other runs have committed today and this month (actual spend + what their live
   * reservations still hold), plus `runId`'s own spend: for the running-budget check before each
   * tool call. Two indexed queries, no lock.
   */
  committedSpend(runId?: string, now?: number): Promise<CommittedSpend>;
  /** Every reservation with its state (live, settled, expired), oldest first. */
  reservations(): Promise<ReservationRecord[]>;
  readonly planCache: PlanCache;
  close(): Promise<void>;
}

export interface LedgerOptions {
  /** State directory: the SQLite ledger is `<home>/ledger.sqlite`. */
  home: string;
  /** `postgres://…` (or `postgres:postgres://…`) puts the ledger in Postgres; `sqlite:<file>` picks the file. */
  url?: string;
}

/**
 * Opens the ledger: SQLite (WAL, synchronous=FULL, one autocommit per record) at `<home>/ledger.sqlite`
 * by default; Postgres (tables `ledger_*`) when the URL is `postgres://…` — pass the checkpointer's URL
 * so the ledger lives alongside it.
 */
export async function openLedger(options: LedgerOptions): Promise<Ledger> {
  const pg = postgresUrl(options.url);
  const db = pg ? await openPostgres(pg) : openSqlite(options.url?.replace(/^sqlite:/, "") || path.join(options.home, "ledger.sqlite"));
  try {
    for (const statement of SCHEMA) await db.run(statement);
    for (const [table, column] of ADDED_COLUMNS) await db.addColumn(table, column);
  } catch (error) {
    await db.close();
    throw new CostError("LEDGER", `cannot set up the ledger in ${db.description}: ${(error as Error).message}`);
  }
  return new SqlLedger(db);
}


/** The small surface both databases provide; `?` placeholders. */
interface Db {
  readonly description: string;
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  all(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
  /** Adds a nullable TEXT column to a ledger written by an older version; nothing when it is there. */
  addColumn(table: string, column: string): Promise<void>;
  readonly reservations: ReservationStore;
}

/** Columns added after the first release: a ledger from before gets them on open. */
const ADDED_COLUMNS: readonly [string, string][] = [
  ["ledger_steps", "agent"],
  ["ledger_steps", "backend"],
  ["ledger_model_calls", "step_id"],
];

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ledger_model_calls (run_id TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL, usd DOUBLE PRECISION NOT NULL,
    known INTEGER NOT NULL, routed_from TEXT, at BIGINT NOT NULL, step_id TEXT)`,
  "CREATE INDEX IF NOT EXISTS ledger_model_calls_at ON ledger_model_calls (at)",
  "CREATE INDEX IF NOT EXISTS ledger_model_calls_run ON ledger_model_calls (run_id)",
  `CREATE TABLE IF NOT EXISTS ledger_steps (run_id TEXT NOT NULL, plan TEXT, step_id TEXT NOT NULL, tool TEXT NOT NULL, server TEXT NOT NULL,
    status TEXT NOT NULL, duration_ms DOUBLE PRECISION NOT NULL, attempts INTEGER NOT NULL, usd DOUBLE PRECISION NOT NULL,
    usd_source TEXT NOT NULL, at BIGINT NOT NULL, agent TEXT, backend TEXT)`,
  "CREATE INDEX IF NOT EXISTS ledger_steps_at ON ledger_steps (at)",
  "CREATE INDEX IF NOT EXISTS ledger_steps_tool ON ledger_steps (tool, at)",
  "CREATE INDEX IF NOT EXISTS ledger_steps_plan ON ledger_steps (plan, at)",
  "CREATE INDEX IF NOT EXISTS ledger_steps_run ON ledger_steps (run_id)",
  `CREATE TABLE IF NOT EXISTS ledger_runs (run_id TEXT PRIMARY KEY, request TEXT, plan TEXT NOT NULL, status TEXT NOT NULL,
    forecast_json TEXT, actual_json TEXT, started_at BIGINT NOT NULL, ended_at BIGINT)`,
  `CREATE TABLE IF NOT EXISTS ledger_progress (run_id TEXT NOT NULL, step_id TEXT NOT NULL, progress DOUBLE PRECISION NOT NULL,
    total DOUBLE PRECISION, message TEXT, at BIGINT NOT NULL, PRIMARY KEY (run_id, step_id))`,
  `CREATE TABLE IF NOT EXISTS ledger_plan_cache (key TEXT PRIMARY KEY, plan_json TEXT NOT NULL, planner TEXT NOT NULL,
    created_at BIGINT NOT NULL, hits INTEGER NOT NULL)`,
  ...RESERVATION_SCHEMA,
];

class SqlLedger implements Ledger {
  readonly planCache: PlanCache;

  constructor(private readonly db: Db) {
    this.planCache = {
      get: (key) => this.getPlan(key),
      put: (key, plan, planner) =>
        this.db.run(
          `INSERT INTO ledger_plan_cache (key, plan_json, planner, created_at, hits) VALUES (?, ?, ?, ?, 0)
           ON CONFLICT (key) DO UPDATE SET plan_json = excluded.plan_json, planner = excluded.planner, created_at = excluded.created_at, hits = 0`,
          [key, JSON.stringify(plan), planner, Date.now()],
        ),
    };
  }

  get description(): string {
    return this.db.description;
  }

  recordModelCall(c: ModelCallRecord): Promise<void> {
    return this.db.run(
      `INSERT INTO ledger_model_calls (run_id, agent, model, input_tokens, output_tokens, cached_tokens, usd, known, routed_from, at, step_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [c.runId, c.agent, c.model, c.inputTokens, c.outputTokens, c.cachedTokens, c.usd, c.known ? 1 : 0, c.routedFrom ?? null, c.at, c.stepId ?? null],
    );
  }

  recordStep(s: StepRecord): Promise<void> {
    return this.db.run(
      `INSERT INTO ledger_steps (run_id, plan, step_id, tool, server, status, duration_ms, attempts, usd, usd_source, at, agent, backend)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [s.runId, s.plan ?? null, s.stepId, s.tool, s.server, s.status, s.durationMs, s.attempts, s.usd, s.usdSource, s.at, s.agent ?? null, s.backend ?? null],
    );
  }

  recordRun(r: RunRecord): Promise<void> {
    return this.db.run(
      `INSERT INTO ledger_runs (run_id, request, plan, status, forecast_json, actual_json, started_at, ended_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET request = COALESCE(excluded.request, ledger_runs.request), plan = excluded.plan,
         status = excluded.status, forecast_json = COALESCE(excluded.forecast_json, ledger_runs.forecast_json),
         actual_json = COALESCE(excluded.actual_json, ledger_runs.actual_json), ended_at = COALESCE(excluded.ended_at, ledger_runs.ended_at)`,
      [
        r.runId,
        r.request === undefined ? null : maskSecrets(r.request),
        r.plan,
        r.status,
        r.forecast ? JSON.stringify({ durationMs: r.forecast.durationMs, usd: r.forecast.usd }) : null,
        r.actual ? JSON.stringify({ durationMs: r.actual.durationMs, usd: r.actual.usd }) : null,
        r.startedAt,
        r.endedAt ?? null,
      ],
    );
  }

  recordProgress(p: ProgressRecord): Promise<void> {
    return this.db.run(
      `INSERT INTO ledger_progress (run_id, step_id, progress, total, message, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, step_id) DO UPDATE SET progress = excluded.progress, total = excluded.total, message = excluded.message, at = excluded.at`,
      [p.runId, p.stepId, p.progress, p.total ?? null, p.message === undefined ? null : maskSecrets(p.message), p.at],
    );
  }

  async progress(runId: string): Promise<ProgressRecord[]> {
    const rows = await this.db.all("SELECT * FROM ledger_progress WHERE run_id = ? ORDER BY step_id", [runId]);
    return rows.map((r) => {
      const record: ProgressRecord = { runId: String(r["run_id"]), stepId: String(r["step_id"]), progress: Number(r["progress"]), at: Number(r["at"]) };
      if (r["total"] !== null && r["total"] !== undefined) record.total = Number(r["total"]);
      if (r["message"] !== null && r["message"] !== undefined) record.message = String(r["message"]);
      return record;
    });
  }

  async modelCalls(filter: LedgerFilter = {}): Promise<ModelCallRecord[]> {
    const [where, params] = whereOf(filter, "at");
    const rows = await this.db.all(`SELECT * FROM ledger_model_calls ${where} ORDER BY at`, params);
    return rows.map(modelCallOf);
  }

  async steps(filter: LedgerFilter = {}): Promise<StepRecord[]> {
    const [where, params] = whereOf(filter, "at");
    const rows = await this.db.all(`SELECT * FROM ledger_steps ${where} ORDER BY at`, params);
    return rows.map(stepOf);
  }

  async runs(filter: LedgerFilter = {}): Promise<RunRecord[]> {
    const [where, params] = whereOf(filter, "started_at");
    const rows = await this.db.all(`SELECT * FROM ledger_runs ${where} ORDER BY started_at`, params);
    return rows.map(runOf);
  }

  async toolHistory(tools: readonly string[], limit = 50): Promise<Record<string, DurationSample[]>> {
    const unique = [...new Set(tools)];
    const history: Record<string, DurationSample[]> = Object.fromEntries(unique.map((t) => [t, []]));
    if (unique.length === 0) return history;
    const rows = await this.latestSuccesses("tool", `tool IN (${unique.map(() => "?").join(", ")})`, unique, limit);
    for (const sample of rows.map(sampleOf)) history[sample.tool]!.push(sample);
    return history;
  }

  async stepHistory(plan: string, limit = 20): Promise<Record<string, DurationSample[]>> {
    const history: Record<string, DurationSample[]> = {};
    for (const sample of (await this.latestSuccesses("step_id", "plan = ?", [plan], limit)).map(sampleOf)) (history[sample.stepId] ??= []).push(sample);
    return history;
  }

  /** The newest `limit` successful steps per value of `column` among the rows matching `where`, newest first. */
  private latestSuccesses(column: "tool" | "step_id", where: string, params: readonly unknown[], limit: number): Promise<Record<string, unknown>[]> {
    return this.db.all(
      // A step's cost includes the model calls its tool reported (workspace codegen): they are rows of their own.
      `SELECT step_id, tool, duration_ms, usd, usd_source, backend FROM (
         SELECT s.step_id, s.tool, s.duration_ms, s.usd_source, s.backend, s.at,
                s.usd + COALESCE((SELECT SUM(m.usd) FROM ledger_model_calls m WHERE m.run_id = s.run_id AND m.step_id = s.step_id), 0) AS usd,
                ROW_NUMBER() OVER (PARTITION BY s.${column} ORDER BY s.at DESC) AS n
         FROM ledger_steps s WHERE s.status = 'succeeded' AND ${where}) ranked
       WHERE n <= ? ORDER BY at DESC`,
      [...params, limit],
    );
  }

  async modelHistory(agents: readonly string[], limitRuns = 50): Promise<ModelRunUsage[]> {
    if (agents.length === 0) return [];
    const rows = await this.db.all(
      `SELECT run_id, agent, model, COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
         SUM(cached_tokens) AS cached_tokens, SUM(usd) AS usd, MAX(at) AS at
       FROM ledger_model_calls WHERE agent IN (${agents.map(() => "?").join(", ")})
       GROUP BY run_id, agent, model ORDER BY MAX(at) DESC LIMIT ?`,
      [...agents, limitRuns * agents.length],
    );
    return rows.map((r) => ({
      runId: String(r["run_id"]),
      agent: String(r["agent"]),
      model: String(r["model"]),
      calls: Number(r["calls"]),
      inputTokens: Number(r["input_tokens"]),
      outputTokens: Number(r["output_tokens"]),
      cachedTokens: Number(r["cached_tokens"]),
      usd: Number(r["usd"]),
      at: Number(r["at"]),
    }));
  }

  async spentBetween(since: number, until = Number.MAX_SAFE_INTEGER): Promise<number> {
    const rows = await this.db.all(
      `SELECT (SELECT COALESCE(SUM(usd), 0) FROM ledger_model_calls WHERE at >= ? AND at < ?) AS models,
              (SELECT COALESCE(SUM(usd), 0) FROM ledger_steps WHERE at >= ? AND at < ?) AS steps`,
      [since, until, since, until],
    );
    const row = rows[0] ?? {};
    return Number(row["models"] ?? 0) + Number(row["steps"] ?? 0);
  }

  async runSpend(runId: string): Promise<RunSpend> {
    const calls = await this.modelCalls({ runId });
    const steps = await this.steps({ runId });
    const modelUsd = sum(calls.map((c) => c.usd));
    const stepUsd = sum(steps.map((s) => s.usd));
    return {
      usd: modelUsd + stepUsd,
      modelUsd,
      stepUsd,
      inputTokens: sum(calls.map((c) => c.inputTokens)),
      outputTokens: sum(calls.map((c) => c.outputTokens)),
      cachedTokens: sum(calls.map((c) => c.cachedTokens)),
      modelCalls: calls.length,
      unknownModels: [...new Set(calls.filter((c) => !c.known).map((c) => c.model))],
    };
  }

  reserve(request: ReservationRequest): Promise<Reservation> {
    return this.db.reservations.reserve(request);
  }

  committedSpend(runId?: string, now: number = Date.now()): Promise<CommittedSpend> {
    return this.db.reservations.committed(runId, now);
  }

  reservations(): Promise<ReservationRecord[]> {
    return this.db.reservations.list();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private async getPlan(key: string): Promise<CachedPlan | undefined> {
    const rows = await this.db.all("SELECT * FROM ledger_plan_cache WHERE key = ?", [key]);
    const row = rows[0];
    if (!row) return undefined;
    await this.db.run("UPDATE ledger_plan_cache SET hits = hits + 1 WHERE key = ?", [key]);
    return {
      key,
      plan: JSON.parse(String(row["plan_json"])) as unknown,
      planner: String(row["planner"]),
      createdAt: Number(row["created_at"]),
      hits: Number(row["hits"]) + 1,
    };
  }
}

function whereOf(filter: LedgerFilter, timeColumn: string): [string, unknown[]] {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.since !== undefined) {
    clauses.push(`${timeColumn} >= ?`);
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    clauses.push(`${timeColumn} < ?`);
    params.push(filter.until);
  }
  if (filter.runId !== undefined) {
    clauses.push("run_id = ?");
    params.push(filter.runId);
  }
  if (filter.runIds !== undefined) {
    clauses.push(filter.runIds.length ? `run_id IN (${filter.runIds.map(() => "?").join(", ")})` : "1 = 0");
    params.push(...filter.runIds);
  }
  return [clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params];
}

function modelCallOf(r: Record<string, unknown>): ModelCallRecord {
  const call: ModelCallRecord = {
    runId: String(r["run_id"]),
    agent: String(r["agent"]),
    model: String(r["model"]),
    inputTokens: Number(r["input_tokens"]),
    outputTokens: Number(r["output_tokens"]),
    cachedTokens: Number(r["cached_tokens"]),
    usd: Number(r["usd"]),
    known: Number(r["known"]) === 1,
    at: Number(r["at"]),
  };
  if (r["routed_from"] !== null && r["routed_from"] !== undefined) call.routedFrom = String(r["routed_from"]);
  if (r["step_id"] !== null && r["step_id"] !== undefined) call.stepId = String(r["step_id"]);
  return call;
}

function stepOf(r: Record<string, unknown>): StepRecord {
  const step: StepRecord = {
    runId: String(r["run_id"]),
    stepId: String(r["step_id"]),
    tool: String(r["tool"]),
    server: String(r["server"]),
    status: String(r["status"]),
    durationMs: Number(r["duration_ms"]),
    attempts: Number(r["attempts"]),
    usd: Number(r["usd"]),
    usdSource: String(r["usd_source"]) as UsdSource,
    at: Number(r["at"]),
  };
  if (r["plan"] !== null && r["plan"] !== undefined) step.plan = String(r["plan"]);
  if (r["agent"] !== null && r["agent"] !== undefined) step.agent = String(r["agent"]);
  if (r["backend"] !== null && r["backend"] !== undefined) step.backend = String(r["backend"]);
  return step;
}

function runOf(r: Record<string, unknown>): RunRecord {
  const run: RunRecord = { runId: String(r["run_id"]), plan: String(r["plan"]), status: String(r["status"]), startedAt: Number(r["started_at"]) };
  if (r["request"] !== null && r["request"] !== undefined) run.request = String(r["request"]);
  if (typeof r["forecast_json"] === "string") run.forecast = JSON.parse(r["forecast_json"]) as ForecastSummary;
  if (typeof r["actual_json"] === "string") run.actual = JSON.parse(r["actual_json"]) as ActualSummary;
  if (r["ended_at"] !== null && r["ended_at"] !== undefined) run.endedAt = Number(r["ended_at"]);
  return run;
}

function sampleOf(r: Record<string, unknown>): DurationSample {
  const sample: DurationSample = {
    stepId: String(r["step_id"]),
    tool: String(r["tool"]),
    durationMs: Number(r["duration_ms"]),
    usd: Number(r["usd"]),
    usdSource: String(r["usd_source"]) as UsdSource,
  };
  if (r["backend"] !== null && r["backend"] !== undefined) sample.backend = String(r["backend"]);
  return sample;
}

function openSqlite(file: string): Db {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  return {
    description: `sqlite:${file}`,
    run: async (sql, params = []) => {
      prepared(sql).run(...(params as unknown[]));
    },
    all: async (sql, params = []) => prepared(sql).all(...(params as unknown[])) as Record<string, unknown>[],
    close: async () => {
      db.close();
    },
    addColumn: async (table, column) => {
      const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      if (!columns.some((c) => c.name === column)) db.prepare(`ALTER TABLE ${table} ADD COLUMN ${column} TEXT`).run();
    },
    reservations: sqliteReservations(db),
  };
}

async function openPostgres(url: string): Promise<Db> {
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // A dropped connection must not crash the process: the next query fails (and says why) instead.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const description = maskSecrets(url);
  const toPg = (sql: string): string => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  const query = async (sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]> => {
    try {
      return (await pool.query(toPg(sql), params as unknown[])).rows as Record<string, unknown>[];
    } catch (error) {
      throw new CostError("LEDGER", `ledger query failed in ${description}: ${maskSecrets((error as Error).message)}`);
    }
  };
  return {
    description,
    run: async (sql, params = []) => {
      await query(sql, params);
    },
    all: (sql, params = []) => query(sql, params),
    close: () => pool.end(),
    addColumn: async (table, column) => {
      await query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} TEXT`, []);
    },
    reservations: postgresReservations(pool),
  };
}
