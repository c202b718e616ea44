import type { Forecast, Outcome, PlannerInfo, Report } from "../../agents/types.ts";
import type { Root } from "../run/root.ts";
import { postgresUrl } from "../pg-url.ts";

/**
 * What the runs page shows of one thread, read from its checkpoints without loading its state:
 * the few channels a row needs, of the latest root checkpoint.
 */
export interface RunHead {
  threadId: string;
  /** Where the next page starts (the thread's first checkpoint id: ids are time-ordered uuid6). */
  cursor: string;
  /** The first checkpoint's time: when the run was started. */
  startedAt?: number;
  /** The latest checkpoint's time. */
  updatedAt?: number;
  planName?: string;
  planner?: PlannerInfo;
  /** Where the run ended up (the orchestrator's `outcome`). */
  outcome?: Outcome;
  /** The report, when read from a loaded state (the list leaves it: the ledger has the actuals). */
  report?: Partial<Pick<Report, "outcome" | "status" | "actual" | "plan">>;
  forecast?: Partial<Pick<Forecast, "durationMs" | "usd">>;
  status?: string;
  approved: boolean;
  /** The worker that ran (or runs) it, when the run records one. */
  worker?: string;
  /** Nodes the thread runs next; empty when it has ended. */
  next: string[];
  /** Stopped at an interrupt nobody has answered yet. */
  waiting: boolean;
  /** The run has breakpoints (`--break-before`): a pause at one leaves no interrupt on this thread. */
  breakpoints?: boolean;
}

export interface RunPageQuery {
  /** At most this many threads (default 50, at most 500). */
  limit?: number;
  /** Threads started before this cursor (a RunHead's `cursor`). */
  before?: string;
  /** Threads started at or after this time (epoch ms). */
  since?: number;
}

export interface RunPage {
  heads: RunHead[];
  /** The cursor of the next (older) page, when there may be one. */
  next?: string;
}

/** The latest root checkpoint of a thread, and its first; agent memory threads (`<session>/<agent>`) are not runs. */
const HEADS = `SELECT thread_id, MIN(checkpoint_id) AS first_id, MAX(checkpoint_id) AS last_id FROM {checkpoints}
  WHERE checkpoint_ns = '' AND {no_slash} GROUP BY thread_id`;

/** The channels a row needs (SQLite reads them in this order with one json_extract). */
const CHANNELS = ["plan", "planner", "outcome", "forecast", "status", "approval", "worker", "breakBefore"] as const;
const FIELDS = [
  "$.ts",
  "$.channel_values.plan.name",
  "$.channel_values.planner",
  "$.channel_values.outcome",
  "$.channel_values.forecast.durationMs",
  "$.channel_values.forecast.usd",
  "$.channel_values.status",
  "$.channel_values.approval.approved",
  "$.channel_values.worker",
  "$.channel_values.breakBefore",
] as const;

/**
 * One page of runs, newest started first, in one query (plus none per thread): the savers have no
 * "list threads" call and `getState` per thread loads and deserialises every channel of every run,
 * so this reads the tables both savers keep (`checkpoints`, and `writes` / `checkpoint_writes` and
 * `checkpoint_blobs`) for only the channels a row shows. A thread's `next` nodes are the `branch:to:*`
 * channels holding a value, as LangGraph decides which nodes run next.
 */
export async function listRunHeads(root: Root, query: RunPageQuery = {}): Promise<RunPage> {
  const limit = Math.min(500, Math.max(1, Math.floor(query.limit ?? 50)));
  const sinceIso = query.since !== undefined ? new Date(query.since).toISOString() : null;
  const url = postgresUrl(root.checkpointerUrl);
  const heads = url ? await postgresHeads(root, query.before ?? null, sinceIso, limit + 1) : sqliteHeads(root, query.before ?? null, sinceIso, limit + 1);
  const page = heads.slice(0, limit).map(headOf);
  return heads.length > limit ? { heads: page, next: page[page.length - 1]!.cursor } : { heads: page };
}

interface RawHead {
  thread_id: string;
  first_id: string;
  started_ts: string | null;
  /** The FIELDS' values, in order. */
  fields: unknown[];
  next: string[];
  interrupted: boolean;
  resumed: boolean;
}

function headOf(raw: RawHead): RunHead {
  const [ts, planName, planner, outcome, durationMs, usd, runStatus, approved, worker, breakBefore] = raw.fields;
  const head: RunHead = {
    threadId: raw.thread_id,
    cursor: raw.first_id,
    approved: approved === true,
    next: raw.next.map((channel) => channel.replace(/^branch:to:/, "")),
    waiting: raw.interrupted && !raw.resumed,
  };
  if (Array.isArray(breakBefore) && breakBefore.length > 0) head.breakpoints = true;
  const started = raw.started_ts ? Date.parse(raw.started_ts) : NaN;
  if (!Number.isNaN(started)) head.startedAt = started;
  const updated = typeof ts === "string" ? Date.parse(ts) : NaN;
  if (!Number.isNaN(updated)) head.updatedAt = updated;
  if (typeof planName === "string") head.planName = planName;
  if (planner && typeof planner === "object") head.planner = planner as PlannerInfo;
  if (typeof outcome === "string") head.outcome = outcome as Outcome;
  if (durationMs || usd) head.forecast = stripNulls({ durationMs, usd } as RunHead["forecast"] & object);
  if (typeof runStatus === "string") head.status = runStatus;
  const workerName = workerText(worker);
  if (workerName) head.worker = workerName;
  return head;
}

/** A `worker` field as text: a name, or an object naming one (`{ id }`, `{ name }`). */
function workerText(value: unknown): string | undefined {
  if (typeof value === "string" && value) return value;
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    const name = v["name"] ?? v["id"];
    if (typeof name === "string" || typeof name === "number") return String(name);
  }
  return undefined;
}

function stripNulls<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as T;
}

type SqliteDb = { prepare(sql: string): { all(...args: unknown[]): unknown[] } };

function sqliteHeads(root: Root, before: string | null, since: string | null, limit: number): RawHead[] {
  const db = (root.checkpointer.saver as unknown as { db?: SqliteDb }).db;
  if (!db) throw new Error(`cannot list threads of ${root.checkpointer.description}`);
  // The SQLite saver creates its tables on first use: a fresh state dir has none yet.
  if (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").all().length === 0) return [];
  const paths = FIELDS.map((p) => `'${p}'`).join(", ");
  const sql = `WITH heads AS (${HEADS.replace("{checkpoints}", "checkpoints").replace("{no_slash}", "instr(thread_id, '/') = 0")}),
    page AS (
      SELECT h.thread_id, h.first_id, h.last_id, json_extract(CAST(f.checkpoint AS TEXT), '$.ts') AS started_ts
      FROM heads h JOIN checkpoints f ON f.thread_id = h.thread_id AND f.checkpoint_ns = '' AND f.checkpoint_id = h.first_id
      WHERE (@before IS NULL OR h.first_id < @before) AND (@since IS NULL OR json_extract(CAST(f.checkpoint AS TEXT), '$.ts') >= @since)
      ORDER BY h.first_id DESC LIMIT @limit)
    SELECT p.thread_id, p.first_id, p.started_ts,
      json_extract(CAST(c.checkpoint AS TEXT), ${paths}) AS fields,
      (SELECT json_group_array(key) FROM json_each(CAST(c.checkpoint AS TEXT), '$.channel_values') WHERE key LIKE 'branch:to:%' OR key = '__start__') AS next,
      EXISTS (SELECT 1 FROM writes w WHERE w.thread_id = p.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = p.last_id AND w.channel = '__interrupt__') AS interrupted,
      EXISTS (SELECT 1 FROM writes w WHERE w.thread_id = p.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = p.last_id AND w.channel = '__resume__') AS resumed
    FROM page p JOIN checkpoints c ON c.thread_id = p.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id = p.last_id
    ORDER BY p.first_id DESC`;
  const rows = db.prepare(sql).all({ before, since, limit }) as { thread_id: string; first_id: string; started_ts: string | null; fields: string; next: string; interrupted: number; resumed: number }[];
  return rows.map((r) => ({
    thread_id: r.thread_id,
    first_id: r.first_id,
    started_ts: r.started_ts,
    fields: JSON.parse(r.fields) as unknown[],
    next: JSON.parse(r.next) as string[],
    interrupted: r.interrupted === 1,
    resumed: r.resumed === 1,
  }));
}

/**
 * One small pool per database for the list (the saver keeps its own private): a page read is one
 * round trip on a warm connection, and the named statement is planned once per connection.
 * Idle connections close and never keep the process alive.
 */
const pools = new Map<string, Promise<import("pg").Pool>>();
function poolFor(url: string): Promise<import("pg").Pool> {
  let pool = pools.get(url);
  if (!pool) {
    pool = import("pg").then(({ default: pg }) => {
      const created = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
      created.on("error", () => {});
      return created;
    });
    pools.set(url, pool);
  }
  return pool;
}

async function postgresHeads(root: Root, before: string | null, since: string | null, limit: number): Promise<RawHead[]> {
  const pool = await poolFor(postgresUrl(root.checkpointerUrl)!);
  const client = await pool.connect();
  // Channel values live in checkpoint_blobs at the version the checkpoint names. They are decoded
  // here rather than cast in SQL: `jsonb` refuses a \u0000 escape a value may hold, and `json` would
  // be parsed again for every field read from it.
  try {
    const result = await client.query<{ thread_id: string; first_id: string; started_ts: string | null; ts: string | null; blobs: [Buffer, Buffer][] | null; next: string[] | null; interrupted: boolean; resumed: boolean }>({
      name: "credit-optimizer-run-heads",
      text: `WITH heads AS (${HEADS.replace("{checkpoints}", "checkpoints").replace("{no_slash}", "strpos(thread_id, '/') = 0")}),
      page AS (
        SELECT h.thread_id, h.first_id, h.last_id, f.checkpoint->>'ts' AS started_ts
        FROM heads h JOIN checkpoints f ON f.thread_id = h.thread_id AND f.checkpoint_ns = '' AND f.checkpoint_id = h.first_id
        WHERE ($1::text IS NULL OR h.first_id < $1) AND ($2::text IS NULL OR f.checkpoint->>'ts' >= $2)
        ORDER BY h.first_id DESC LIMIT $3)
      SELECT p.thread_id, p.first_id, p.started_ts, c.checkpoint->>'ts' AS ts,
        (SELECT array_agg(array[b.channel::bytea, b.blob]) FROM checkpoint_blobs b WHERE b.thread_id = p.thread_id AND b.checkpoint_ns = ''
           AND b.channel = ANY($4) AND b.type = 'json' AND b.version = c.checkpoint->'channel_versions'->>b.channel) AS blobs,
        (SELECT array_agg(b.channel) FROM checkpoint_blobs b WHERE b.thread_id = p.thread_id AND b.checkpoint_ns = ''
           AND (b.channel LIKE 'branch:to:%' OR b.channel = '__start__') AND b.type <> 'empty' AND b.version = c.checkpoint->'channel_versions'->>b.channel) AS next,
        EXISTS (SELECT 1 FROM checkpoint_writes w WHERE w.thread_id = p.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = p.last_id AND w.channel = '__interrupt__') AS interrupted,
        EXISTS (SELECT 1 FROM checkpoint_writes w WHERE w.thread_id = p.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = p.last_id AND w.channel = '__resume__') AS resumed
      FROM page p JOIN checkpoints c ON c.thread_id = p.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id = p.last_id
      ORDER BY p.first_id DESC`,
      values: [before, since, limit, CHANNELS],
    });
    return result.rows.map((r) => {
      const values: Record<string, unknown> = {};
      for (const [name, blob] of r.blobs ?? []) values[name.toString("utf8")] = JSON.parse(blob.toString("utf8")) as unknown;
      const plan = values["plan"] as { name?: unknown } | undefined;
      const forecast = values["forecast"] as { durationMs?: unknown; usd?: unknown } | undefined;
      const approval = values["approval"] as { approved?: unknown } | undefined;
      const fields = [r.ts, plan?.name, values["planner"], values["outcome"], forecast?.durationMs, forecast?.usd, values["status"], approval?.approved, values["worker"], values["breakBefore"]];
      return { thread_id: r.thread_id, first_id: r.first_id, started_ts: r.started_ts, fields, next: r.next ?? [], interrupted: r.interrupted, resumed: r.resumed };
    });
  } finally {
    client.release();
  }
}
