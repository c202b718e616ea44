import { RunnableLambda } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, LangGraphRunnableConfig } from "@langchain/langgraph";
import Database from "better-sqlite3";
import type { Pool } from "pg";
import { createTableOnce } from "../pg-advisory.ts";

/*
 * The step journal: the durable record of what finished inside one node execution (steps, early
 * steps, rollbacks), so that a node re-run after a kill takes those results as done instead of
 * calling them again. It replaces one LangGraph task per step, whose cost grows with the number of
 * tasks in a superstep. An entry is keyed by the node execution — thread and the node's
 * `__pregel_task_id`, which LangGraph derives from the checkpoint its superstep starts from (and its
 * namespace): the same when that superstep is re-run (after a kill or an interrupt), new in every
 * later one (tests/graphs/langgraph-internals.test.ts) — and by its own key (`step:<id>`, …).
 * It lives in the checkpointer's database, in a table of ours, so a killed process leaves it exactly
 * where the resumed one reads its checkpoint. Values are JSON, as step results in the checkpoint are.
 */

/** Where entries are kept. */
export interface JournalStore {
  /** The entries one node execution saved. */
  read(scope: string, task: string): Promise<Map<string, unknown>>;
  /** Saves entries of one node execution, all or none. */
  write(scope: string, task: string, entries: [key: string, value: unknown][]): Promise<void>;
  /** Deletes the entries of the scope's (thread's) other node executions. */
  prune(scope: string, task: string): Promise<void>;
}

/** The journal of one node execution. */
export interface NodeJournal {
  /**
   * What this node execution saved under `key` before it was re-run; else `fn`, traced (when `trace`
   * is given) as its own LangSmith run `name` (with `metadata` on it and every run inside), its result
   * saved: resolved once durable.
   */
  run<T>(key: string, trace: Trace | undefined, fn: () => Promise<T>): Promise<T>;
}

type Trace = { name: string; metadata: Record<string, unknown> };

const TABLE = "credit_optimizer_step_journal";
const COLUMNS = "scope TEXT NOT NULL, task TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, task, key)";
const stores = new WeakMap<BaseCheckpointSaver, JournalStore>();

/** The journal's store for a saver (openCheckpointer registers its database); any other saver's is an in-memory SQLite. */
export function registerJournal(saver: BaseCheckpointSaver, store: JournalStore): void {
  stores.set(saver, store);
}

/**
 * The journal of the node running with `config`: read once; the entries other nodes of the thread
 * left are deleted — nodes that journal (architect, runAsap, compensate) run one after another, so
 * theirs belong to checkpointed supersteps — and a thread keeps at most its last such node's entries.
 * Without a checkpointer nothing can resume and nothing is kept.
 */
export async function nodeJournal(config: LangGraphRunnableConfig | undefined): Promise<NodeJournal> {
  const configurable = config?.configurable ?? {};
  const saver = configurable["__pregel_checkpointer"] as BaseCheckpointSaver | undefined;
  const task = configurable["__pregel_task_id"];
  // A run per step only when someone listens (a tracer): an unobserved run still costs a run tree.
  const callbacks = config?.callbacks;
  const listened = Array.isArray(callbacks) ? callbacks.length > 0 : (callbacks?.handlers.length ?? 0) > 0;
  const traced = <T>(trace: Trace | undefined, fn: () => Promise<T>): Promise<T> =>
    listened && trace ? RunnableLambda.from(fn).invoke(undefined, { callbacks, runName: trace.name, metadata: trace.metadata }) : fn();
  if (!saver || typeof task !== "string") return { run: (_key, trace, fn) => traced(trace, fn) };
  if (!stores.has(saver)) registerJournal(saver, sqliteJournal(new Database(":memory:")));
  const store = stores.get(saver)!;
  const scope = String(configurable["thread_id"]);
  const [saved] = await Promise.all([store.read(scope, task), store.prune(scope, task)]);
  // Saves made in one tick are written in one batch; batches do not wait for each other.
  let batch: [string, unknown][] | undefined;
  let written: Promise<void> = Promise.resolve();
  const save = (key: string, value: unknown): Promise<void> => {
    if (!batch) {
      const entries: [string, unknown][] = (batch = []);
      written = new Promise((resolve) => setImmediate(resolve)).then(() => {
        batch = undefined;
        return store.write(scope, task, entries);
      });
    }
    batch.push([key, value]);
    return written;
  };
  return {
    run: async <T>(key: string, trace: Trace | undefined, fn: () => Promise<T>): Promise<T> => {
      if (saved.has(key)) return saved.get(key) as T;
      const value = await traced(trace, fn);
      await save(key, value);
      return value;
    },
  };
}

/** The journal in a SQLite database (better-sqlite3: synchronous, one transaction per batch). */
export function sqliteJournal(db: Database.Database): JournalStore {
  db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (${COLUMNS})`);
  const select = db.prepare<[string, string], { key: string; value: string }>(`SELECT key, value FROM ${TABLE} WHERE scope = ? AND task = ?`);
  const insert = db.prepare(`INSERT OR REPLACE INTO ${TABLE} (scope, task, key, value) VALUES (?, ?, ?, ?)`);
  const prune = db.prepare(`DELETE FROM ${TABLE} WHERE scope = ? AND task <> ?`);
  const writeAll = db.transaction((scope: string, task: string, entries: [string, unknown][]) => {
    for (const [key, value] of entries) insert.run(scope, task, key, JSON.stringify(value));
  });
  return {
    read: async (scope, task) => new Map(select.all(scope, task).map((r) => [r.key, JSON.parse(r.value) as unknown])),
    write: async (scope, task, entries) => writeAll(scope, task, entries),
    prune: async (scope, task) => void prune.run(scope, task),
  };
}

/** The journal in a Postgres database: its table created here (once, where the checkpointer opens), one statement per batch. */
export async function postgresJournal(pool: Pool): Promise<JournalStore> {
  await createTableOnce(pool, TABLE, COLUMNS);
  return {
    read: async (scope, task) => {
      const { rows } = await pool.query<{ key: string; value: string }>(`SELECT key, value FROM ${TABLE} WHERE scope = $1 AND task = $2`, [scope, task]);
      return new Map(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
    },
    write: async (scope, task, entries) => {
      await pool.query(
        `INSERT INTO ${TABLE} (scope, task, key, value) SELECT $1, $2, k, v FROM unnest($3::text[], $4::text[]) AS e(k, v)
         ON CONFLICT (scope, task, key) DO UPDATE SET value = excluded.value`,
        [scope, task, entries.map(([key]) => key), entries.map(([, value]) => JSON.stringify(value))],
      );
    },
    prune: async (scope, task) => void (await pool.query(`DELETE FROM ${TABLE} WHERE scope = $1 AND task <> $2`, [scope, task])),
  };
}
