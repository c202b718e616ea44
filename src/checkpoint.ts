import { maskSecrets } from "./secrets.ts";
import { postgresUrl } from "./pg-url.ts";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { postgresJournal, registerJournal, sqliteJournal } from "./engine/step-journal.ts";

export interface Checkpointer {
  saver: BaseCheckpointSaver;
  /** `sqlite:<file>` or `postgres://…` with the password masked. */
  description: string;
  close(): Promise<void>;
}

/**
 * The saver for every graph: a SQLite file under the state dir by default, Postgres when given a
 * `postgres://` URL (from `--checkpointer` or DATABASE_URL). The step journal (src/engine/step-journal.ts)
 * lives in the same database.
 */
export async function openCheckpointer(options: { home: string; url?: string }): Promise<Checkpointer> {
  const url = postgresUrl(options.url);
  if (url) {
    const [{ PostgresSaver }, { default: pg }] = await Promise.all([import("@langchain/langgraph-checkpoint-postgres"), import("pg")]);
    const pool = new pg.Pool({ connectionString: url });
    // A dropped idle connection must not crash the process: the next query fails (and says why) instead.
    pool.on("error", () => {});
    pool.on("connect", (client) => client.on("error", () => {}));
    const saver = new PostgresSaver(pool);
    await saver.setup();
    registerJournal(saver, await postgresJournal(pool));
    return { saver, description: maskSecrets(url), close: () => saver.end() };
  }
  const file = options.url?.replace(/^sqlite:/, "") || path.join(options.home, "checkpoints.sqlite");
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  const saver = SqliteSaver.fromConnString(file);
  registerJournal(saver, sqliteJournal(saver.db));
  return { saver, description: `sqlite:${file}`, close: async () => {
      saver.db.close();
    } };
}
