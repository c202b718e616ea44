/**
 * Runs on BullMQ workers (`npm run bench -- --only workers`): (1) throughput — 100 runs of a 5-step
 * plan (50 ms steps: one, three in parallel, one) on 1, 2 and 4 worker processes; (2) failover —
 * from `kill -9` of the worker holding a run to another worker resuming it (`--lock-ms 2000`);
 * (3) the overhead of a queued run (submit → report, one worker) against the same run driven in
 * this process on a warm root. Real Redis and Postgres; every worker is its own process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { loadConfig } from "../src/config.ts";
import { median } from "../src/cost/stats.ts";
import { drive, type RunInput } from "../src/run/drive.ts";
import { openRoot } from "../src/run/root.ts";
import { openRunQueue, parseQueueUrl, type RunQueue } from "../src/worker/queue.ts";
import { submit } from "../src/worker/submit.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin/credit-optimizer.js");
const FAKE = path.join(ROOT, "tests/fixtures/servers/fake-tools.ts");
const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const RUNS = 100;
const STEP_MS = 50;
const LOCK_MS = 2000;
const FAILOVERS = 3;
/** Queued and local runs each; the first two of each are warm-up. */
const OVERHEAD_RUNS = 10;

interface Worker {
  child: ChildProcess;
  log(): string;
  exited: Promise<unknown>;
}

export async function benchWorkers(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(tmpdir(), "co-bench-workers-"));
  const db = `co_bench_workers_${randomUUID().replace(/-/g, "")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const env = { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${db}`, CREDIT_OPTIMIZER_SECRET_KEY: randomBytes(32).toString("hex") };
  const mcp = path.join(dir, "mcp.json");
  const server = (ms: number, delays: Record<string, number> = {}) => ({
    command: process.execPath,
    args: ["--import", "tsx", FAKE],
    env: { FAKE_SERVER: "infra", FAKE_DEFAULT_MS: String(ms), FAKE_DELAYS: JSON.stringify(delays), PATH: process.env["PATH"] ?? "" },
  });
  writeFileSync(mcp, JSON.stringify({ mcpServers: { infra: server(STEP_MS, { "slow-hold": 4000 }) } }));
  const workers: Worker[] = [];
  const start = (queueUrl: string, name: string): Worker => {
    const child = spawn(process.execPath, [BIN, "worker", "--queue", queueUrl, "--name", name, "--mcp-config", mcp, "--concurrency", "4", "--server-limit", "64", "--lock-ms", String(LOCK_MS), "--grace-ms", "60000"], {
      cwd: ROOT,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", CREDIT_OPTIMIZER_HOME: mkdtempSync(path.join(dir, `${name}-`)), ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    const worker = { child, log: () => log, exited: new Promise((r) => child.on("exit", r)) };
    workers.push(worker);
    return worker;
  };
  const ready = async (ws: Worker[]): Promise<void> => until(() => ws.every((w) => /worker \S+ on/.test(w.log())), 180_000);
  const stopAll = async (ws: Worker[]): Promise<void> => {
    for (const w of ws) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
    await Promise.all(ws.map((w) => w.exited));
  };
  const benchStarted = performance.now();
  // Connections to the bench database while runs go: runs hold none of their own (thread locks are lease rows).
  const peakConnections = async (during: () => Promise<void>): Promise<number> => {
    let peak = 0;
    let going = true;
    const sampler = (async () => {
      while (going) {
        const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [db]);
        peak = Math.max(peak, rows[0]?.n ?? 0);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await during();
    } finally {
      going = false;
      await sampler;
    }
    return peak;
  };
  try {
    const throughput: Record<string, unknown> = {};
    for (const count of [1, 2, 4]) {
      const queueUrl = `redis://127.0.0.1:6379?queue=bench-${randomUUID()}`;
      const ws = Array.from({ length: count }, (_, i) => start(queueUrl, `w${count}-${i}`));
      await ready(ws);
      const queue = await openRunQueue(parseQueueUrl(queueUrl));
      try {
        const started = performance.now();
        const connections = await peakConnections(async () => {
          for (let i = 0; i < RUNS; i++) await enqueue(queue, `t${count}-${i}`, plan(`r${count}-${i}`));
          await untilAsync(async () => (await queue.queue.getJobCounts("completed")).completed === RUNS, 600_000);
        });
        const failed = (await queue.queue.getJobCounts("failed")).failed ?? 0;
        if (failed > 0) throw new Error(`${failed} queued run(s) failed`);
        const seconds = (performance.now() - started) / 1000;
        throughput[`${count} worker(s)`] = { runs: RUNS, seconds: round(seconds), runsPerSecond: round(RUNS / seconds), peakPostgresConnections: connections };
      } finally {
        await queue.close();
        await stopAll(ws);
      }
    }

    // Failover: the run's long step is in flight on one of two workers; that worker is killed.
    const failoverUrl = `redis://127.0.0.1:6379?queue=bench-failover-${randomUUID()}`;
    let pair = [start(failoverUrl, "f-0"), start(failoverUrl, "f-1")];
    await ready(pair);
    const failovers: number[] = [];
    const queue = await openRunQueue(parseQueueUrl(failoverUrl));
    try {
      for (let round = 0; round < FAILOVERS; round++) {
        const thread = `failover-${round}`;
        await enqueue(queue, thread, { name: "hold", steps: [{ id: "hold", tool: "infra.work", dependencies: [], params: { name: "slow-hold" } }] });
        await until(() => pair.some((w) => w.log().includes(`${thread}: starting on`)), 60_000);
        const holder = pair.find((w) => w.log().includes(`${thread}: starting on`))!;
        const other = pair.find((w) => w !== holder)!;
        const killedAt = performance.now();
        holder.child.kill("SIGKILL");
        await until(() => other.log().includes(`${thread}: resuming (handed over)`), 120_000, 5);
        failovers.push(performance.now() - killedAt);
        await untilAsync(async () => (await queue.queue.getJobState(thread)) === "completed", 120_000);
        const replacement = start(failoverUrl, `f-${round + 2}`);
        await ready([replacement]);
        pair = [other, replacement];
      }
    } finally {
      await queue.close();
      await stopAll(pair);
    }

    // A queued run against the same run here, both on a warm root (servers already connected).
    const overheadUrl = `redis://127.0.0.1:6379?queue=bench-overhead-${randomUUID()}`;
    const one = start(overheadUrl, "o-0");
    await ready([one]);
    const queued: number[] = [];
    const local: number[] = [];
    const overheadQueue = await openRunQueue(parseQueueUrl(overheadUrl));
    const root = await openRoot(loadConfig({ ...env, CREDIT_OPTIMIZER_HOME: mkdtempSync(path.join(dir, "local-")) }), { mcpConfigPath: mcp });
    try {
      await root.context();
      for (let i = 0; i < OVERHEAD_RUNS; i++) {
        let t = performance.now();
        await follow(overheadQueue, `q-${i}`, plan(`q-${i}`));
        queued.push(performance.now() - t);
        t = performance.now();
        const result = await drive(root, `l-${i}`, runInput(plan(`l-${i}`)));
        if (result.kind !== "finished" || result.report.status !== "succeeded") throw new Error(`local run l-${i} did not succeed`);
        local.push(performance.now() - t);
      }
    } finally {
      await root.close();
      await overheadQueue.close();
      await stopAll([one]);
    }
    // The first two of each warm up (pins, forecasts' history): left out.
    const q = median(queued.slice(2));
    const l = median(local.slice(2));
    return {
      plan: `5 steps of ${STEP_MS} ms (1, 3 in parallel, 1); each worker --concurrency 4`,
      throughput,
      failover: { lockMs: LOCK_MS, samplesMs: failovers.map(Math.round), medianMs: Math.round(median(failovers)) },
      overhead: { runs: queued.length - 2, queuedMedianMs: Math.round(q), localMedianMs: Math.round(l), queuedOverLocal: round(q / l) },
      totalSeconds: round((performance.now() - benchStarted) / 1000),
    };
  } finally {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

function plan(prefix: string): unknown {
  const step = (id: string, dependencies: string[] = []) => ({ id, tool: "infra.work", dependencies, params: { name: `${prefix}-${id}` } });
  return { name: "bench five", steps: [step("a"), step("b", ["a"]), step("c", ["a"]), step("d", ["a"]), step("e", ["b", "c", "d"])] };
}

function runInput(p: unknown): RunInput {
  return { plan: p, planner: { kind: "file", reason: "bench" }, autoApprove: true, scheduler: "asap" };
}

async function enqueue(queue: RunQueue, threadId: string, p: unknown): Promise<void> {
  await submit(queue, { kind: "start", threadId, input: runInput(p), submittedAt: new Date().toISOString() });
}

/** Queues one run and follows it to its report, as `run --queue --wait` does. */
async function follow(queue: RunQueue, threadId: string, p: unknown): Promise<void> {
  const submission = await submit(queue, { kind: "start", threadId, input: runInput(p), submittedAt: new Date().toISOString() }, { follow: () => {} });
  const result = await submission.done!;
  if (result.kind !== "finished" || result.report.status !== "succeeded") throw new Error(`queued run ${threadId} did not succeed`);
}

async function untilAsync(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(predicate: () => boolean, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
