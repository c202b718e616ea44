import { describe, expect, it } from "vitest";
import { checkBudget, createBudgetGuard } from "../../src/cost/budget.ts";

const caps = { dailyUsd: 10, monthlyUsd: 200, approvalUsd: 0.5 };
const forecast = (p50: number, p90: number) => ({ durationMs: { p50: 1000, p90: 2000 }, usd: { p50, p90 } });
const base = { caps, spentToday: 0, spentThisMonth: 0, destructiveSteps: [] as string[] };

describe("checkBudget (before a run)", () => {
  it("is ok under every limit", () => {
    expect(checkBudget({ ...base, forecast: forecast(0.1, 0.2) })).toEqual({ decision: "ok", reasons: [] });
  });

  it("rejects a run whose expected cost would cross the daily or monthly cap, naming the numbers", () => {
    const daily = checkBudget({ ...base, spentToday: 9.8, spentThisMonth: 50, forecast: forecast(0.3, 0.4) });
    expect(daily.decision).toBe("reject");
    expect(daily.reasons[0]).toBe("daily cap $10.00: $9.80 spent today + $0.3000 forecast (p50) = $10.10 would cross it");
    const monthly = checkBudget({ ...base, spentToday: 1, spentThisMonth: 199.9, forecast: forecast(0.2, 0.3) });
    expect(monthly.decision).toBe("reject");
    expect(monthly.reasons[0]).toContain("monthly cap $200.00: $199.90 spent this month");
  });

  it("asks when p90 might cross a cap, over the approval threshold or run budget, or destructive", () => {
    expect(checkBudget({ ...base, spentToday: 9.85, forecast: forecast(0.1, 0.2) })).toEqual({
      decision: "ask",
      reasons: ["daily cap $10.00: $9.85 spent today + $0.2000 forecast (p90) = $10.05 might cross it"],
    });
    expect(checkBudget({ ...base, forecast: forecast(0.4, 0.6) }).reasons).toEqual(["forecast $0.6000 (p90) is over the approval threshold $0.5000"]);
    expect(checkBudget({ ...base, runBudgetUsd: 0.05, forecast: forecast(0.04, 0.1) }).reasons).toEqual(["forecast $0.1000 (p90) is over the run budget $0.0500"]);
    expect(checkBudget({ ...base, destructiveSteps: ["drop_db"], forecast: forecast(0, 0) })).toEqual({ decision: "ask", reasons: ["destructive steps: drop_db"] });
    expect(checkBudget({ ...base, unknownModels: ["x-1"], forecast: forecast(0, 0) }).decision).toBe("ask");
  });
});

describe("createBudgetGuard (while a run runs)", () => {
  it("stops new steps once the run spends more than it was allowed, and lets them start after approval", () => {
    let spent = 0;
    const guard = createBudgetGuard({ caps, spentToday: 1, spentThisMonth: 1, runSpentUsd: () => spent, runLimitUsd: 0.3 });
    expect(guard.check()).toEqual({ ok: true });
    spent = 0.35; // a model used more tokens than forecast
    const stop = guard.check();
    expect(stop).toEqual({ ok: false, limit: "run", message: "budget: this run has spent $0.3500, over the $0.3000 it was allowed; no new steps start until you approve" });
    guard.approve();
    expect(guard.check()).toEqual({ ok: true });
    expect(guard.approved()).toEqual(["run"]);
  });

  it("stops at the daily cap even after the run limit was approved, and restores approvals on resume", () => {
    let spent = 0.6;
    const guard = createBudgetGuard({ caps, spentToday: 9.5, spentThisMonth: 20, runSpentUsd: () => spent, approved: ["run"] });
    expect(guard.check()).toEqual({ ok: false, limit: "daily", message: "budget: spend today is $10.10, over the daily cap $10.00; no new steps start until you approve" });
    guard.approve();
    spent = 5;
    expect(guard.check()).toEqual({ ok: true });
    expect(guard.approved().sort()).toEqual(["daily", "run"]);
  });

  it("defaults the run limit to the approval threshold", () => {
    const guard = createBudgetGuard({ caps, spentToday: 0, spentThisMonth: 0, runSpentUsd: () => 0.51 });
    expect(guard.check()).toMatchObject({ ok: false, limit: "run" });
  });
});
