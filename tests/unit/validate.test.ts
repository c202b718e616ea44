import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { ExecState } from "../../src/engine/schedule.ts";
import { formatProblem, validatePlan } from "../../src/plan/validate.ts";
import { infraCaller } from "../helpers/fake-caller.ts";

const step = (id: string, extra: Record<string, unknown> = {}) => ({ id, tool: "infra.create", dependencies: [], params: { name: id }, ...extra });

/** Runs the plan through the executor graph and returns the problems; asserts no tool was called. */
async function problemsOf(plan: unknown, params: Record<string, unknown> = {}): Promise<string[]> {
  const caller = infraCaller();
  const graph = compileExecutor({ context: async () => ({ caller, limits: new ServerLimits() }) }, new MemorySaver());
  const state = (await graph.invoke({ plan, params }, { configurable: { thread_id: `v-${Math.random()}` } })) as ExecState;
  expect(state.status).toBe("invalid");
  expect(caller.calls).toHaveLength(0);
  return state.problems.map(formatProblem);
}

describe("validation before anything runs (no tool is called)", () => {
  it("duplicate ids", async () => {
    expect(await problemsOf({ name: "p", steps: [step("a"), step("a")] })).toContain('step "a", steps[1].id: duplicate step id "a"');
  });

  it("unknown dependencies and self-dependency", async () => {
    const problems = await problemsOf({ name: "p", steps: [step("a", { dependencies: ["ghost"] }), step("b", { dependencies: ["b"] })] });
    expect(problems).toEqual(['step "a", dependencies: unknown step "ghost"', 'step "b", dependencies: a step cannot depend on itself']);
  });

  it("cycles, named as a path", async () => {
    const problems = await problemsOf({
      name: "p",
      steps: [step("a", { dependencies: ["c"] }), step("b", { dependencies: ["a"] }), step("c", { dependencies: ["b"] })],
    });
    expect(problems).toEqual(['step "a", dependencies: dependency cycle: a → c → b → a']);
  });

  it("a cycle made through implied edges", async () => {
    const problems = await problemsOf({
      name: "p",
      steps: [step("a", { params: { name: "${b.id}" } }), step("b", { dependencies: ["a"] })],
    });
    expect(problems).toEqual(['step "a", dependencies: dependency cycle: a → b → a']);
  });

  it("unknown tools", async () => {
    expect(await problemsOf({ name: "p", steps: [step("a", { tool: "infra.nope" }), step("b", { tool: "teleport" })] })).toEqual([
      'step "a", tool: server "infra" has no tool "nope"',
      'step "b", tool: no loaded MCP server has a tool "teleport"',
    ]);
  });

  it("references to unknown steps and unknown plan params", async () => {
    const problems = await problemsOf({ name: "p", steps: [step("a", { params: { name: "${ghost.id}-${region}" } })] });
    expect(problems).toEqual([
      'step "a", params.name: ${ghost.id} names no step or plan parameter',
      'step "a", params.name: ${region} names no step or plan parameter',
    ]);
  });

  it("--param that the plan does not declare, and a required parameter left empty", async () => {
    const problems = await problemsOf({ name: "p", params: { region: null }, steps: [step("a", { params: { name: "${region}" } })] }, { zone: "x" });
    expect(problems).toEqual([
      "--param zone: the plan declares no parameter \"zone\" (declared: region)",
      'params.region: parameter "region" has no default: pass --param region=…',
    ]);
  });

  it("params that fail the tool's input schema, naming the field", async () => {
    const problems = await problemsOf({ name: "p", steps: [step("a", { params: { name: 42, extra: true } }), step("b", { params: {} })] });
    expect(problems).toEqual([
      'step "a", params.extra: unknown field',
      'step "a", params.name: must be string',
      'step "b", params: missing required field "name"',
    ]);
  });

  it("schema errors name the step and field", async () => {
    expect(await problemsOf({ name: "p", steps: [{ id: "a", tool: "infra.create", params: {}, retry: { maxAttempts: 0 } }] })).toEqual([
      'step "a", retry.maxAttempts: Too small: expected number to be >=1',
    ]);
  });

  it("an implied dependency is added and reported", () => {
    const result = validatePlan(
      { name: "p", steps: [step("a"), step("b", { params: { name: "${a.id}" } })] },
      { tools: infraCaller().tools },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.prepared.deps["b"]).toEqual(["a"]);
    expect(result.prepared.notes).toEqual([
      'step "b" reads ${a.id} in params.name: added the implied dependency on "a"',
      'step "b" reads ${a.id}: checked at run time, since infra.create (step "a") declares no outputSchema',
    ]);
  });
});
