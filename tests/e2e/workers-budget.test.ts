import type { ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openLedger } from "../../src/cost/ledger.ts";
import { openRunQueue, parseQueueUrl } from "../../src/worker/queue.ts";
import { listRuns } from "../../src/worker/runs.ts";
import { runMain, waitFor } from "../helpers/cli.ts";
import { startWorker } from "../helpers/workers.ts";
import { fakeServer, readCalls, tempDir } from "../helpers/fake-mcp.ts";

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const CAP = 1;
const RUNS = 6;
const ESTIMATE = 0.3;
const SPEND = 0.25;
const database = `co_workers_budget_${randomUUID().replace(/-/g, "")}`;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
});

describe("budgets across workers on Postgres", () => {
  it(`${RUNS} runs of $${SPEND} over two workers against a $${CAP} daily cap: the ledger's reservations hold the cap`, async () => {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const databaseUrl = `postgres://postgres@127.0.0.1:5432/${database}`;
    const dir = tempDir("co-workers-budget-");
    const calls = path.join(dir, "calls.jsonl");
    const mcp = path.join(dir, "mcp.json");
    writeFileSync(mcp, JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { defaultMs: 3000 }) } }));
    const queueUrl = `redis://127.0.0.1:6379?queue=budget-${randomUUID()}`;
    const env = { DATABASE_URL: databaseUrl, CREDIT_OPTIMIZER_SECRET_KEY: randomBytes(32).toString("hex"), CREDIT_OPTIMIZER_DAILY_CAP_USD: String(CAP) };

    const workers = ["b1", "b2"].map((name) => {
      const worker = startWorker(name, queueUrl, mcp, env, ["--concurrency", String(RUNS)]);
      children.push(worker.child);
      return worker;
    });
    await waitFor(() => workers.every((w) => w.log().includes(`worker ${w.name} on`)) || workers.some((w) => w.child.exitCode !== null), 180_000, "two workers to start");
    for (const w of workers) expect(w.log(), `${w.name} did not start`).toContain(`worker ${w.name} on`);

    const submitter = loadConfig({ ...env, CREDIT_OPTIMIZER_HOME: tempDir("co-submit-") });
    for (let i = 0; i < RUNS; i++) {
      // The step reports what it cost (cost_usd), as a billed call does; the plan forecasts a little more.
      const plan = path.join(dir, `plan-${i}.json`);
      writeFileSync(plan, JSON.stringify({ name: `paid ${i}`, steps: [{ id: "pay", tool: "infra.work", dependencies: [], params: { name: `paid-${i}`, output: { cost_usd: SPEND } }, estimate: { ms: 3000, usd: ESTIMATE } }] }));
      const submitted = await runMain(["run", "--plan", plan, "--queue", queueUrl, "--yes", "--thread", `paid-${i}`], submitter);
      expect(submitted.code).toBe(0);
    }
    const queue = await openRunQueue(parseQueueUrl(queueUrl));
    const ledger = await openLedger({ home: tempDir("co-ledger-"), url: databaseUrl });
    try {
      await waitFor(async () => (await listRuns(queue)).every((r) => r.status !== "queued" && r.status !== "running") && (await listRuns(queue)).length === RUNS, 150_000, "every run to end");
      const runs = await listRuns(queue);
      const succeeded = runs.filter((r) => r.status === "succeeded");
      const refused = runs.filter((r) => r.status === "rejected");
      expect(succeeded.length + refused.length).toBe(RUNS);
      expect(succeeded.length).toBeGreaterThan(0);
      // Six at $0.25 would be $1.50: the cap refused some, whichever worker they ran on.
      expect(refused.length).toBeGreaterThan(0);
      expect(new Set(runs.map((r) => r.worker)).size).toBe(2);
      const spent = (await ledger.committedSpend()).spentToday;
      expect(spent).toBeCloseTo(succeeded.length * SPEND, 9);
      expect(spent).toBeLessThanOrEqual(CAP);
      // A refused run called nothing.
      expect(readCalls(calls).map((c) => c.name).sort()).toEqual(succeeded.map((r) => r.threadId).sort());
      console.info(`budget over workers: ${RUNS} runs, cap $${CAP}: ${succeeded.length} ran (${succeeded.map((r) => r.worker).join(", ")}), ${refused.length} refused, spent $${spent.toFixed(2)}`);
    } finally {
      await ledger.close();
      await queue.close();
      for (const w of workers) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.exited));
    }
  }, 300_000);
});
