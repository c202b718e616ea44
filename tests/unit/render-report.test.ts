import { describe, expect, it } from "vitest";
import type { Report } from "../../agents/types.ts";
import { renderReport } from "../../src/cli/render.ts";
import type { StepResult } from "../../src/engine/run-step.ts";

const step = (id: string, status: StepResult["status"], at: number, extra: Partial<StepResult> = {}): StepResult => ({ id, tool: "infra.create", status, attempts: status === "held" ? 0 : 1, startedAtMs: at, endedAtMs: status === "held" ? at : at + 100, ...extra });

function report(extra: Partial<Report>): Report {
  return {
    threadId: "run-1",
    request: "set up the shop",
    outcome: "executed",
    status: "succeeded",
    plan: "Shop stack",
    steps: [],
    timing: { makespanMs: 300, criticalPathMs: 200, sequentialMs: 300, speedup: 1, overlaps: [] },
    compensations: [],
    outcomes: [],
    leftBehind: [],
    problems: [],
    notes: [],
    actual: { usd: 0, modelUsd: 0, toolUsd: 0, ms: 300 },
    usage: [],
    summary: "done",
    summaryBy: "template",
    ...extra,
  };
}

describe("the human report: replans and held steps", () => {
  it("names the steps the running budget held, with how to go on", () => {
    const text = renderReport(report({
      status: "failed",
      steps: [step("db", "succeeded", 0), step("cache", "held", 100, { reason: "the run's budget ($1.00) would be crossed" }), step("deploy", "held", 100, { reason: 'waiting for "cache", held by the budget' })],
    }));
    expect(text).toMatch(/‖ cache .*the run's budget \(\$1\.00\) would be crossed/);
    expect(text).toContain("‖ held by the budget: cache, deploy — they run once a person approves more (resume run-1 --approve)");
    expect(renderReport(report({ steps: [step("db", "succeeded", 0)] }))).not.toContain("held by the budget");
  });

  it("says which steps started while the plan streamed and why the others waited for the whole plan", () => {
    const planner: Report["planner"] = {
      kind: "model",
      reason: "the model's first plan was valid",
      streamed: [
        { id: "db", atMs: 400, status: "ok", started: true },
        { id: "cache", atMs: 700, status: "ok", started: true },
        { id: "drop", atMs: 900, status: "ok", held: "destructive: needs the whole plan and its approval" },
        { id: "deploy", atMs: 1100, status: "ok", held: 'held behind "drop": destructive: needs the whole plan and its approval' },
      ],
    };
    const text = renderReport(report({ planner, steps: [step("db", "succeeded", 0), step("cache", "succeeded", 0), step("drop", "succeeded", 100), step("deploy", "succeeded", 200)] }));
    expect(text).toContain("streamed: 2 of 4 step(s) started while the plan streamed; waited for the whole plan:");
    expect(text).toContain("‖ drop: destructive: needs the whole plan and its approval");
    expect(text).toContain('‖ deploy: held behind "drop"');
    // Nothing started early (a plan file, or every step held): no streamed line.
    expect(renderReport(report({ planner: { ...planner, streamed: planner.streamed!.map(({ started: _s, ...rest }) => ({ ...rest, held: "x" })) } }))).not.toContain("streamed:");
  });

  it("shows a replan that found no valid replacement with its problems, and that the run rolled back, also when the run was declined", () => {
    const replans: Report["replans"] = [{ failed: { step: "cache", tool: "infra.create", error: "region us-east-9 does not exist" }, verdict: "invalid", reason: "no valid replacement in 2 attempt(s)", kept: [], attempts: 2, tokens: { input: 2400, output: 180 }, problems: ['steps[0].id: duplicate step id "db"'] }];
    const text = renderReport(report({ status: "rolled_back", replans }));
    expect(text).toContain("✗ cache (infra.create) failed: region us-east-9 does not exist");
    expect(text).toContain("⟳ replan 1: no valid replacement — no valid replacement in 2 attempt(s) (2 model call(s), 2400 prompt + 180 completion tokens) — rolled back");
    expect(text).toContain('✗ steps[0].id: duplicate step id "db"');
    expect(text).not.toContain("kept:");
    const declined = renderReport(report({ outcome: "declined", replans: [{ ...replans[0]!, verdict: "replanned", reason: "another region", kept: ["db"], changes: ["~ cache: params"], problems: undefined }] }));
    expect(declined).toContain("⟳ replan 1: replanned — another region");
    expect(declined).toContain("~ cache: params");
  });
});
