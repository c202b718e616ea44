import type { ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type AppConfig } from "../../src/config.ts";
import { freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";
import { JOB_NAME, openRunQueue, parseQueueUrl, type RunQueue } from "../../src/worker/queue.ts";
import { openRoot } from "../../src/run/root.ts";
import { startViewer } from "../../src/ui/server.ts";
import { listRuns } from "../../src/worker/runs.ts";
import { runMain, waitFor } from "../helpers/cli.ts";
import { startWorker as startWorkerProcess, type WorkerProcess } from "../helpers/workers.ts";
import { fakeServer, readCalls, release, tempDir } from "../helpers/fake-mcp.ts";
import { scratchDatabases } from "../helpers/postgres.ts";

const databases = scratchDatabases("co_workers_life");
const SECRET = `pw-${randomUUID()}`;
const children: ChildProcess[] = [];
let databaseUrl = "";
let queueUrl = "";
let queue: RunQueue;
let env: Record<string, string>;
let submitter: AppConfig;
const dir = tempDir("co-workers-life-");
const calls = path.join(dir, "calls.jsonl");
const mcp = path.join(dir, "mcp.json");
const slowARelease = path.join(dir, "slow-a.release");

beforeAll(async () => {
  databaseUrl = await databases.create();
  queueUrl = `redis://127.0.0.1:6379?queue=life-${randomUUID()}`;
  env = { DATABASE_URL: databaseUrl, CREDIT_OPTIMIZER_SECRET_KEY: randomBytes(32).toString("hex") };
  submitter = loadConfig({ ...env, CREDIT_OPTIMIZER_HOME: tempDir("co-submit-") });
  // slow-a, once called, waits for `slowARelease` (the SIGTERM test lets it go once the first worker has left).
  writeFileSync(mcp, JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { delays: { "slow-a": 2500, "slow-b": 2500 }, hold: { "slow-a": slowARelease } }) } }));
  queue = await openRunQueue(parseQueueUrl(queueUrl));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await queue?.close();
  await databases.dropAll();
});

function startWorker(name: string, extra: string[] = []): WorkerProcess {
  const worker = startWorkerProcess(name, queueUrl, mcp, env, ["--lock-ms", "5000", ...extra]);
  children.push(worker.child);
  return worker;
}

async function started(worker: WorkerProcess): Promise<void> {
  await waitFor(() => worker.log().includes(`worker ${worker.name} on`) || worker.child.exitCode !== null, 180_000, `${worker.name} to start`);
  expect(worker.log()).toContain(`worker ${worker.name} on`);
}

async function stop(worker: WorkerProcess): Promise<number | null> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGTERM");
  return worker.exited;
}

function plan(name: string, steps: { id: string; tool?: string; dependencies?: string[]; params: Record<string, unknown> }[], params?: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, ...(params ? { params } : {}), steps: steps.map((s) => ({ tool: "infra.work", dependencies: [], ...s })) }));
  return file;
}

/** Every value under the queue's keys, as text. */
async function queueContents(): Promise<string> {
  const redis = new Redis("redis://127.0.0.1:6379");
  try {
    const keys = await redis.keys(`${queue.key()}:*`);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === "hash") parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === "string") parts.push((await redis.get(key)) ?? "");
      else if (type === "list") parts.push(...(await redis.lrange(key, 0, -1)));
      else if (type === "zset") parts.push(...(await redis.zrange(key, 0, -1)));
      else if (type === "stream") parts.push(JSON.stringify(await redis.xrange(key, "-", "+")));
    }
    return parts.join("\n");
  } finally {
    redis.disconnect();
  }
}

describe("workers: approval, hand-back, bad input", () => {
  it("a run waiting for approval frees its worker; resume --approve finishes it on a worker; the job never holds a secret", async () => {
    const worker = startWorker("approver", ["--concurrency", "1"]);
    await started(worker);
    try {
      // `undo` may destroy data: the run asks first. Its parameter is a connection string with a password.
      const gated = plan("gated", [{ id: "drop", tool: "infra.undo", params: { name: "gated-drop" } }, { id: "use", params: { name: "gated-use", value: "${db}" } }], { db: "" });
      const first = await runMain(["run", "--plan", gated, "--param", `db=postgres://app:${SECRET}@127.0.0.1:5432/app`, "--queue", queueUrl, "--thread", "gated-1", "--wait", "--json"], submitter);
      expect(first.stderr).not.toMatch(/error/i);
      expect(first.code).toBe(3);
      expect(JSON.parse(first.stdout)).toMatchObject({ threadId: "gated-1", outcome: "waiting_for_approval" });
      expect((await listRuns(queue, ["waiting_for_approval"])).map((r) => [r.threadId, r.worker])).toEqual([["gated-1", "approver"]]);

      // With one slot, the worker takes the next run while the first waits for a person.
      const other = await runMain(["run", "--plan", plan("other", [{ id: "x", params: { name: "other-x" } }]), "--queue", queueUrl, "--thread", "other-1", "--wait", "--json"], submitter);
      expect(other.code).toBe(0);
      expect(JSON.parse(other.stdout)).toMatchObject({ status: "succeeded" });

      const listed = await runMain(["runs", "--queue", queueUrl, "--json"], submitter);
      const rows = JSON.parse(listed.stdout) as { threadId: string; status: string; worker: string; waitingFor?: string }[];
      expect(rows.find((r) => r.threadId === "gated-1")).toMatchObject({ status: "waiting_for_approval", worker: "approver" });
      expect(rows.find((r) => r.threadId === "gated-1")?.waitingFor).toMatch(/^Approve running plan "gated"\?/);
      expect(rows.find((r) => r.threadId === "other-1")).toMatchObject({ status: "succeeded", worker: "approver" });
      const table = await runMain(["runs", "--queue", queueUrl, "--status", "waiting_for_approval"], submitter);
      expect(table.stdout.split("\n")).toHaveLength(3);
      expect(table.stdout).toMatch(/^gated-1\s+waiting_for_approval\s+approver\s/m);
      // Where the limits live: the queue's, stored by its first worker.
      expect(table.stdout).toMatch(/^limits: calls at once per MCP server across all workers \d+.*\(the queue's, set by [^;]+; Redis hash credit-optimizer:[^:]+:limits\)$/m);

      expect(readCalls(calls).filter((c) => c.name.startsWith("gated-"))).toEqual([]);
      const approved = await runMain(["resume", "gated-1", "--approve", "--queue", queueUrl, "--wait", "--json"], submitter);
      expect(approved.code).toBe(0);
      const report = JSON.parse(approved.stdout) as { status: string; steps: { id: string; status: string }[] };
      expect(report.status).toBe("succeeded");
      expect(readCalls(calls).filter((c) => c.name.startsWith("gated-")).map((c) => c.name).sort()).toEqual(["gated-drop", "gated-use"]);

      // The viewer's runs list shows the worker each queued run recorded in its state (started, and resumed with the answer).
      const viewerRoot = await openRoot(submitter);
      const viewer = await startViewer(viewerRoot, { port: 0, pollMs: 600_000 });
      try {
        const listedRuns = (await (await fetch(`${viewer.url}/api/runs`)).json()) as { runs: { threadId: string; worker?: string }[] };
        expect(listedRuns.runs.find((r) => r.threadId === "gated-1")?.worker).toBe("approver");
        expect(listedRuns.runs.find((r) => r.threadId === "other-1")?.worker).toBe("approver");
      } finally {
        await viewer.close();
        await viewerRoot.close();
      }

      // What Redis holds for these runs (job data, results, events): handles, never the password.
      const stored = await queueContents();
      expect(stored).toContain("gated-1");
      expect(stored).toMatch(/secret:\/\/[0-9a-f]{32}/);
      expect(stored).not.toContain(SECRET);
      expect(stored).not.toContain(databaseUrl.replace("postgres://", ""));

      // A job for a thread that does not exist fails with a clear reason; the worker goes on.
      await queue.queue.add(JOB_NAME, { kind: "resume", threadId: "no-such-thread", submittedAt: new Date().toISOString() }, { jobId: "no-such-thread" });
      await waitFor(async () => (await listRuns(queue, ["failed"])).length === 1, 60_000, "the bad job to fail");
      const [failed] = await listRuns(queue, ["failed"]);
      expect(failed?.error).toMatch(/^THREAD: no run found on thread "no-such-thread"/);
      const after = await runMain(["run", "--plan", plan("after", [{ id: "y", params: { name: "after-y" } }]), "--queue", queueUrl, "--thread", "after-1", "--wait", "--json"], submitter);
      expect(after.code).toBe(0);
      // Submitted by hand for a thread that does not exist: refused before anything is queued.
      const missing = await runMain(["resume", "nope", "--queue", queueUrl], submitter);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no run found on thread "nope"');
      expect(await queue.queue.getJob("nope")).toBeUndefined();
    } finally {
      expect(await stop(worker)).toBe(0);
    }
    expect(worker.log()).toContain("worker approver: stopped");
  }, 240_000);

  it("SIGTERM: the worker takes no new run, hands back the one it holds, and another worker finishes it", async () => {
    const first = startWorker("leaving", ["--grace-ms", "500"]);
    await started(first);
    const slow = plan("slow", [{ id: "a", params: { name: "slow-a" } }, { id: "b", dependencies: ["a"], params: { name: "slow-b" } }]);
    const submitted = await runMain(["run", "--plan", slow, "--queue", queueUrl, "--thread", "slow-1"], submitter);
    expect(submitted.code).toBe(0);
    await waitFor(() => readCalls(calls).some((c) => c.name === "slow-a"), 60_000, "slow-a to start");
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    release(slowARelease);
    expect(first.log()).toContain("slow-1: handed back to the queue");
    expect(first.log()).not.toContain("slow-1: executed");
    expect((await listRuns(queue)).find((r) => r.threadId === "slow-1")?.status).toBe("queued");
    const second = startWorker("staying");
    try {
      await started(second);
      await waitFor(async () => (await listRuns(queue)).some((r) => r.threadId === "slow-1" && r.status === "succeeded"), 90_000, "slow-1 to finish on the other worker");
      const run = (await listRuns(queue)).find((r) => r.threadId === "slow-1")!;
      expect(run.worker).toBe("staying");
      // slow-a was in flight when the first worker left: called again, and reported; slow-b once.
      expect(readCalls(calls).filter((c) => c.name === "slow-b")).toHaveLength(1);
      expect(readCalls(calls).filter((c) => c.name === "slow-a")).toHaveLength(run.recalls.includes("a") ? 2 : 1);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  }, 240_000);

  it("bad input: a bad queue URL, an unreachable Redis, a worker on SQLite each say what is wrong; nothing is queued", async () => {
    const file = plan("bad", [{ id: "z", params: { name: "bad-z" } }]);
    const notRedis = await runMain(["run", "--plan", file, "--queue", "http://127.0.0.1:6379", "--thread", "bad-1"], submitter);
    expect(notRedis.code).toBe(2);
    expect(notRedis.stderr).toContain('"http://127.0.0.1:6379" is not a Redis URL');
    const garbage = await runMain(["worker", "--queue", "not a url"], submitter);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toContain('"not a url" is not a URL; expected redis://HOST:PORT');

    const closed = await closedPort();
    const unreachable = await runMain(["run", "--plan", file, "--queue", `redis://:hunter2@127.0.0.1:${closed}`, "--thread", "bad-2"], submitter);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`cannot reach the run queue's Redis at redis://:[redacted]@127.0.0.1:${closed}`);
    expect(unreachable.stderr).not.toContain("hunter2");
    const workerUnreachable = await runMain(["worker", "--queue", `redis://127.0.0.1:${closed}`], submitter);
    expect(workerUnreachable.code).toBe(1);
    expect(workerUnreachable.stderr).toContain(`cannot reach the run queue's Redis at redis://127.0.0.1:${closed}`);

    const sqlite = loadConfig({ CREDIT_OPTIMIZER_HOME: tempDir("co-sqlite-") });
    const onSqlite = await runMain(["worker", "--queue", queueUrl], sqlite);
    expect(onSqlite.code).toBe(2);
    expect(onSqlite.stderr).toContain("a worker needs the Postgres checkpointer");
    const runOnSqlite = await runMain(["run", "--plan", file, "--queue", queueUrl, "--thread", "bad-3"], sqlite);
    expect(runOnSqlite.code).toBe(2);
    expect(runOnSqlite.stderr).toContain("a queued run needs the Postgres checkpointer");
    for (const id of ["bad-1", "bad-2", "bad-3"]) expect(await queue.queue.getJob(id)).toBeUndefined();
  });
});

/** A port nothing listens on (a free one, not taken). */
function closedPort(): Promise<number> {
  return freePort();
}
