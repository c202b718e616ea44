import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { agentThread, checkpointMemory } from "../../agents/memory.ts";
import { openLedger } from "../../src/cost/ledger.ts";
import type { Report } from "../../agents/types.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { fakeServer, readCalls, release, tempDir } from "../helpers/fake-mcp.ts";
import { startOpenAIStub, type OpenAIStub, type StubRequest, type StubReply } from "../helpers/openai-stub.ts";

const RAD = "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis";
const homes: string[] = [];

/** A fresh state dir; no model, no provider tokens: the catalog planner and the local backends. */
function offlineEnv(): Record<string, string> {
  const home = tempDir("co-cli-");
  homes.push(home);
  return { CREDIT_OPTIMIZER_HOME: path.join(home, ".co"), LANGGRAPH_CLI_NO_ANALYTICS: "1" };
}

/** Local deploys keep running after the CLI exits: stop the ones these tests started. */
function stopDeploys(): void {
  for (const home of homes.splice(0)) {
    for (const kind of ["vercel", "fly"]) {
      const file = path.join(home, ".co", "toolkit", "deploys", `${kind}.json`);
      if (!existsSync(file)) continue;
      const registry = JSON.parse(readFileSync(file, "utf8")) as { projects?: Record<string, { deployment?: { pid: number } }> };
      for (const project of Object.values(registry.projects ?? {})) {
        if (!project.deployment) continue;
        try {
          process.kill(-project.deployment.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }
}

afterAll(stopDeploys);

describe("credit-optimizer run \"<request>\" (no API key, no network, built-in servers)", () => {
  it("the README's first command: plans the RAD request offline and runs it without --yes (the forecast is $0)", async () => {
    const env = offlineEnv();
    const result = await runCli(["run", RAD, "--json"], env);
    expect(result.stderr).not.toContain("error:");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.outcome).toBe("executed");
    expect(report.status).toBe("succeeded");
    expect(report.planner?.kind).toBe("catalog");
    expect(report.planner?.workflow?.id).toBe("rad-crawler-setup");
    // "Fly.io deployment": the app is created and deployed on Fly (its local backend here), not on Vercel.
    expect(report.planner?.params?.find((p) => p.name === "provider")).toMatchObject({ value: "fly", source: "request" });
    expect(report.steps.filter((s) => s.id === "create_fly_app" || s.id === "deploy_app").map((s) => s.tool)).toEqual(["toolkit.fly_create_app", "toolkit.fly_deploy"]);
    expect(report.approval).toMatchObject({ approved: true, by: "not-needed" });
    expect(report.forecast?.usd.p90).toBe(0);
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ["generate_code", "succeeded"],
      ["create_neon_project", "succeeded"],
      ["create_redis", "succeeded"],
      ["create_database", "succeeded"],
      ["create_fly_app", "succeeded"],
      ["deploy_app", "succeeded"],
    ]);
    expect(report.timing.overlaps.length).toBeGreaterThan(0);
    expect(report.forecast?.perStep).toHaveLength(6);
    expect(report.usage).toEqual([]);
    expect(report.summaryBy).toBe("template");
  });

  it("plan and --dry-run show the plan and forecast and run nothing", async () => {
    const env = offlineEnv();
    const plan = await runCli(["plan", RAD], env);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toContain("from the catalog planner");
    expect(plan.stderr).toMatch(/create_neon_project\s+toolkit\.neon_create_project/);
    expect(plan.stderr).toMatch(/critical path: .* → create_fly_app → deploy_app/);
    expect(plan.stdout).toContain("planned");
    const dry = await runCli(["run", RAD, "--dry-run", "--json"], env);
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout) as Report;
    expect(report.outcome).toBe("planned");
    expect(report.steps).toEqual([]);
    expect(existsSync(path.join(env["CREDIT_OPTIMIZER_HOME"]!, "toolkit", "deploys", "vercel.json"))).toBe(false);
  });

  it("a plan file over the approval threshold waits (exit 3), then resume --approve runs it; its steps land in the ledger", async () => {
    const dir = tempDir("co-cli-planfile-");
    const calls = path.join(dir, "calls.jsonl");
    const mcp = path.join(dir, "mcp.json");
    writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls) } }));
    const planFile = path.join(dir, "plan.json");
    const plan = { name: "Priced plan", steps: [{ id: "a", tool: "toolkit.work", params: { name: "a" }, estimate: { usd: 0.4 } }, { id: "b", tool: "toolkit.work", dependencies: ["a"], params: { name: "b" }, estimate: { usd: 0.3 } }] };
    writeFileSync(planFile, JSON.stringify(plan));
    const env = { CREDIT_OPTIMIZER_HOME: path.join(dir, ".co"), CREDIT_OPTIMIZER_MCP_CONFIG: mcp };
    const waiting = await runCli(["run", "--plan", planFile, "--json"], env);
    expect(waiting.code).toBe(3);
    const pending = JSON.parse(waiting.stdout) as { threadId: string; outcome: string; question: { kind: string; reasons: string[] } };
    expect(pending).toMatchObject({ outcome: "waiting_for_approval", question: { kind: "approval" } });
    expect(pending.question.reasons.join("\n")).toContain("over the approval threshold");
    expect(readCalls(calls).filter((c) => c.tool === "work")).toEqual([]);
    const resumed = await runCli(["resume", pending.threadId, "--approve", "--json"], env);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as Report;
    expect(report).toMatchObject({ threadId: pending.threadId, outcome: "executed", status: "succeeded", approval: { approved: true, by: "human" } });
    expect(report.planner?.kind).toBe("file");
    expect(report.actual.usd).toBeCloseTo(0.7, 6);
    const costs = await runCli(["costs", "--by", "run", "--json"], env);
    const breakdown = (JSON.parse(costs.stdout) as { breakdown: { key: string; usd: number }[] }).breakdown;
    expect(breakdown.find((r) => r.key === pending.threadId)?.usd).toBeCloseTo(0.7, 6);
    // --yes approves a plan file's budget too.
    const approved = await runCli(["run", "--plan", planFile, "--yes", "--json"], env);
    expect(approved.code).toBe(0);
  });

  it("plan --json prints the whole plan, and run --plan runs it", async () => {
    const env = offlineEnv();
    const planned = await runCli(["plan", RAD, "--json"], env);
    expect(planned.code).toBe(0);
    const plan = JSON.parse(planned.stdout) as { name: string; steps: { id: string; tool: string; params: Record<string, unknown> }[] };
    expect(plan.name).toBe("RAD Crawler Complete Setup");
    expect(plan.steps.map((s) => s.id)).toEqual(["generate_code", "create_neon_project", "create_redis", "create_database", "create_fly_app", "deploy_app"]);
    const file = path.join(env["CREDIT_OPTIMIZER_HOME"]!, "p.json");
    writeFileSync(file, planned.stdout);
    const ran = await runCli(["run", "--plan", file, "--json"], env);
    expect(ran.code).toBe(0);
    expect((JSON.parse(ran.stdout) as Report).status).toBe("succeeded");
  });

  it("a request no workflow matches: exit 2 saying what it can do; no request at all: exit 2", async () => {
    const env = offlineEnv();
    const result = await runCli(["run", "write a haiku about autumn leaves", "--json"], env);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.outcome).toBe("planning_failed");
    expect(report.problems[0]).toContain("no workflow matches the request");
    expect(report.problems[0]).toContain("Offline I can:");
    const empty = await runCli(["run"], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("run needs a request in quotes");
  });
});

describe("credit-optimizer chat (stdin script)", () => {
  it("request → approval → report; the session's architect thread survives the process", async () => {
    const env = offlineEnv();
    const first = await runCli(["chat", "--session", "work"], env, `${RAD}\na\nexit\n`);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("approval needed");
    expect(first.stderr).toContain("▶ deploy_app");
    expect(first.stdout).toContain("RAD Crawler Complete Setup — succeeded");
    expect(first.stdout).toContain("summary:");
    // A refinement in a new process: the architect's thread survives it and edits the last plan; then cancel.
    const second = await runCli(["chat", "--session", "work"], env, "make it eu-west-1\nc\nexit\n");
    expect(second.code).toBe(0);
    expect(second.stdout.match(/ — declined \(thread run-/g)).toHaveLength(1);
    const saver = SqliteSaver.fromConnString(path.join(env["CREDIT_OPTIMIZER_HOME"]!, "checkpoints.sqlite"));
    try {
      const messages = await checkpointMemory(saver).load(agentThread("work", "architect"));
      expect(messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual([RAD, "make it eu-west-1"]);
      const edited = JSON.parse(messages[3]!.content) as { params?: Record<string, unknown> };
      expect(edited.params?.["region"]).toBe("eu-west-1");
      // The credit-validator remembers both answers: approved, then declined.
      const answers = await checkpointMemory(saver).load(agentThread("work", "credit-validator"));
      expect(answers.map((m) => (JSON.parse(m.content) as { approved: boolean }).approved)).toEqual([true, false]);
    } finally {
      saver.db.close();
    }
  });
});

describe("Ctrl-C during a run (model stand-in, scripted MCP server)", () => {
  let stub: OpenAIStub | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  /** first → slow → last; slow, once called, waits for `release(held)` (made again on resume, it goes on at once). */
  async function slowChain(): Promise<{ env: Record<string, string>; calls: string; held: string }> {
    const plan = {
      name: "Slow chain",
      steps: [
        { id: "first", tool: "toolkit.work", dependencies: [], params: { name: "first" } },
        { id: "slow", tool: "toolkit.work", dependencies: ["first"], params: { name: "slow" } },
        { id: "last", tool: "toolkit.work", dependencies: ["slow"], params: { name: "last" } },
      ],
    };
    stub = await startOpenAIStub((request: StubRequest): StubReply =>
      Array.isArray(request.body["tools"]) ? { toolCalls: [{ name: "plan", arguments: plan }] } : { content: "done" },
    );
    const dir = tempDir("co-cli-sigint-");
    const calls = path.join(dir, "calls.jsonl");
    const mcp = path.join(dir, "mcp.json");
    const held = path.join(dir, "slow.release");
    writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls, { hold: { slow: held } }) } }));
    const env = { CREDIT_OPTIMIZER_HOME: path.join(dir, ".co"), OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MCP_CONFIG: mcp };
    return { env, calls, held };
  }

  it("stops new steps, rolls back, exits 1, and the thread resumes to success", async () => {
    const { env, calls, held } = await slowChain();
    const run = startCli(["run", "chain the work", "--yes"], env);
    let stderr = "";
    run.child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stderr.includes("▶ slow"), 60_000, "the slow step to start");
    run.child.kill("SIGINT");
    await waitFor(() => stderr.includes("stopping: no new steps start"), 60_000, "the stop to be seen while slow runs");
    release(held);
    const stopped = await run.done;
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("stopping: no new steps start");
    expect(stopped.stdout).toContain("cancelled");
    const thread = /the thread is resumable: credit-optimizer resume (run-[0-9a-f-]+)/.exec(stopped.stderr)?.[1];
    expect(thread).toBeDefined();
    const afterStop = readCalls(calls);
    expect(afterStop.filter((c) => c.tool === "work").map((c) => c.name)).toEqual(["first", "slow"]);
    expect(afterStop.filter((c) => c.tool === "undo").map((c) => c.name).sort()).toEqual(["first", "slow"]);

    const resumed = await runCli(["resume", thread!, "--json"], env);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as Report;
    expect(report.status).toBe("succeeded");
    expect(readCalls(calls).filter((c) => c.tool === "work").map((c) => c.name)).toEqual(["first", "slow", "first", "slow", "last"]);
  });

  it("in chat: Ctrl-C mid-run rolls back, the chat goes on, and the run's thread resumes", async () => {
    const { env, calls, held } = await slowChain();
    const chat = startCli(["chat", "--session", "ctrl-c"], env);
    let stderr = "";
    chat.child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    chat.child.stdin!.write("chain the work\n");
    await waitFor(() => stderr.includes("[a]pprove / [e]dit / [c]ancel"), 60_000, "the approval question");
    chat.child.stdin!.write("a\n");
    await waitFor(() => stderr.includes("▶ slow"), 60_000, "the slow step to start");
    chat.child.kill("SIGINT");
    await waitFor(() => stderr.includes("stopping: no new steps start"), 60_000, "the stop to be seen while slow runs");
    release(held);
    await waitFor(() => stderr.includes("the thread is resumable"), 60_000, "the rollback");
    chat.child.stdin!.end("exit\n");
    const ended = await chat.done;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain("cancelled");
    const thread = /the thread is resumable: credit-optimizer resume (run-[0-9a-f-]+)/.exec(ended.stderr)?.[1];
    expect(thread).toBeDefined();
    expect(readCalls(calls).filter((c) => c.tool === "undo").map((c) => c.name).sort()).toEqual(["first", "slow"]);
    const resumed = await runCli(["resume", thread!, "--json"], env);
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.stdout) as Report).status).toBe("succeeded");
  });

  it("a killed run resumes where it stopped: finished steps are not called again", async () => {
    const { env, calls, held } = await slowChain();
    const run = startCli(["run", "chain the work", "--yes"], env);
    let stderr = "";
    run.child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stderr.includes("▶ slow"), 60_000, "the slow step to start");
    const thread = /^thread (run-[0-9a-f-]+) \(resume with/m.exec(stderr)?.[1];
    run.child.kill("SIGKILL");
    release(held); // the orphaned server then ends, closing the output it shares with the CLI
    await run.done;
    expect(thread).toBeDefined();
    const resumed = await runCli(["resume", thread!, "--json"], env);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as Report;
    expect(report.status).toBe("succeeded");
    const work = readCalls(calls).filter((c) => c.tool === "work").map((c) => c.name);
    // "first" ran once; "slow" was in flight when the process died, so it runs again.
    expect(work.filter((n) => n === "first")).toHaveLength(1);
    expect(work.slice(-2)).toEqual(["slow", "last"]);
    // The ledger counts each call once: one row per call that finished.
    const ledger = await openLedger({ home: env["CREDIT_OPTIMIZER_HOME"]! });
    try {
      const rows = (await ledger.steps({ runId: thread! })).map((r) => r.stepId).sort();
      expect(rows).toEqual([...new Set(rows)]);
      expect(rows).toEqual(["first", "last", "slow"]);
    } finally {
      await ledger.close();
    }
  });

  describe("running budget: a step that reports its cost pushes the run over what it was allowed", () => {
    async function costlyChain(): Promise<{ env: Record<string, string>; calls: string }> {
      const plan = {
        name: "Costly chain",
        steps: [
          { id: "pricey", tool: "toolkit.work", dependencies: [], params: { name: "pricey", output: { cost_usd: 2 } } },
          { id: "next", tool: "toolkit.work", dependencies: ["pricey"], params: { name: "next" } },
        ],
      };
      stub = await startOpenAIStub((request: StubRequest): StubReply =>
        Array.isArray(request.body["tools"]) ? { toolCalls: [{ name: "plan", arguments: plan }] } : { content: "done" },
      );
      const dir = tempDir("co-cli-gate-");
      const calls = path.join(dir, "calls.jsonl");
      const mcp = path.join(dir, "mcp.json");
      writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls) } }));
      return { env: { CREDIT_OPTIMIZER_HOME: path.join(dir, ".co"), OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MCP_CONFIG: mcp }, calls };
    }

    it("with nobody to ask, the run pauses at the budget (exit 3, not rolled back) and resumes without repeating a step", async () => {
      const { env, calls } = await costlyChain();
      const result = await runCli(["run", "costly chain", "--yes", "--budget", "1", "--json"], env);
      expect(result.code).toBe(3);
      const pending = JSON.parse(result.stdout) as { threadId: string; question: { kind: string; question: string; held: string[] } };
      expect(pending.question).toMatchObject({ kind: "budget", held: ["next"] });
      expect(pending.question.question).toContain("this run has spent $2.00, over the $1.00 it was allowed");
      expect(readCalls(calls).map((c) => `${c.tool}:${c.name}`)).toEqual(["work:pricey"]);
      const resumed = await runCli(["resume", pending.threadId, "--approve", "--json"], env);
      expect(resumed.code).toBe(0);
      expect((JSON.parse(resumed.stdout) as Report).status).toBe("succeeded");
      expect(readCalls(calls).map((c) => `${c.tool}:${c.name}`)).toEqual(["work:pricey", "work:next"]);
    });

    it("declining the budget question rolls back what ran", async () => {
      const { env, calls } = await costlyChain();
      const result = await runCli(["run", "costly chain", "--yes", "--budget", "1", "--json"], env);
      const pending = JSON.parse(result.stdout) as { threadId: string };
      const rejected = await runCli(["resume", pending.threadId, "--reject", "--json"], env);
      expect(rejected.code).toBe(1);
      const report = JSON.parse(rejected.stdout) as Report;
      expect(report.status).toBe("rolled_back");
      expect(report.steps.find((s) => s.id === "next")).toMatchObject({ status: "failed", error: { code: "BUDGET_DECLINED" } });
      expect(readCalls(calls).map((c) => `${c.tool}:${c.name}`)).toEqual(["work:pricey", "undo:pricey"]);
    });

    it("in chat the person is asked and can go on", async () => {
      const { env, calls } = await costlyChain();
      const result = await runCli(["chat", "--budget", "1"], env, "costly chain\na\ny\nexit\n");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("Costly chain — succeeded");
      expect(readCalls(calls).filter((c) => c.tool === "work").map((c) => c.name)).toEqual(["pricey", "next"]);
    });
  });
});
