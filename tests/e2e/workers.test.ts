import type { ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openRunQueue, parseQueueUrl, type RunQueue } from "../../src/worker/queue.ts";
import { listRuns } from "../../src/worker/runs.ts";
import { runMain, waitFor } from "../helpers/cli.ts";
import { startWorker as startWorkerProcess, type WorkerProcess } from "../helpers/workers.ts";
import { fakeServer, readCalls, tempDir, type Call } from "../helpers/fake-mcp.ts";
import { scratchDatabases } from "../helpers/postgres.ts";

const STEP_MS = 700;
const LIMIT = 3;
const RUNS = 20;
const databases = scratchDatabases("co_workers");
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await databases.dropAll();
});

function startWorker(name: string, queue: string, env: Record<string, string>, mcp: string, extra: string[] = []): WorkerProcess {
  const worker = startWorkerProcess(name, queue, mcp, env, ["--lock-ms", "5000", ...extra]);
  children.push(worker.child);
  return worker;
}

/** The most calls that overlapped, each taken as [start, start + STEP_MS]: a call really runs a little longer, so this never over-counts a limit that held. */
function peakConcurrency(calls: Call[]): number {
  const edges = calls.flatMap((c) => [
    { at: c.at, d: 1 },
    { at: c.at + STEP_MS, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (now += e.d));
  return peak;
}

describe("runs across worker processes on BullMQ", () => {
  it(`${RUNS} runs over three workers, one killed with kill -9 mid-way: all succeed, no finished step called twice, the per-server limit held across workers`, async () => {
    const dir = tempDir("co-workers-");
    const calls = path.join(dir, "calls.jsonl");
    const mcp = path.join(dir, "mcp.json");
    writeFileSync(mcp, JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { defaultMs: STEP_MS }) } }));
    const databaseUrl = await databases.create();
    const queueUrl = `redis://127.0.0.1:6379?queue=workers-${randomUUID()}`;
    const env = { DATABASE_URL: databaseUrl, CREDIT_OPTIMIZER_SECRET_KEY: randomBytes(32).toString("hex") };

    // The first worker creates the database's tables; then two more join it.
    const workers = [startWorker("w1", queueUrl, env, mcp, ["--concurrency", "3", "--server-limit", String(LIMIT)])];
    await waitFor(() => workers[0]!.log().includes("worker w1 on") || workers[0]!.child.exitCode !== null, 180_000, "the first worker to start");
    for (const name of ["w2", "w3"]) workers.push(startWorker(name, queueUrl, env, mcp, ["--concurrency", "3", "--server-limit", String(LIMIT)]));
    await waitFor(() => workers.every((w) => w.log().includes(`worker ${w.name} on`)) || workers.some((w) => w.child.exitCode !== null), 180_000, "three workers to start");
    for (const w of workers) expect(w.log(), `${w.name} did not start`).toContain(`worker ${w.name} on`);

    // Each run: three slow steps in parallel, then one after them; step names are unique per run.
    const submitter = loadConfig({ ...env, CREDIT_OPTIMIZER_HOME: tempDir("co-submit-") });
    const threads: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const work = (id: string, dependencies: string[] = []) => ({ id, tool: "infra.work", dependencies, params: { name: `r${i}-${id}` } });
      const plan = path.join(dir, `plan-${i}.json`);
      writeFileSync(plan, JSON.stringify({ name: `run ${i}`, steps: [work("a"), work("b"), work("c"), work("d", ["a", "b", "c"])] }));
      const submitted = await runMain(["run", "--plan", plan, "--queue", queueUrl, "--yes", "--thread", `t-${i}`], submitter);
      expect(submitted.stderr).toContain(`queued the run of thread t-${i}`);
      expect(submitted.code).toBe(0);
      expect(submitted.stdout).toBe(`t-${i}`);
      threads.push(`t-${i}`);
    }
    // The same thread again: never queued twice.
    const again = await runMain(["run", "--plan", path.join(dir, "plan-0.json"), "--queue", queueUrl, "--yes", "--thread", "t-0"], submitter);
    expect(again.stderr).toMatch(/thread t-0 (is already on the queue|already ran on the queue)/);

    const queue: RunQueue = await openRunQueue(parseQueueUrl(queueUrl));
    try {
      // Kill the first worker that is in the middle of a run, once a quarter of the calls are made.
      await waitFor(() => readCalls(calls).length >= RUNS, 120_000, "a quarter of the calls");
      let victim: WorkerProcess | undefined;
      await waitFor(
        async () => {
          const running = await listRuns(queue, ["running"]);
          victim = workers.find((w) => running.some((r) => r.worker === w.name));
          return victim !== undefined;
        },
        30_000,
        "a worker with a run in flight",
      );
      if (!victim) throw new Error("no worker to kill");
      const killedAt = Date.now();
      victim.child.kill("SIGKILL");
      expect(await victim.exited).toBe(null);
      // What it held when it died: a dead worker's runs stay active until the queue sees them stalled (--lock-ms).
      const held = (await listRuns(queue, ["running"])).filter((r) => r.worker === victim!.name).map((r) => r.threadId);

      await waitFor(async () => (await listRuns(queue)).filter((r) => r.status === "succeeded" || r.status === "failed").length === RUNS, 150_000, "every run to end");
      const runs = await listRuns(queue);
      expect(runs.map((r) => [r.threadId, r.status]).sort()).toEqual(threads.map((t) => [t, "succeeded"]).sort());
      // The runs the killed worker held finished on the others.
      expect(held.length).toBeGreaterThan(0);
      for (const thread of held) expect(runs.find((r) => r.threadId === thread)?.worker).not.toBe(victim.name);

      const all = readCalls(calls).filter((c) => c.tool === "work");
      const byName = new Map<string, Call[]>();
      for (const c of all) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
      expect([...byName.keys()].sort()).toEqual(threads.flatMap((_, i) => ["a", "b", "c", "d"].map((s) => `r${i}-${s}`)).sort());
      const repeated = [...byName].filter(([, cs]) => cs.length > 1);
      // Only steps in flight when the worker died are called again: their first call had not ended (and been saved) by then.
      for (const [name, cs] of repeated) {
        expect(cs).toHaveLength(2);
        expect(cs[0]!.at + STEP_MS, `${name} had finished ${killedAt - cs[0]!.at - STEP_MS} ms before the kill`).toBeGreaterThan(killedAt - 1_000);
      }
      // And each of them is reported as a re-call by the worker that took the run over.
      const reported = runs.flatMap((r) => r.recalls.map((step) => `r${r.threadId.slice(2)}-${step}`));
      for (const [name] of repeated) expect(reported).toContain(name);
      expect(peakConcurrency(all)).toBeLessThanOrEqual(LIMIT);
      expect(peakConcurrency(all)).toBeGreaterThan(1);
      console.info(`workers: ${RUNS} runs, ${all.length} calls for ${byName.size} steps, re-called after kill -9: ${repeated.map(([n]) => n).join(", ") || "none"}; peak ${peakConcurrency(all)} of limit ${LIMIT}`);
    } finally {
      await queue.close();
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.exited));
    }
  }, 300_000);
});
