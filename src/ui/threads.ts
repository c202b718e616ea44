import type { Root } from "../run/root.ts";
import { postgresUrl } from "../pg-url.ts";

/**
 * Run threads in the checkpointer, newest first. The savers have no "list threads" call (their
 * `list()` without a thread deserialises every checkpoint of every thread), so this reads the one
 * table both savers keep, `checkpoints`, for distinct root-namespace thread ids. Agent memory
 * threads (`<session>/<agent>`) are left out: they are not runs.
 */
export async function listRunThreads(root: Root, limit = 500): Promise<string[]> {
  const url = postgresUrl(root.checkpointerUrl);
  let ids: string[];
  if (url) {
    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const result = await client.query<{ thread_id: string }>(
        "SELECT thread_id FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id ORDER BY MAX(checkpoint_id) DESC LIMIT $1",
        [limit],
      );
      ids = result.rows.map((r) => r.thread_id);
    } finally {
      await client.end();
    }
  } else {
    const db = (root.checkpointer.saver as unknown as { db?: { prepare(sql: string): { all(...args: unknown[]): { thread_id: string }[] } } }).db;
    if (!db) throw new Error(`cannot list threads of ${root.checkpointer.description}`);
    // The SQLite saver creates its tables on first use: a fresh state dir has none yet.
    const exists = db.prepare("SELECT name AS thread_id FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").all();
    ids = exists.length === 0 ? [] : db.prepare("SELECT thread_id FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id ORDER BY MAX(checkpoint_id) DESC LIMIT ?").all(limit).map((r) => r.thread_id);
  }
  return ids.filter((id) => !id.includes("/"));
}
