import { describe, expect, it } from "vitest";
import { createBudgetGuard } from "../../src/cost/budget.ts";
import { budgetGate } from "../../src/cost/gate.ts";
import type { StepEvent } from "../../src/engine/schedule.ts";
import { isToolCallError } from "../../src/mcp/client.ts";
import { FakeCaller } from "../helpers/fake-caller.ts";

const caps = { dailyUsd: 10, monthlyUsd: 200, approvalUsd: 0.5 };

/** A caller whose `slow` call finishes when the test says so, and a guard over budget from `spent`. */
function setup(answers: boolean[]) {
  let release: () => void = () => {};
  const inner = new FakeCaller()
    .add("s", "slow", () => new Promise((resolve) => (release = () => resolve("slow done"))))
    .add("s", "step", () => "step done")
    .add("s", "undo", () => "undone");
  let spent = 0;
  const guard = createBudgetGuard({ caps, spentToday: 0, spentThisMonth: 0, runSpentUsd: () => spent });
  const questions: string[] = [];
  const stop = new AbortController();
  const gate = budgetGate(inner, {
    guard,
    ask: async (message) => {
      questions.push(message);
      return answers.shift() ?? false;
    },
    onDecline: () => stop.abort(),
    stopSignal: stop.signal,
  });
  return { inner, gate, questions, stop, overspend: () => (spent = 1), release: () => release() };
}

const failedEvent: StepEvent = { type: "step_finished", result: { id: "x", tool: "s.step", status: "failed", attempts: 1, startedAtMs: 0, endedAtMs: 1 } };
const settled = <T>(p: Promise<T>) => p.then((value) => ({ value }), (error: unknown) => ({ error }));

describe("budgetGate", () => {
  it("holds calls once over budget, asks after in-flight calls finish, and lets them start on approval", async () => {
    const { inner, gate, questions, overspend, release } = setup([true]);
    const slow = gate.call("s", "slow", {});
    overspend();
    const held = [gate.call("s", "step", { n: 1 }), gate.call("s", "step", { n: 2 })];
    await new Promise((r) => setTimeout(r, 20));
    expect(questions).toEqual([]);
    expect(inner.callsOf("step")).toHaveLength(0);
    release();
    expect(await slow).toBe("slow done");
    expect(await Promise.all(held)).toEqual(["step done", "step done"]);
    expect(questions).toHaveLength(1);
    expect(questions[0]).toContain("over the $0.5000 it was allowed");
  });

  it("fails held calls when declined, aborts the run, and lets the rollbacks through", async () => {
    const { inner, gate, questions, stop, overspend } = setup([false]);
    overspend();
    const outcome = await settled(gate.call("s", "step", {}));
    expect("error" in outcome && isToolCallError(outcome.error) && outcome.error.retryable).toBe(false);
    expect(String((outcome as { error: Error }).error.message)).toMatch(/^s\.step not started: budget: .*; declined$/);
    expect(stop.signal.aborted).toBe(true);
    expect(gate.declined()).toBe(true);
    expect(await gate.call("s", "undo", {})).toBe("undone");
    expect(questions).toHaveLength(1);
    expect(inner.callsOf("step")).toHaveLength(0);
  });

  it("does not ask when a step fails while calls are held: they fail, and rollbacks are never held", async () => {
    const { inner, gate, questions, overspend, release } = setup([true]);
    const slow = gate.call("s", "slow", {});
    overspend();
    const held = settled(gate.call("s", "step", {}));
    gate.onEvent(failedEvent);
    release();
    await slow;
    const outcome = await held;
    expect((outcome as { error: Error }).error.message).toMatch(/the run is stopping$/);
    expect(questions).toEqual([]);
    expect(await gate.call("s", "undo", {})).toBe("undone");
    expect(inner.callsOf("step")).toHaveLength(0);
  });
});
