import { afterEach, describe, expect, it } from "vitest";
import { compareForecast, DEFAULT_STEP_MS, forecastPlan, formatComparison, formatForecast } from "../../src/cost/forecast.ts";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { createStepRecorder } from "../../src/cost/recorder.ts";
import type { ToolInfo } from "../../src/mcp/catalog.ts";
import { preparePlan } from "../../src/plan/validate.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const tools: ToolInfo[] = ["provision", "migrate", "deploy", "smoke", "notify"].map((name) => ({ server: "infra", name, description: name, inputSchema: { type: "object" } }));

let ledger: Ledger | undefined;
afterEach(async () => {
  await ledger?.close();
  ledger = undefined;
});

async function recordRun(l: Ledger, runId: string, plan: string, steps: [string, string, number][], at: number): Promise<void> {
  for (const [stepId, tool, durationMs] of steps) {
    await l.recordStep({ runId, plan, stepId, tool: `infra.${tool}`, server: "infra", status: "succeeded", durationMs, attempts: 1, usd: 0, usdSource: "none", at });
  }
}

describe("forecastPlan", () => {
  it("forecasts a new plan's critical path from past durations of its tools", async () => {
    ledger = await openLedger({ home: tempDir("co-fc-") });
    // Three past runs of another plan: provision 900–1100ms, migrate 400ms, deploy 1500–2500ms, smoke 200ms.
    await recordRun(ledger, "r1", "old", [["p", "provision", 900], ["m", "migrate", 400], ["d", "deploy", 1500], ["s", "smoke", 200]], 1);
    await recordRun(ledger, "r2", "old", [["p", "provision", 1000], ["m", "migrate", 400], ["d", "deploy", 2000], ["s", "smoke", 200]], 2);
    await recordRun(ledger, "r3", "old", [["p", "provision", 1100], ["m", "migrate", 400], ["d", "deploy", 2500], ["s", "smoke", 200]], 3);
    const prepared = preparePlan(
      {
        name: "new",
        steps: [
          { id: "db", tool: "infra.provision" },
          { id: "cache", tool: "infra.provision" },
          { id: "schema", tool: "infra.migrate", dependencies: ["db"] },
          { id: "app", tool: "infra.deploy", dependencies: ["schema", "cache"] },
          { id: "check", tool: "infra.smoke", dependencies: ["app"] },
          { id: "tell", tool: "infra.notify", estimate: { ms: 50, usd: 0.01 } },
        ],
      },
      { tools },
    );
    const forecast = await forecastPlan(prepared, { ledger, pricing: DEFAULT_PRICING });
    // Expected: db (1000) → schema (400) → app (2000) → check (200), medians of the history.
    expect(forecast.criticalPath).toEqual(["db", "schema", "app", "check"]);
    expect(forecast.durationMs.p50).toBe(3600);
    expect(forecast.durationMs.p90).toBeGreaterThan(3600);
    const actualOfRun2 = 1000 + 400 + 2000 + 200;
    expect(actualOfRun2).toBeGreaterThanOrEqual(forecast.durationMs.p50);
    expect(actualOfRun2).toBeLessThanOrEqual(forecast.durationMs.p90);
    expect(forecast.perStep.map((s) => [s.id, s.source, s.samples])).toEqual([
      ["db", "history", 3],
      ["cache", "history", 3],
      ["tell", "estimate", 0],
      ["schema", "history", 3],
      ["app", "history", 3],
      ["check", "history", 3],
    ]);
    expect(forecast.usd).toEqual({ p50: 0.01, p90: 0.01 });
  });

  it("prefers the same step of past runs of the same plan over the tool's history", async () => {
    ledger = await openLedger({ home: tempDir("co-fc-") });
    await recordRun(ledger, "r1", "same", [["fast", "deploy", 100], ["slow", "deploy", 5000]], 1);
    const prepared = preparePlan({ name: "same", steps: [{ id: "fast", tool: "infra.deploy" }, { id: "slow", tool: "infra.deploy" }, { id: "other", tool: "infra.deploy" }] }, { tools });
    const forecast = await forecastPlan(prepared, { ledger, pricing: DEFAULT_PRICING });
    const ms = Object.fromEntries(forecast.perStep.map((s) => [s.id, s.ms.p50]));
    expect(ms).toEqual({ fast: 100, slow: 5000, other: 2550 });
    expect(forecast.durationMs.p50).toBe(5000);
  });

  it("keeps broker calls under their inner tool, as recorded by the step recorder", async () => {
    ledger = await openLedger({ home: tempDir("co-fc-") });
    const broker: ToolInfo[] = [{ server: "toolkit", name: "toolkit_call", description: "broker", inputSchema: { type: "object" } }];
    const call = (id: string, inner: string, dependencies: string[] = []) => ({ id, tool: "toolkit.toolkit_call", dependencies, params: { tool_name: inner, arguments: {} } });
    const past = preparePlan({ name: "past", steps: [call("db", "neon_create_project"), call("app", "fly_deploy")] }, { tools: broker });
    const recorder = createStepRecorder(ledger, "r1", past);
    const finished = (id: string, ms: number) => ({ type: "step_finished" as const, result: { id, tool: "toolkit.toolkit_call", status: "succeeded" as const, attempts: 1, startedAtMs: 1000, endedAtMs: 1000 + ms } });
    recorder.onEvent(finished("db", 4000));
    recorder.onEvent(finished("app", 30_000));
    recorder.onEvent({ type: "step_started", id: "x", tool: "toolkit.toolkit_call" });
    await recorder.flush();
    expect((await ledger.steps()).map((s) => [s.stepId, s.tool, s.durationMs])).toEqual([
      ["db", "toolkit.toolkit_call#neon_create_project", 4000],
      ["app", "toolkit.toolkit_call#fly_deploy", 30_000],
    ]);
    const next = preparePlan({ name: "next", steps: [call("deploy", "fly_deploy"), call("database", "neon_create_project"), call("check", "fly_status", ["deploy"])] }, { tools: broker });
    const forecast = await forecastPlan(next, { ledger, pricing: DEFAULT_PRICING });
    expect(forecast.perStep.map((s) => [s.id, s.tool, s.ms.p50, s.source])).toEqual([
      ["deploy", "toolkit.toolkit_call#fly_deploy", 30_000, "history"],
      ["database", "toolkit.toolkit_call#neon_create_project", 4000, "history"],
      ["check", "toolkit.toolkit_call#fly_status", DEFAULT_STEP_MS.p50, "default"],
    ]);
  });

  it("falls back to declared estimates, then the default, without a ledger", async () => {
    const prepared = preparePlan({ name: "x", steps: [{ id: "a", tool: "infra.provision", estimate: { ms: 3000, usd: 0.2 } }, { id: "b", tool: "infra.deploy", dependencies: ["a"] }] }, { tools });
    const forecast = await forecastPlan(prepared, { pricing: DEFAULT_PRICING });
    expect(forecast.perStep.map((s) => s.source)).toEqual(["estimate", "default"]);
    expect(forecast.durationMs).toEqual({ p50: 3000 + DEFAULT_STEP_MS.p50, p90: 4500 + DEFAULT_STEP_MS.p90 });
    expect(forecast.usd).toEqual({ p50: 0.2, p90: 0.2 });
  });

  it("adds expected model calls, priced from token history per agent and model, and lists unknown models", async () => {
    ledger = await openLedger({ home: tempDir("co-fc-") });
    for (const [i, input] of [1000, 2000, 3000].entries()) {
      await ledger.recordModelCall({ runId: `m${i}`, agent: "reporter", model: "gpt-4o-2024-08-06", inputTokens: input, outputTokens: 500, cachedTokens: 0, usd: 0, known: true, at: i });
    }
    // Another model of the same agent: ignored, since there is history for the expected one.
    await ledger.recordModelCall({ runId: "m9", agent: "reporter", model: "qwen2.5:7b", inputTokens: 90_000, outputTokens: 9000, cachedTokens: 0, usd: 0, known: true, at: 9 });
    const prepared = preparePlan({ name: "x", steps: [{ id: "a", tool: "infra.smoke", estimate: { ms: 10 } }] }, { tools });
    const forecast = await forecastPlan(prepared, {
      ledger,
      pricing: DEFAULT_PRICING,
      expectedModelCalls: [
        { agent: "reporter", model: "gpt-4o" },
        { agent: "architect", model: "gpt-4o-mini", inputTokens: 10_000, outputTokens: 1000 },
        { agent: "coder", model: "secret-sauce-1" },
      ],
    });
    const [reporter, architect, coder] = forecast.models;
    expect(reporter).toMatchObject({ source: "history", inputTokens: { p50: 2000 }, outputTokens: { p50: 500 }, known: true });
    expect(reporter!.usd.p50).toBeCloseTo((2000 * 2.5 + 500 * 10) / 1e6, 12);
    expect(reporter!.usd.p90).toBeGreaterThan(reporter!.usd.p50);
    expect(architect).toMatchObject({ source: "given", known: true });
    expect(architect!.usd.p50).toBeCloseTo((10_000 * 0.15 + 1000 * 0.6) / 1e6, 12);
    expect(coder).toMatchObject({ source: "default", known: false, usd: { p50: 0, p90: 0 } });
    expect(forecast.unknownModels).toEqual(["secret-sauce-1"]);
    expect(forecast.usd.p50).toBeCloseTo(reporter!.usd.p50 + architect!.usd.p50, 12);
    expect(formatForecast(forecast)).toContain("unpriced models (their cost is not in the forecast): secret-sauce-1");
  });

  it("compares forecast with actual", () => {
    const comparison = compareForecast({ durationMs: { p50: 1000, p90: 1500 }, usd: { p50: 0.1, p90: 0.2 } }, { durationMs: 2000, usd: 0.1 });
    expect(comparison.durationMs).toMatchObject({ actual: 2000, relativeError: 1, withinRange: false });
    expect(comparison.usd).toMatchObject({ relativeError: 0, withinRange: true });
    expect(formatComparison(comparison)).toBe(
      "duration: forecast 1.0s (p90 1.5s), actual 2.0s — +100% vs p50, over p90\ncost: forecast $0.1000 (p90 $0.2000), actual $0.1000 — +0% vs p50, at or under p90",
    );
  });
});
