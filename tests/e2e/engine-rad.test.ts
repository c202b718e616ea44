import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MemorySaver } from "@langchain/langgraph";
import { compileExecutor } from "../../graphs/executor.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import { summarizeExecution } from "../../src/engine/report.ts";
import type { ExecState, Scheduler } from "../../src/engine/schedule.ts";
import { McpRuntime } from "../../src/mcp/client.ts";
import { fakeServer, readCalls, tempDir } from "../helpers/fake-mcp.ts";

const seedPlan = JSON.parse(readFileSync(new URL("../fixtures/plans/rad-crawler-seed.json", import.meta.url), "utf8")) as unknown;

async function runSeed(scheduler: Scheduler, options: Parameters<typeof fakeServer>[2]) {
  const calls = path.join(tempDir(), "calls.jsonl");
  const runtime = await McpRuntime.connect({
    mcpServers: { toolkit: fakeServer("toolkit", calls, options), workspace: fakeServer("workspace", calls, options) },
  });
  try {
    const ctx = { caller: runtime, limits: new ServerLimits(8) };
    const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
    const state = (await graph.invoke({ plan: seedPlan, scheduler }, { configurable: { thread_id: `t-${scheduler}-${Math.random()}` } })) as ExecState;
    return { report: summarizeExecution(state), calls: readCalls(calls) };
  } finally {
    await runtime.close();
  }
}

describe("seed Test 1: the RAD Crawler DAG runs in parallel", () => {
  // generate_code long enough for the create chain beside it to start on a loaded machine.
  const delays = { generate_code: 3000 };
  let asap: Awaited<ReturnType<typeof runSeed>>;
  let graph: Awaited<ReturnType<typeof runSeed>>;
  beforeAll(async () => {
    graph = await runSeed("graph", { delays, defaultMs: 100 });
    asap = await runSeed("asap", { delays, defaultMs: 100 });
  });

  it("asap: the seed plan (verbatim) succeeds, with deploy_app's implied dependency on create_redis", () => {
    expect(asap.report.status).toBe("succeeded");
    expect(asap.report.notes.join("\n")).toContain('step "deploy_app" reads ${create_redis.url}');
    const byId = Object.fromEntries(asap.report.steps.map((s) => [s.id, s]));
    // create_database starts before generate_code ends: no level barrier.
    expect(byId["create_database"]!.startedAtMs).toBeLessThan(byId["generate_code"]!.endedAtMs);
    expect(byId["create_fly_app"]!.startedAtMs).toBeGreaterThanOrEqual(byId["generate_code"]!.endedAtMs);
    expect(byId["deploy_app"]!.startedAtMs).toBeGreaterThanOrEqual(byId["create_redis"]!.endedAtMs);
    // The parallel run is shorter than the sum of its steps.
    expect(asap.report.timing.makespanMs).toBeLessThan(asap.report.timing.sequentialMs);
  });

  it("asap: interpolated values reach the tools, keeping their JSON types", () => {
    const deploy = asap.report.steps.find((s) => s.id === "deploy_app")!;
    const echo = (deploy.output as { echo: { project_id: string; env: Record<string, string> } }).echo;
    expect(echo.project_id).toBe("prj-rad-crawler");
    expect(echo.env["DATABASE_URL"]).toBe("postgres://user:pw-crawler@127.0.0.1:5432/crawler");
    expect(echo.env["REDIS_URL"]).toBe("redis://default:pw-rad-crawler-cache@127.0.0.1:6379");
  });

  it("graph: the plan's own graph ends with the same results as asap, one step node per step", () => {
    expect(graph.report.status).toBe("succeeded");
    const outputs = (r: typeof asap) => Object.fromEntries(r.report.steps.map((s) => [s.id, [s.status, s.attempts, s.output]]));
    expect(outputs(graph)).toEqual(outputs(asap));
    expect(graph.calls.filter((c) => c.tool !== "undo")).toHaveLength(6);
    const byId = Object.fromEntries(graph.report.steps.map((s) => [s.id, s]));
    // deploy_app is routed only once both of its dependencies (one of them implied) have finished.
    expect(byId["deploy_app"]!.startedAtMs).toBeGreaterThanOrEqual(byId["create_redis"]!.endedAtMs);
    expect(byId["deploy_app"]!.startedAtMs).toBeGreaterThanOrEqual(byId["create_fly_app"]!.endedAtMs);
  });
});
