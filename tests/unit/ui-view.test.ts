import type { StateSnapshot } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import type { StepResult } from "../../src/engine/run-step.ts";
import { preparePlan } from "../../src/plan/validate.ts";
import { runView, summarize } from "../../src/ui/view.ts";

const plan = {
  name: "view plan",
  steps: [
    { id: "a", tool: "infra.work", dependencies: [], params: { name: "a" } },
    { id: "b", tool: "infra.work", dependencies: [], params: { name: "b" } },
    { id: "c", tool: "infra.work", dependencies: ["a"], params: { name: "${b.name}" } },
  ],
};
const tools = [{ server: "infra", name: "work", description: "", inputSchema: { type: "object" } }];
const prepared = preparePlan(plan, { tools: tools as never });

function snapshot(values: Record<string, unknown>, extra: Partial<StateSnapshot> = {}): StateSnapshot {
  return { values: { plan, prepared, results: {}, compensations: [], outcomes: [], usage: [], ...values }, next: [], tasks: [], config: {}, createdAt: "2026-12-01T10:00:00.000Z", metadata: undefined, ...extra } as StateSnapshot;
}
const result = (id: string, status: StepResult["status"], startedAtMs: number, endedAtMs: number): StepResult => ({ id, tool: "infra.work", status, attempts: 1, startedAtMs, endedAtMs });

describe("the viewer's run model", () => {
  it("marks implied edges, the critical path from actual durations, and rolled-back steps", () => {
    const view = runView("t1", snapshot({
      status: "rolled_back",
      results: { a: result("a", "succeeded", 0, 100), b: result("b", "succeeded", 0, 500), c: result("c", "failed", 500, 600) },
      compensations: [{ step: "b", tool: "infra.undo", status: "succeeded", attempts: 1, startedAtMs: 600, endedAtMs: 650 }],
      outcomes: [{ step: "b", outcome: "undone", detail: "infra.undo" }],
    }), undefined);
    expect(view.edges).toEqual([
      { from: "a", to: "c", implied: false, critical: false },
      { from: "b", to: "c", implied: true, critical: true },
    ]);
    expect(view.nodes.map((n) => `${n.id}:${n.status}:${n.critical}`)).toEqual(["a:succeeded:false", "b:rolled_back:true", "c:failed:true"]);
    expect(view.timeline.map((b) => `${b.kind}:${b.id}`)).toEqual(["step:a", "step:b", "step:c", "compensation:b"]);
  });

  it("a run mid-execution: steps whose dependencies finished are running, the rest pending", () => {
    const view = runView("t2", snapshot({ approval: { approved: true, by: "not-needed" }, results: { a: result("a", "succeeded", 0, 100) } }, { next: ["execute"] }), undefined);
    expect(view.status).toBe("running");
    expect(view.active).toBe(true);
    expect(view.nodes.map((n) => `${n.id}:${n.status}`)).toEqual(["a:succeeded", "b:running", "c:pending"]);
  });

  it("a run waiting at an interrupt is `waiting`, with its question", () => {
    const question = { kind: "approval", question: "Go on?", reasons: ["over budget"], plan: "view plan", decision: { destructiveSteps: [] } };
    const snap = snapshot({}, { next: ["approve"], tasks: [{ id: "x", name: "approve", interrupts: [{ id: "i", value: question }] }] as never });
    expect(summarize("t3", snap, undefined)).toMatchObject({ status: "waiting", waiting: true, plan: "view plan" });
    expect(runView("t3", snap, undefined).question).toEqual(question);
  });

  it("draws a segment per recorded attempt, failed tries with their error", () => {
    const flaky: StepResult = {
      ...result("a", "succeeded", 0, 400),
      attempts: 2,
      attemptSpans: [
        { startedAtMs: 5, endedAtMs: 100, error: { code: "HTTP_503", message: "503 service unavailable", retryable: true } },
        { startedAtMs: 300, endedAtMs: 395 },
      ],
    };
    const view = runView("t4", snapshot({ results: { a: flaky, b: result("b", "succeeded", 0, 50) } }), undefined);
    const bar = view.timeline.find((b) => b.id === "a")!;
    expect(bar.segments).toEqual([
      { startMs: 5, endMs: 100, error: "HTTP_503: 503 service unavailable" },
      { startMs: 300, endMs: 395 },
    ]);
    // A result saved before attempts were recorded has none: the page draws the plain bar.
    expect(view.timeline.find((b) => b.id === "b")!.segments).toEqual([]);
  });

  it("a pre-run approval with destructive calls lists each call with its resolved tool; a budget question has none", () => {
    const destructivePlan = {
      name: "drop plan",
      steps: [
        { id: "keep", tool: "infra.work", dependencies: [], params: { name: "k" }, rollback: { tool: "infra.undo", params: { name: "k" } } },
        { id: "drop", tool: "infra.undo", dependencies: [], params: { name: "d" } },
      ],
    };
    const destructiveTools = [
      { server: "infra", name: "work", description: "", inputSchema: { type: "object" }, annotations: { destructiveHint: false } },
      { server: "infra", name: "undo", description: "", inputSchema: { type: "object" }, annotations: { destructiveHint: true } },
    ];
    const prep = preparePlan(destructivePlan, { tools: destructiveTools as never });
    expect(prep.needsApproval.sort()).toEqual(["drop", "keep (rollback)"]);
    const question = { kind: "approval", question: "Go on?", reasons: [], plan: "drop plan", decision: { destructiveSteps: prep.needsApproval } };
    const tasks = [{ id: "x", name: "approve", interrupts: [{ id: "i", value: question }] }];
    const view = runView("t5", snapshot({ plan: destructivePlan, prepared: prep }, { next: ["approve"], tasks: tasks as never }), undefined);
    expect(view.destructive).toEqual([
      { step: "drop", rollback: false, tool: "infra.undo" },
      { step: "keep", rollback: true, tool: "infra.undo" },
    ]);
    const budget = { kind: "budget", question: "Spend more?", reasons: ["over"], held: ["drop"] };
    const held = runView("t6", snapshot({ plan: destructivePlan, prepared: prep }, { next: ["execute"], tasks: [{ id: "y", name: "execute", interrupts: [{ id: "j", value: budget }] }] as never }), undefined);
    expect(held.question?.kind).toBe("budget");
    expect(held.destructive).toEqual([]);
  });

  it("costs per step and per model call from the ledger; a thinking session's thoughts in order", () => {
    const thinkPlan = {
      name: "think plan",
      steps: [
        { id: "t2", agent: "db", tool: "infra.think", dependencies: ["t1"], params: { thought: "then the branch", thoughtNumber: 2 } },
        { id: "t1", agent: "db", tool: "infra.think", dependencies: [], params: { thought: "first the schema", thoughtNumber: 1 } },
        { id: "work", agent: "db", tool: "infra.work", dependencies: ["t2"], params: { name: "w" } },
        { id: "other", agent: "cache", tool: "infra.work", dependencies: [], params: { name: "o" } },
      ],
    };
    const thinkTools = [...tools, { server: "infra", name: "think", description: "", inputSchema: { type: "object" } }];
    const prep = preparePlan(thinkPlan, { tools: thinkTools as never });
    const out = (id: string, n: number): StepResult => ({ ...result(id, "succeeded", n * 10, n * 10 + 5), output: { sessionId: "db-session", thoughtNumber: n } });
    const view = runView("t7", snapshot({ plan: thinkPlan, prepared: prep, results: { t1: out("t1", 1), t2: out("t2", 2), work: result("work", "succeeded", 30, 40) } }), undefined, {
      steps: [{ runId: "t7", stepId: "work", tool: "infra.work", server: "infra", status: "succeeded", durationMs: 10, attempts: 1, usd: 0.25, usdSource: "measured", at: 40 }],
      modelCalls: [
        { runId: "t7", agent: "coding", model: "gpt-x", inputTokens: 100, outputTokens: 20, cachedTokens: 0, usd: 0.5, known: true, at: 35, stepId: "work" },
        { runId: "t7", agent: "architect", model: "gpt-x", inputTokens: 900, outputTokens: 300, cachedTokens: 0, usd: 0.1, known: true, at: 1 },
      ],
    });
    const work = view.steps.find((s) => s.id === "work")!;
    expect(work.usd).toBe(0.75);
    expect(view.steps.find((s) => s.id === "other")!.usd).toBeUndefined();
    expect(view.modelCalls.map((c) => `${c.agent}:${c.stepId ?? "-"}:${c.usd}`)).toEqual(["coding:work:0.5", "architect:-:0.1"]);
    expect(work.thinking).toEqual([
      { step: "t1", session: "db-session", number: 1, thought: "first the schema" },
      { step: "t2", session: "db-session", number: 2, thought: "then the branch" },
    ]);
    expect(view.steps.find((s) => s.id === "other")!.thinking).toBeUndefined();
  });
});
