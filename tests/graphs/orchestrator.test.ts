import { Command, MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import { agentThread, checkpointMemory } from "../../agents/memory.ts";
import type { ApprovalRequest } from "../../agents/types.ts";
import { infraCaller } from "../helpers/fake-caller.ts";
import { testDeps } from "./helpers.ts";
import { openLedger } from "../../src/cost/ledger.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

let n = 0;
const thread = () => ({ configurable: { thread_id: `run-test-${++n}` } });

async function pendingInterrupt(graph: ReturnType<typeof compileOrchestrator>, config: ReturnType<typeof thread>): Promise<ApprovalRequest | undefined> {
  const snapshot = await graph.getState(config);
  return snapshot.tasks.flatMap((t) => t.interrupts).map((i) => i.value as ApprovalRequest)[0];
}

describe("orchestrator graph (catalog planner, fake tools)", () => {
  it("plans from the catalog, fills parameters from the request, runs the DAG in parallel and reports", async () => {
    const caller = infraCaller({ ms: { "shop-db": 80, "shop-cache": 80 } });
    const graph = compileOrchestrator(testDeps(caller), new MemorySaver());
    const config = thread();
    const final = (await graph.invoke({ request: 'Set up my app called shop with a database, a cache and a deployment in eu-west-1' }, config)) as RunState;
    expect(final.planner?.kind).toBe("catalog");
    expect(final.planner?.workflow?.id).toBe("app-stack");
    expect(final.planner?.filled?.join("\n")).toContain('name = "shop"');
    expect(caller.callsOf("create").map((c) => c.args["name"]).sort()).toEqual(["shop-cache", "shop-db"]);
    expect(caller.callsOf("create").find((c) => c.args["name"] === "shop-db")!.args["value"]).toBe("eu-west-1");
    const report = final.report!;
    expect(report.outcome).toBe("executed");
    expect(report.status).toBe("succeeded");
    expect(report.approval?.by).toBe("not-needed");
    expect(report.timing.overlaps.map((o) => [o.a, o.b])).toContainEqual(["db", "cache"]);
    expect(report.timing.speedup).toBeGreaterThan(1);
    expect(report.forecast?.usd.p50).toBeCloseTo(0.02, 5);
    expect(report.summaryBy).toBe("template");
    expect(report.summary).toContain("succeeded");
  });

  it("asks before a destructive step; approving through Command resumes and runs it", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller), new MemorySaver());
    const config = thread();
    await graph.invoke({ request: "tear down the resource called id-42" }, config);
    const asked = await pendingInterrupt(graph, config);
    expect(asked?.kind).toBe("approval");
    expect(asked?.reasons.join("\n")).toContain("destructive steps: remove");
    expect(caller.calls).toHaveLength(0);
    const final = (await graph.invoke(new Command({ resume: { approved: true } }), config)) as RunState;
    expect(final.report?.approval).toMatchObject({ approved: true, by: "human" });
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-42"]);
    expect(final.report?.status).toBe("succeeded");
  });

  it("--yes approves a budget, not destruction: a destructive step still asks unless --allow-destructive", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller), new MemorySaver());
    const config = thread();
    await graph.invoke({ request: "tear down the resource called id-42", autoApprove: true }, config);
    expect((await pendingInterrupt(graph, config))?.reasons.join("\n")).toContain("destructive steps: remove");
    expect(caller.calls).toHaveLength(0);

    const allowed = (await graph.invoke({ request: "tear down the resource called id-42", autoApprove: true, allowDestructive: true }, thread())) as RunState;
    expect(allowed.report?.approval).toMatchObject({ approved: true, by: "flag" });
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-42"]);
  });

  it("a declined approval runs nothing and says so", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller), new MemorySaver());
    const config = thread();
    await graph.invoke({ request: "tear down the resource called id-42" }, config);
    const final = (await graph.invoke(new Command({ resume: "reject" }), config)) as RunState;
    expect(final.report?.outcome).toBe("declined");
    expect(final.report?.status).toBe("not_run");
    expect(caller.calls).toHaveLength(0);
  });

  it("over the run budget: interrupt; --yes approves without asking", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller), new MemorySaver());
    const config = thread();
    await graph.invoke({ request: "Set up my app with a database, a cache and a deployment", budgetUsd: 0.001 }, config);
    const asked = await pendingInterrupt(graph, config);
    expect(asked?.reasons.join("\n")).toMatch(/over the run budget \$0\.0010/);
    const yes = thread();
    const final = (await graph.invoke({ request: "Set up my app with a database, a cache and a deployment", budgetUsd: 0.001, autoApprove: true }, yes)) as RunState;
    expect(final.report?.approval?.by).toBe("flag");
    expect(final.report?.status).toBe("succeeded");
  });

  it("over a hard cap: rejected with the numbers, nothing runs", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller, {}, { CREDIT_OPTIMIZER_DAILY_CAP_USD: "0.015" }), new MemorySaver());
    const final = (await graph.invoke({ request: "Set up my app with a database, a cache and a deployment" }, thread())) as RunState;
    expect(final.report?.outcome).toBe("rejected");
    expect(final.report?.decision?.reasons.join("\n")).toContain("daily cap $0.0150");
    expect(caller.calls).toHaveLength(0);
  });

  it("dry run: plans and forecasts only", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller), new MemorySaver());
    const final = (await graph.invoke({ request: "lint my code", dryRun: true }, thread())) as RunState;
    expect(final.report?.outcome).toBe("planned");
    expect(final.forecast?.perStep.map((s) => s.id)).toEqual(["lint"]);
    expect(caller.calls).toHaveLength(0);
  });

  it("no workflow close enough: stops and says what it can do", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller), new MemorySaver());
    const final = (await graph.invoke({ request: "write me a poem about autumn" }, thread())) as RunState;
    expect(final.report?.outcome).toBe("planning_failed");
    // Nothing in the request is near any template: no "closest" to offer, the offline abilities instead.
    expect(final.report?.problems.join("\n")).toMatch(/no workflow matches the request\. Offline I can: app stack, tear down, lint the code/);
    expect(final.report?.planner?.closest).toEqual([]);
    expect(caller.calls).toHaveLength(0);
  });

  it("keeps one thread per agent per session on the checkpointer", async () => {
    const saver = new MemorySaver();
    const memory = checkpointMemory(saver);
    const graph = compileOrchestrator(testDeps(infraCaller(), { memory }), saver);
    await graph.invoke({ request: "lint my code", session: "work", dryRun: true }, thread());
    await graph.invoke({ request: "lint my code again", session: "work", dryRun: true }, thread());
    const architect = await memory.load(agentThread("work", "architect"));
    expect(architect.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(architect[2]!.content).toBe("lint my code again");
    expect(JSON.parse(architect[1]!.content).name).toBe("Lint");
    expect(await memory.load(agentThread("other", "architect"))).toHaveLength(0);
  });

  it("forecasts from the median of past durations of a tool once the ledger has them, and records the run", async () => {
    const ledger = await openLedger({ home: tempDir("co-graph-ledger-") });
    try {
      for (const ms of [400, 500, 900]) {
        await ledger.recordStep({ runId: "past", stepId: "x", tool: "infra.noop", server: "infra", status: "succeeded", durationMs: ms, attempts: 1, usd: 0, usdSource: "none", at: Date.now() });
      }
      const graph = compileOrchestrator(testDeps(infraCaller(), { ledger }), new MemorySaver());
      const config = thread();
      const final = (await graph.invoke({ request: "lint my code" }, config)) as RunState;
      expect(final.forecast?.perStep[0]).toMatchObject({ id: "lint", source: "history", samples: 3 });
      expect(final.forecast?.perStep[0]!.ms.p50).toBe(500);
      expect(final.report?.comparison?.durationMs.forecast.p50).toBe(500);
      const runs = await ledger.runs({ runId: config.configurable.thread_id });
      expect(runs).toEqual([expect.objectContaining({ plan: "Lint", status: "succeeded" })]);
      expect((await ledger.steps({ runId: config.configurable.thread_id })).map((s) => s.stepId)).toEqual(["lint"]);
    } finally {
      await ledger.close();
    }
  });
});
