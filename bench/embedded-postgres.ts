/**
 * The embedded Postgres (PGlite host) against the local Postgres server: time to create a project
 * (cold, with the host's start and initdb, then warm), a database and a branch; connect and query
 * latency; the host's memory as databases are added; and the RAD Crawler workflow on it, asap
 * against sequential.
 *
 *   npx tsx bench/embedded-postgres.ts
 */
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { loadConfig } from "../src/config.ts";
import { median } from "../src/cost/stats.ts";
import { openRoot } from "../src/run/root.ts";
import { DEFAULT_LOCAL_POSTGRES_URL, DEFAULT_LOCAL_REDIS_URL } from "../src/servers/toolkit/env.ts";
import { localNeon } from "../src/servers/toolkit/providers/local/embedded-client.ts";
import { hostFile, type HostInfo } from "../src/servers/toolkit/providers/local/embedded-neon.ts";
import type { NeonBackend } from "../src/servers/toolkit/providers/neon-backend.ts";
import type { ToolkitEnv } from "../src/servers/toolkit/tool.ts";
import { getWorkflow } from "../src/workflows/index.ts";
import { runWorkflow, sequentialPlan, undoRun } from "../tests/helpers/pipeline.ts";

const round = (ms: number): number => Math.round(ms * 100) / 100;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: Math.round(performance.now() - started), value };
}

function hostRssMb(env: ToolkitEnv): number {
  const { pid } = JSON.parse(readFileSync(hostFile(env.dataDir), "utf8")) as HostInfo;
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

/** Median ms of a new connection plus `SELECT 1`, and of `SELECT 1` on an open connection. */
async function latency(url: string): Promise<{ connectMs: number; queryMs: number }> {
  const connects: number[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("SELECT 1");
    connects.push(performance.now() - started);
    await client.end();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const queries: number[] = [];
  for (let i = 0; i < 500; i++) {
    const started = performance.now();
    await client.query("SELECT 1");
    queries.push(performance.now() - started);
  }
  await client.end();
  return { connectMs: round(median(connects)), queryMs: round(median(queries)) };
}

async function backendNumbers(neon: NeonBackend, env: ToolkitEnv | undefined): Promise<Record<string, unknown>> {
  const ids: string[] = [];
  try {
    const first = await timed(() => neon.createProject({ name: "bench-0" }));
    ids.push(first.value.project_id);
    const rss: Record<string, number> = {};
    if (env) rss["1"] = hostRssMb(env);
    const warm: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const next = await timed(() => neon.createProject({ name: `bench-${i}` }));
      ids.push(next.value.project_id);
      warm.push(next.ms);
    }
    if (env) rss["4"] = hostRssMb(env);
    const pid = first.value.project_id;
    const database = await timed(() => neon.createDatabase({ project_id: pid, database_name: "extra" }));
    const client = new pg.Client({ connectionString: first.value.connection_string });
    await client.connect();
    await client.query("CREATE TABLE items AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 10000) g");
    await client.end();
    const branch = await timed(() => neon.createBranch({ project_id: pid, name: "dev" }));
    if (env) rss["7"] = hostRssMb(env);
    const lat = await latency(first.value.connection_string);
    const deleted = await timed(async () => {
      for (const id of ids.splice(0)) await neon.deleteProject({ project_id: id });
    });
    return {
      firstProjectMs: first.ms,
      nextProjectMedianMs: median(warm),
      createDatabaseMs: database.ms,
      branchWith10kRowsMs: branch.ms,
      ...lat,
      deleteFourProjectsMs: deleted.ms,
      ...(env ? { hostRssMbByDatabases: rss } : {}),
    };
  } finally {
    for (const id of ids) await neon.deleteProject({ project_id: id }).catch(() => {});
  }
}

async function radAsapVsSequential(): Promise<Record<string, unknown>> {
  const home = mkdtempSync(path.join(tmpdir(), "co-bench-embedded-rad-"));
  const config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), LOCAL_POSTGRES_URL: "embedded", PATH: process.env.PATH }, home);
  const root = await openRoot(config);
  const template = getWorkflow("rad-crawler-setup")!;
  const reports = [];
  try {
    // A first run warms the host (start, initdb) so that neither timed run pays for it.
    const warmup = await runWorkflow(root, template, { app_name: "rad-warmup" });
    reports.push(warmup);
    const row: Record<string, unknown> = {};
    for (const [name, transform] of [["asap", undefined], ["sequential", sequentialPlan]] as const) {
      const run = await timed(() => runWorkflow(root, template, { app_name: `rad-${name}` }, { transform }));
      reports.push(run.value);
      row[`${name}Ms`] = run.ms;
      row[`${name}Status`] = run.value.status;
    }
    return row;
  } finally {
    for (const report of reports.reverse()) await undoRun(report, await root.context());
    await root.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export async function benchEmbeddedPostgres(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "co-bench-embedded-"));
  const embeddedEnv: ToolkitEnv = { dataDir, localPostgresUrl: "embedded", localRedisUrl: DEFAULT_LOCAL_REDIS_URL };
  const serverEnv: ToolkitEnv = { dataDir, localPostgresUrl: DEFAULT_LOCAL_POSTGRES_URL, localRedisUrl: DEFAULT_LOCAL_REDIS_URL };
  try {
    return {
      embedded: await backendNumbers(localNeon(embeddedEnv), embeddedEnv),
      server: await backendNumbers(localNeon(serverEnv), undefined),
      radCrawlerOnEmbedded: await radAsapVsSequential(),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchEmbeddedPostgres(), null, 2));
}
