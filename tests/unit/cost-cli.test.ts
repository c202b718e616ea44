import { describe, expect, it } from "vitest";
import { bars, costsCommand } from "../../src/cli/costs.ts";
import { runMain } from "../helpers/cli.ts";
import { loadConfig } from "../../src/config.ts";
import { costReport, forecastAccuracy, parseSince } from "../../src/cost/analytics.ts";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Two days of activity: three runs with forecasts, calls from two agents on two models, steps on two tools. */
async function seed(ledger: Ledger, now: number): Promise<void> {
  const call = { cachedTokens: 0, known: true };
  await ledger.recordModelCall({ ...call, runId: "r1", agent: "architect", model: "gpt-4o", inputTokens: 1000, outputTokens: 100, usd: 0.4, at: now - DAY - HOUR });
  await ledger.recordModelCall({ ...call, runId: "r1", agent: "reporter", model: "qwen2.5:7b", inputTokens: 2000, outputTokens: 200, usd: 0, at: now - DAY, routedFrom: "gpt-4o" });
  await ledger.recordModelCall({ ...call, runId: "r2", agent: "architect", model: "gpt-4o", inputTokens: 2000, outputTokens: 200, usd: 0.8, at: now - HOUR });
  await ledger.recordModelCall({ runId: "r3", agent: "architect", model: "mystery", inputTokens: 10, outputTokens: 10, cachedTokens: 0, usd: 0, known: false, at: now - HOUR });
  const step = { server: "infra", status: "succeeded", attempts: 1, usdSource: "declared" as const };
  await ledger.recordStep({ ...step, runId: "r1", stepId: "a", agent: "db", tool: "infra.create", durationMs: 1000, usd: 0.1, at: now - DAY });
  await ledger.recordStep({ ...step, runId: "r2", stepId: "a", agent: "db", tool: "infra.create", durationMs: 3000, usd: 0.1, at: now - HOUR });
  await ledger.recordStep({ ...step, runId: "r2", stepId: "b", agent: "deploy", tool: "infra.deploy", durationMs: 500, usd: 0.6, at: now - HOUR });
  const forecast = (ms: number, usd: number) => ({ durationMs: { p50: ms, p90: ms * 1.5 }, usd: { p50: usd, p90: usd * 1.5 } });
  await ledger.recordRun({ runId: "r1", plan: "p", status: "succeeded", forecast: forecast(1000, 0.5), actual: { durationMs: 1000, usd: 0.5 }, startedAt: now - DAY - HOUR, endedAt: now - DAY });
  await ledger.recordRun({ runId: "r2", plan: "p", status: "succeeded", forecast: forecast(2000, 1.5), actual: { durationMs: 4000, usd: 1.5 }, startedAt: now - HOUR, endedAt: now });
  await ledger.recordRun({ runId: "r3", plan: "q", status: "rolled_back", forecast: forecast(500, 0), actual: { durationMs: 400, usd: 0 }, startedAt: now - HOUR, endedAt: now });
  await ledger.recordModelCall({ ...call, runId: "old", agent: "architect", model: "gpt-4o", inputTokens: 1, outputTokens: 1, usd: 99, at: now - 30 * DAY });
}

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: string[] } {
  const out: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => out.push(t) }, out };
}

describe("cost analytics", () => {
  it("totals, breaks down, measures forecast accuracy and spend per day, leaving out older records", async () => {
    const now = Date.UTC(2026, 10, 20, 12);
    const ledger = await openLedger({ home: tempDir("co-costs-") });
    try {
      await seed(ledger, now);
      const report = await costReport(ledger, { since: now - 7 * DAY, until: now + 1, by: "agent", pricing: DEFAULT_PRICING });
      expect(report.totals).toMatchObject({ modelCalls: 4, steps: 3, runs: 3, inputTokens: 5010, outputTokens: 510 });
      expect(report.totals.usd).toBeCloseTo(2.0, 10);
      expect(report.unknownModels).toEqual({ mystery: 1 });
      // Step agents (db, deploy) own their steps, beside the agents that call models.
      expect(report.breakdown.map((r) => [r.key, r.count, r.known])).toEqual([["architect", 3, false], ["deploy", 1, true], ["db", 2, true], ["reporter", 1, true]]);
      expect(report.breakdown.map((r) => r.usd)).toEqual([expect.closeTo(1.2, 10), expect.closeTo(0.6, 10), expect.closeTo(0.2, 10), 0]);
      expect(report.perDay).toHaveLength(8);
      expect(report.perDay.at(-1)).toEqual({ day: "2026-11-20", usd: expect.closeTo(1.5, 10) });
      expect(report.perDay.at(-2)).toEqual({ day: "2026-11-19", usd: expect.closeTo(0.5, 10) });
      expect(report.routing).toMatchObject({ routedCalls: 1 });
      expect(report.routing!.savedUsd).toBeCloseTo((2000 * 2.5 + 200 * 10) / 1e6, 12);

      const byTool = await costReport(ledger, { since: now - 7 * DAY, until: now + 1, by: "tool", pricing: DEFAULT_PRICING });
      expect(byTool.breakdown.map((r) => [r.key, r.count, r.durationMs])).toEqual([["infra.deploy", 1, 500], ["infra.create", 2, 4000]]);
    } finally {
      await ledger.close();
    }
  });

  it("reports the median absolute error of forecast vs actual", () => {
    const f = (ms: number, usd: number) => ({ durationMs: { p50: ms, p90: ms * 1.5 }, usd: { p50: usd, p90: usd } });
    const runs = [
      { runId: "a", plan: "p", status: "s", startedAt: 0, forecast: f(1000, 1), actual: { durationMs: 1000, usd: 1 } },
      { runId: "b", plan: "p", status: "s", startedAt: 0, forecast: f(2000, 1), actual: { durationMs: 4000, usd: 2 } },
      { runId: "c", plan: "p", status: "s", startedAt: 0, forecast: f(500, 1), actual: { durationMs: 400, usd: 1 } },
      { runId: "d", plan: "p", status: "s", startedAt: 0 },
    ];
    const accuracy = forecastAccuracy(runs);
    expect(accuracy.durationMs).toEqual({ runs: 3, medianAbsError: 100, medianRelError: 0.25, worstRelError: 0.5, withinP90: 2 / 3 });
    expect(accuracy.usd).toMatchObject({ runs: 3, medianAbsError: 0, worstRelError: 0.5 });
    expect(forecastAccuracy([])).toEqual({});
  });

  it("parses --since", () => {
    expect(parseSince("7d", 10 * DAY)).toBe(3 * DAY);
    expect(parseSince("12h", DAY)).toBe(12 * HOUR);
    expect(parseSince("2026-11-01")).toBe(Date.UTC(2026, 10, 1));
    expect(parseSince("last week")).toBeUndefined();
  });

  it("draws bars scaled to the largest day in eighths", () => {
    const lines = bars([{ day: "2026-11-19", usd: 1 }, { day: "2026-11-20", usd: 0.5 }, { day: "2026-11-21", usd: 0 }, { day: "2026-11-22", usd: 0.01 }]);
    expect(lines[0]).toBe(`  11-19 ${"█".repeat(40)} $1.00`);
    expect(lines[1]).toBe(`  11-20 ${"█".repeat(20)}${" ".repeat(20)} $0.5000`);
    expect(lines[2]).toBe(`  11-21 ${" ".repeat(40)} $0.0000`);
    expect(lines[3]).toBe(`  11-22 ▍${" ".repeat(39)} $0.0100`);
  });
});

describe("credit-optimizer costs", () => {
  it("prints totals, the breakdown, forecast accuracy and bars, or the same as JSON", async () => {
    const home = tempDir("co-costs-");
    const config = loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home);
    const ledger = await openLedger({ home });
    await seed(ledger, Date.now());
    await ledger.close();

    const text = capture();
    expect(await costsCommand({ since: "7d", by: "model" }, config, text.io)).toBe(0);
    const out = text.out.join("\n");
    expect(out).toContain("total $2.00: models $1.20 (4 calls, 5,010 in / 510 out tokens, 0 cached), steps $0.8000 (3 steps), 3 runs");
    expect(out).toContain("unpriced models (not in the totals): mystery (1 calls)");
    expect(out).toMatch(/ {2}mystery +1 +10 +10 +\$0\.0000 \+ unpriced\n/);
    expect(out).not.toContain("held by");
    expect(out).toMatch(/by model:\n {2}model +calls +in tok +out tok +usd\n {2}gpt-4o +2 +3,000 +300 +\$1\.20\n/);
    expect(out).toContain("duration: median |error| 100ms (25%), worst 50%, 67% within p90, over 3 runs");
    expect(out).toContain("model routing saved $0.0070: 1 routed calls cost $0.0000 instead of $0.0070 on the default models");
    expect(out.split("\n").filter((l) => /^ {2}\d\d-\d\d /.test(l)).length).toBeGreaterThanOrEqual(8);

    const json = capture();
    expect(await costsCommand({ json: true, by: "run" }, config, json.io)).toBe(0);
    const report = JSON.parse(json.out.join("\n")) as { by: string; breakdown: { key: string; detail?: string }[]; totals: { runs: number } };
    expect(report.by).toBe("run");
    expect(report.totals.runs).toBe(3);
    expect(report.breakdown.find((r) => r.key === "r3")?.detail).toBe("q (rolled_back)");
  });

  it("shows what running runs hold", async () => {
    const home = tempDir("co-costs-");
    const config = loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home);
    const ledger = await openLedger({ home });
    const held = await ledger.reserve({ runId: "running", usd: 0.25, caps: { dailyUsd: 10, monthlyUsd: 10 } });
    const text = capture();
    expect(await costsCommand({}, config, text.io)).toBe(0);
    expect(text.out.join("\n")).toContain("held by 1 running run(s): $0.2500 reserved beyond what they spent so far");
    await held.settle();
    await ledger.close();
  });

  it("rejects a bad --by or --since as a usage error", async () => {
    const home = tempDir("co-costs-");
    const config = loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home);
    for (const argv of [["--by", "colour"], ["--since", "soon"]]) {
      const result = await runMain(["costs", ...argv], config);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(argv[0] === "--by" ? /argument 'colour' is invalid. Allowed choices are agent, tool, model, run/ : /--since expects 30m, 24h, 7d, 2w or a date/);
    }
  });
});
