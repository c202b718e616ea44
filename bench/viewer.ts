/**
 * The viewer: its weight (bytes of HTML, JS and CSS it serves); how long a run page of 200 steps
 * takes to render in headless chromium (the page's feed is answered by a synthetic run, 20 layers of
 * 10 steps each reading two of the layer before, so the number is the front end's alone); the runs
 * list over 1,000 runs, before (thread ids, then the state of each thread, at most 500) and after
 * (one query per page); and how long a change written by another connection takes to reach a page's
 * feed (LISTEN/NOTIFY on Postgres, the file watch on SQLite). On SQLite and on Postgres.
 */
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import puppeteer from "puppeteer-core";
import { loadConfig } from "../src/config.ts";
import { drive } from "../src/run/drive.ts";
import { openRoot, type Root } from "../src/run/root.ts";
import { startViewer } from "../src/ui/server.ts";
import { listRunHeads } from "../src/ui/threads.ts";
import { summarize, type RunView } from "../src/ui/view.ts";
import { fakeServer } from "../tests/helpers/fake-mcp.ts";

function syntheticRun(layers: number, width: number): RunView {
  const id = (l: number, i: number): string => `s${l}_${i}`;
  const nodes: RunView["nodes"] = [];
  const edges: RunView["edges"] = [];
  const timeline: RunView["timeline"] = [];
  const steps: RunView["steps"] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      nodes.push({ id: id(l, i), tool: "toolkit.work", status: "succeeded", critical: i === 0 });
      if (l > 0) {
        edges.push({ from: id(l - 1, i), to: id(l, i), implied: false, critical: i === 0 });
        edges.push({ from: id(l - 1, (i + 1) % width), to: id(l, i), implied: true, critical: false });
      }
      const start = l * 100 + i;
      // Every third step was retried once: two segments with a backoff between them.
      const segments = i % 3 === 0 ? [{ startMs: start, endMs: start + 30, error: "TOOL_ERROR: 503" }, { startMs: start + 50, endMs: start + 90 }] : [{ startMs: start, endMs: start + 90 }];
      timeline.push({ id: id(l, i), kind: "step", status: "succeeded", startMs: start, endMs: start + 90, attempts: segments.length, segments });
      steps.push({ id: id(l, i), tool: "toolkit.work", status: "succeeded", params: { name: id(l, i) }, output: { ok: true }, attempts: segments.length, ms: 90 });
    }
  }
  return {
    threadId: "bench", plan: "200 steps", status: "succeeded", waiting: false, request: "", active: false, destructive: [], modelCalls: [], modelForecast: [],
    nodes, edges, timeline, steps, notes: [], problems: [], usage: [], startedAt: Date.now(), durationMs: layers * 100,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number): number => Math.round(x * 10) / 10;

async function pageBench(): Promise<Record<string, unknown>> {
  const home = mkdtempSync(path.join(tmpdir(), "co-bench-viewer-"));
  const root = await openRoot(loadConfig({ CREDIT_OPTIMIZER_HOME: home }));
  const viewer = await startViewer(root);
  const weight: Record<string, number> = {};
  for (const asset of ["/", "/assets/app.js", "/assets/app.css", "/assets/dagre.js"]) {
    weight[asset] = (await (await fetch(`${viewer.url}${asset}`)).arrayBuffer()).byteLength;
  }
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    userDataDir: mkdtempSync(path.join(tmpdir(), "co-bench-chromium-")),
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const body = `data: ${JSON.stringify(syntheticRun(20, 10))}\n\n`;
    await page.setRequestInterception(true);
    page.on("request", (request) => {
      if (request.url().endsWith("/api/runs/bench/events")) void request.respond({ status: 200, contentType: "text/event-stream", body });
      else void request.continue();
    });
    const renders: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await page.goto(`${viewer.url}/runs/bench`);
      await page.waitForFunction("document.querySelectorAll('#dag .node').length === 200 && document.querySelectorAll('#timeline .bar').length === 200");
      renders.push(performance.now() - started);
    }
    renders.sort((a, b) => a - b);
    return {
      bytes: { ...weight, js: weight["/assets/app.js"]! + weight["/assets/dagre.js"]!, css: weight["/assets/app.css"]! },
      appJsSourceBytes: statSync(new URL("../src/ui/public/app.js", import.meta.url)).size,
      render200StepsMs: { median: Math.round(renders[2]!), min: Math.round(renders[0]!), max: Math.round(renders[4]!), runs: renders.length },
    };
  } finally {
    await browser.close();
    await viewer.close();
    await root.close();
  }
}

/** The runs list as it was: thread ids (at most 500), then each thread's whole state. */
async function listBefore(root: Root, sql: (q: string) => Promise<string[]>): Promise<number> {
  const ids = (await sql("SELECT thread_id FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id ORDER BY MAX(checkpoint_id) DESC LIMIT 500")).filter((id) => !id.includes("/"));
  const records = await root.ledger.runs();
  const byId = new Map(records.map((r) => [r.runId, r]));
  const graph = root.graph();
  const rows = await Promise.all(ids.map(async (id) => summarize(id, await graph.getState({ configurable: { thread_id: id } }), byId.get(id))));
  return rows.length;
}

/** The runs list now: pages of `limit` through one query each (and one on the ledger). */
async function listAfter(root: Root, limit: number, pages: number): Promise<number> {
  let before: string | undefined;
  let count = 0;
  for (let i = 0; i < pages; i++) {
    const page = await listRunHeads(root, { limit, before });
    await root.ledger.runs({ runIds: page.heads.map((h) => h.threadId) });
    count += page.heads.length;
    before = page.next;
    if (!before) break;
  }
  return count;
}

async function timed(fn: () => Promise<number>, times: number): Promise<{ medianMs: number; rows: number }> {
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    rows = await fn();
    ms.push(performance.now() - started);
  }
  return { medianMs: round(median(ms)), rows };
}

/** Reads SSE events from a page's feed; resolves each `next()` with the time the next event arrived. */
async function feed(url: string): Promise<{ next(): Promise<number>; close(): void }> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const waiting: ((at: number) => void)[] = [];
  const arrived: number[] = [];
  void (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      buffered += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        buffered = buffered.slice(end + 2);
        const at = performance.now();
        const waiter = waiting.shift();
        if (waiter) waiter(at);
        else arrived.push(at);
      }
    }
  })();
  return {
    next: () => (arrived.length ? Promise.resolve(arrived.shift()!) : new Promise<number>((resolve) => waiting.push(resolve))),
    close: () => controller.abort(),
  };
}

async function backendBench(backend: "sqlite" | "postgres", runs: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(tmpdir(), "co-bench-runs-"));
  const mcp = path.join(dir, "mcp.json");
  writeFileSync(mcp, JSON.stringify({ mcpServers: { infra: fakeServer("infra", path.join(dir, "calls.jsonl")) } }));
  const database = `co_bench_viewer_${Date.now()}`;
  const adminUrl = "postgres://postgres@127.0.0.1:5432/postgres";
  const env: Record<string, string> = { CREDIT_OPTIMIZER_HOME: path.join(dir, "home"), PATH: process.env["PATH"] ?? "" };
  if (backend === "postgres") {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    env["DATABASE_URL"] = `postgres://postgres@127.0.0.1:5432/${database}`;
  }
  const config = loadConfig(env);
  const root = await openRoot(config, { mcpConfigPath: mcp });
  const pgClient = backend === "postgres" ? new pg.Client({ connectionString: env["DATABASE_URL"] }) : undefined;
  await pgClient?.connect();
  const sqlite = (root.checkpointer.saver as unknown as { db?: import("better-sqlite3").Database }).db;
  const ids = async (q: string): Promise<string[]> =>
    pgClient ? (await pgClient.query<{ thread_id: string }>(q)).rows.map((r) => r.thread_id) : (sqlite!.prepare(q).all() as { thread_id: string }[]).map((r) => r.thread_id);
  try {
    // One real run of a 30-step plan, copied to `runs` threads (checkpoint ids made unique per copy).
    const steps = Array.from({ length: 30 }, (_, i) => ({ id: `s${i}`, tool: "infra.work", dependencies: i >= 3 ? [`s${i - 3}`] : [], params: { name: `s${i}` } }));
    const seeded = await drive(root, "seed", { plan: { name: "bench plan", steps }, mcpConfigPath: mcp });
    if (seeded.kind !== "finished") throw new Error("the seed run did not finish");
    const id = (column: string, n: string): string => (pgClient ? `left(${column}, 24) || lpad(${n}::text, 12, '0')` : `substr(${column}, 1, 24) || printf('%012d', ${n})`);
    const copies = [
      `INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, {cp_cols}) SELECT {thread}, checkpoint_ns, ${id("checkpoint_id", "{n}")}, CASE WHEN parent_checkpoint_id IS NULL THEN NULL ELSE ${id("parent_checkpoint_id", "{n}")} END, {cp_cols} FROM checkpoints WHERE thread_id = 'seed'`,
      pgClient
        ? `INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob) SELECT {thread}, checkpoint_ns, ${id("checkpoint_id", "{n}")}, task_id, idx, channel, type, blob FROM checkpoint_writes WHERE thread_id = 'seed'`
        : `INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value) SELECT {thread}, checkpoint_ns, ${id("checkpoint_id", "{n}")}, task_id, idx, channel, type, value FROM writes WHERE thread_id = 'seed'`,
      ...(pgClient ? ["INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) SELECT {thread}, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs WHERE thread_id = 'seed'"] : []),
    ].map((q) => q.replaceAll("{cp_cols}", pgClient ? "checkpoint, metadata" : "type, checkpoint, metadata"));
    const copy = (n: number): string[] => copies.map((q) => q.replaceAll("{thread}", `'run-${n}'`).replaceAll("{n}", String(n)));
    if (pgClient) {
      await pgClient.query("BEGIN");
      for (let n = 1; n < runs; n++) for (const q of copy(n)) await pgClient.query(q);
      await pgClient.query("COMMIT");
    } else {
      sqlite!.transaction(() => {
        for (let n = 1; n < runs; n++) for (const q of copy(n)) sqlite!.prepare(q).run();
      })();
    }
    const before = await timed(() => listBefore(root, ids), 3);
    const firstPage = await timed(() => listAfter(root, 50, 1), 5);
    const all = await timed(() => listAfter(root, 500, 10), 3);

    // Live: a thread written through another connection reaches the runs page's feed.
    const other = await openRoot(config);
    const viewer = await startViewer(root, { pollMs: 600_000 });
    const events = await feed(`${viewer.url}/api/runs/events?limit=50`);
    await events.next();
    const latency: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const checkpoint = { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: { __start__: { request: "" } }, channel_versions: { __start__: 1 }, versions_seen: {} };
        await other.checkpointer.saver.put({ configurable: { thread_id: `live-${i}`, checkpoint_ns: "" } }, checkpoint, { source: "input", step: -1, parents: {} }, { __start__: 1 });
        latency.push((await events.next()) - started);
        // Let the feed settle before the next write.
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      events.close();
      await viewer.close();
      await other.close();
    }
    return {
      runs,
      before: { ...before, note: "thread ids, then getState of each thread (stops at 500 threads)" },
      after: { firstPage50: firstPage, all1000InPagesOf500: all },
      speedupFirstPage: round(before.medianMs / firstPage.medianMs),
      liveChangeToFeedMs: { median: round(median(latency)), max: round(Math.max(...latency)), runs: latency.length, via: viewer.changes },
    };
  } finally {
    await pgClient?.end();
    await root.close();
    if (backend === "postgres") {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  }
}

export async function benchViewer(): Promise<Record<string, unknown>> {
  return {
    ...(await pageBench()),
    runsList: { sqlite: await backendBench("sqlite", 1000), postgres: await backendBench("postgres", 1000) },
  };
}
