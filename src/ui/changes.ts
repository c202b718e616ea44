import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import type { Root } from "../run/root.ts";
import { lockedTransaction } from "../pg-advisory.ts";
import { postgresUrl } from "../pg-url.ts";
import { maskSecrets } from "../secrets.ts";

/** A thread id when the change names one; undefined when anything may have changed. */
export type ChangeListener = (threadId: string | undefined) => void;

/**
 * How the viewer hears that a run moved, whichever process moved it (CLI, chat, Studio, a worker):
 * the state a page shows is re-read when told, not on a fast timer.
 */
export interface ChangeFeed {
  /** `postgres LISTEN credit_optimizer_runs`, `watching <dirs>`, or `polling: <why>`. */
  readonly description: string;
  subscribe(listener: ChangeListener): () => void;
  close(): Promise<void>;
}

export const NOTIFY_CHANNEL = "credit_optimizer_runs";

/** The tables a run's progress lands in, and the column naming its thread. */
const NOTIFYING_TABLES: readonly [string, "thread_id" | "run_id"][] = [
  ["checkpoints", "thread_id"],
  ["checkpoint_writes", "thread_id"],
  ["ledger_runs", "run_id"],
  ["ledger_steps", "run_id"],
  ["ledger_progress", "run_id"],
];

/**
 * On Postgres: a trigger on the checkpointer's and the ledger's tables sends `pg_notify` with the
 * thread id on every write, so every writer notifies without knowing of the viewer (the saver is
 * LangGraph's own), and the notification arrives when the write commits. On SQLite: the database
 * files' directory is watched (inotify on Linux): each commit appends to the `-wal` file.
 */
export async function openChangeFeed(root: Root): Promise<ChangeFeed> {
  const url = postgresUrl(root.checkpointerUrl);
  if (url) {
    try {
      return await postgresFeed(url);
    } catch (error) {
      // A role that may not create triggers (not the tables' owner) still gets a working viewer.
      return silentFeed(`polling: no LISTEN/NOTIFY (${maskSecrets(error instanceof Error ? error.message : String(error))})`);
    }
  }
  const files = [root.checkpointer.description, root.ledger.description].filter((d) => d.startsWith("sqlite:")).map((d) => path.resolve(d.slice("sqlite:".length)));
  return fileFeed(files);
}

function fanOut(): { listeners: Set<ChangeListener>; emit: ChangeListener; subscribe(listener: ChangeListener): () => void } {
  const listeners = new Set<ChangeListener>();
  return {
    listeners,
    emit: (threadId) => {
      for (const listener of listeners) listener(threadId);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Installs the notify triggers once (idempotent; concurrent viewers serialise on an advisory lock). */
export async function installNotifyTriggers(url: string): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    await lockedTransaction(client, NOTIFY_CHANNEL, async () => {
      for (const column of ["thread_id", "run_id"]) {
        await client.query(`CREATE OR REPLACE FUNCTION credit_optimizer_notify_${column}() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN PERFORM pg_notify('${NOTIFY_CHANNEL}', NEW.${column}); RETURN NULL; END $$`);
      }
      const existing = new Set((await client.query<{ tgname: string }>("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'credit_optimizer_notify_%'")).rows.map((r) => r.tgname));
      for (const [table, column] of NOTIFYING_TABLES) {
        const name = `credit_optimizer_notify_${table}`;
        if (existing.has(name)) continue;
        const present = await client.query("SELECT to_regclass($1) AS t", [table]);
        if (!present.rows[0]?.t) continue;
        await client.query(`CREATE TRIGGER ${name} AFTER INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION credit_optimizer_notify_${column}()`);
      }
    });
  } finally {
    await client.end().catch(() => {});
  }
}

async function postgresFeed(url: string): Promise<ChangeFeed> {
  await installNotifyTriggers(url);
  const { default: pg } = await import("pg");
  const feed = fanOut();
  let client: InstanceType<typeof pg.Client> | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: `credit-optimizer ui pid=${process.pid}` });
    next.on("notification", (message) => feed.emit(message.payload || undefined));
    next.on("error", () => {
      // A dropped listener misses notifications: reconnect, and tell every page to read again.
      void next.end().catch(() => {});
      if (client === next) client = undefined;
      if (!closed) retry = setTimeout(() => void connect().then(() => feed.emit(undefined), () => {}), 1000).unref();
    });
    await next.connect();
    await next.query(`LISTEN ${NOTIFY_CHANNEL}`);
    client = next;
  };
  await connect();
  return {
    description: `postgres LISTEN ${NOTIFY_CHANNEL}`,
    subscribe: feed.subscribe,
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}

/** Hears nothing: the viewer's once-a-second read is all there is. */
function silentFeed(description: string): ChangeFeed {
  return { description, subscribe: () => () => {}, close: async () => {} };
}

function fileFeed(files: readonly string[]): ChangeFeed {
  const feed = fanOut();
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const names = byDir.get(path.dirname(file)) ?? new Set<string>();
    // The database and its write-ahead log; not `-shm`, which readers touch too.
    names.add(path.basename(file));
    names.add(`${path.basename(file)}-wal`);
    byDir.set(path.dirname(file), names);
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || names.has(String(name))) feed.emit(undefined);
      });
      watcher.on("error", () => {});
      watchers.push(watcher);
    } catch {
      // No directory watch here (some network file systems): the viewer's once-a-second read still runs.
    }
  }
  return {
    description: `watching ${[...byDir.keys()].join(", ")}`,
    subscribe: feed.subscribe,
    async close() {
      for (const watcher of watchers) watcher.close();
    },
  };
}
