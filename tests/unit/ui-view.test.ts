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
    const question = { kind: "approval", question: "Go on?", reasons: ["over budget"], plan: "view plan" };
    const snap = snapshot({}, { next: ["approve"], tasks: [{ id: "x", name: "approve", interrupts: [{ id: "i", value: question }] }] as never });
    expect(summarize("t3", snap, undefined)).toMatchObject({ status: "waiting", waiting: true, plan: "view plan" });
    expect(runView("t3", snap, undefined).question).toEqual(question);
  });
});
