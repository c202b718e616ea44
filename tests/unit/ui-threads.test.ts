import { uuid6, type BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openRoot, type Root } from "../../src/run/root.ts";
import { listRunHeads } from "../../src/ui/threads.ts";
import { summarizeHead } from "../../src/ui/view.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A thread as the saver stores one: a first (input) checkpoint and a latest one holding `values`,
 * with `next` nodes' trigger channels set, and an unanswered interrupt when `waiting`.
 */
async function writeThread(saver: BaseCheckpointSaver, threadId: string, o: { startedAt: number; values: Record<string, unknown>; next?: string[]; waiting?: boolean }): Promise<void> {
  const first = { v: 4, id: uuid6(-1), ts: new Date(o.startedAt).toISOString(), channel_values: { __start__: { request: "" } }, channel_versions: { __start__: 1 }, versions_seen: {} };
  const config = await saver.put({ configurable: { thread_id: threadId, checkpoint_ns: "" } }, first, { source: "input", step: -1, parents: {} }, { __start__: 1 });
  const values: Record<string, unknown> = { ...o.values, ...Object.fromEntries((o.next ?? []).map((n) => [`branch:to:${n}`, null])) };
  const versions = Object.fromEntries(Object.keys(values).map((k) => [k, 2]));
  const last = { v: 4, id: uuid6(-1), ts: new Date(o.startedAt + 1000).toISOString(), channel_values: values, channel_versions: { __start__: 1, ...versions }, versions_seen: {} };
  const latest = await saver.put(config, last, { source: "loop", step: 1, parents: {} }, versions);
  if (o.waiting) await saver.putWrites(latest, [["__interrupt__", [{ id: "i", value: { kind: "approval", question: "Go on?" } }]]], "task-approve");
}

describe.each(["sqlite", "postgres"] as const)("the runs list reads each page in one query (%s)", (backend) => {
  const database = `co_ui_threads_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  let root: Root;
  const day = Date.parse("2026-11-20T10:00:00.000Z");

  beforeAll(async () => {
    const env: Record<string, string> = { CREDIT_OPTIMIZER_HOME: tempDir("co-ui-threads-") };
    if (backend === "postgres") {
      await admin(`CREATE DATABASE ${database}`);
      env["DATABASE_URL"] = `postgres://postgres@127.0.0.1:5432/${database}`;
    }
    root = await openRoot(loadConfig(env));
    const saver = root.checkpointer.saver;
    await writeThread(saver, "r-old", { startedAt: day, values: { plan: { name: "old plan", steps: [] }, approval: { approved: true }, report: { outcome: "executed", status: "rolled_back", actual: { ms: 1200, usd: 0.5 }, plan: "old plan" }, outcome: "executed", status: "rolled_back" } });
    await writeThread(saver, "r-wait", { startedAt: day + 86_400_000, values: { plan: { name: "costly" }, planner: { kind: "file" }, forecast: { durationMs: { p50: 10, p90: 20 }, usd: { p50: 5, p90: 6 } } }, next: ["approve"], waiting: true });
    await writeThread(saver, "r-run", { startedAt: day + 2 * 86_400_000, values: { plan: { name: "busy" }, approval: { approved: true }, worker: { id: "worker-7" } }, next: ["execute"] });
    // An agent's memory thread is not a run.
    await writeThread(saver, "session-1/architect", { startedAt: day, values: { plan: { name: "memory" } } });
  });

  afterAll(async () => {
    await root?.close();
    if (backend === "postgres") await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it("pages newest first with a cursor; each row has its status, plan, waiting and worker", async () => {
    const first = await listRunHeads(root, { limit: 2 });
    expect(first.heads.map((h) => h.threadId)).toEqual(["r-run", "r-wait"]);
    expect(first.next).toBe(first.heads[1]!.cursor);
    const second = await listRunHeads(root, { limit: 2, before: first.next });
    expect(second.heads.map((h) => h.threadId)).toEqual(["r-old"]);
    expect(second.next).toBeUndefined();

    // The actuals of an executed run come from its ledger record (the report is not read for a row).
    const record = { runId: "r-old", plan: "old plan", status: "rolled_back", startedAt: day, actual: { durationMs: 1200, usd: 0.5 } };
    const rows = Object.fromEntries([...first.heads, ...second.heads].map((h) => [h.threadId, summarizeHead(h, h.threadId === "r-old" ? record : undefined)]));
    expect(rows["r-run"]).toMatchObject({ status: "running", plan: "busy", waiting: false, worker: "worker-7", startedAt: day + 2 * 86_400_000 });
    expect(rows["r-wait"]).toMatchObject({ status: "waiting", plan: "costly", waiting: true, planner: "file", forecastUsd: { p50: 5, p90: 6 } });
    expect(rows["r-wait"]!.worker).toBeUndefined();
    expect(rows["r-old"]).toMatchObject({ status: "rolled_back", plan: "old plan", durationMs: 1200, usd: 0.5, waiting: false, startedAt: day });
  });

  it("filters by start date in the query", async () => {
    const page = await listRunHeads(root, { since: day + 86_400_000 });
    expect(page.heads.map((h) => h.threadId)).toEqual(["r-run", "r-wait"]);
  });
});
