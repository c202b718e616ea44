import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { compilePlanGraph, executorForConfig } from "../../graphs/plan-graph.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import { PLAN_NODES } from "../../src/engine/plan-route.ts";
import { summarizeExecution } from "../../src/engine/report.ts";
import type { ExecState } from "../../src/engine/schedule.ts";
import { isPlanValidationError, preparePlan } from "../../src/plan/validate.ts";
import { infraCaller } from "../helpers/fake-caller.ts";

const create = (id: string, dependencies: string[] = [], params: Record<string, unknown> = {}) => ({ id, tool: "infra.create", dependencies, params: { name: id, ...params } });

// b reads a (an implied dependency); join waits for b and c; "prepare" is a step id, not the graph's own node.
const plan = {
  name: "diamond",
  steps: [create("a"), create("b", [], { value: "${a.id}" }), create("c", ["a"]), create("join", ["b", "c"]), create("prepare", ["join"])],
};

function setup(options: { failOn?: string[]; ms?: Record<string, number> } = {}) {
  const caller = infraCaller(options);
  const ctx = { caller, limits: new ServerLimits(8), sleep: async () => {} };
  const deps = { context: async () => ctx };
  const prepared = preparePlan(plan, { tools: caller.tools });
  return { caller, deps, prepared };
}

const namesOf = (caller: ReturnType<typeof infraCaller>, tool = "create"): string[] => caller.callsOf(tool).map((c) => String(c.args["name"] ?? c.args["id"]));

describe("the plan as its own graph", () => {
  it("has one node per step, named by its step id, and an edge for every dependency, declared or implied", async () => {
    const { deps, prepared } = setup();
    const drawn = await compilePlanGraph(prepared, deps).getGraphAsync();
    const nodes = Object.keys(drawn.nodes);
    expect(nodes.sort()).toEqual(["__end__", "__start__", "a", "b", "c", "join", "prepare", PLAN_NODES.compensate, PLAN_NODES.prepare, PLAN_NODES.settle].sort());
    const edges = new Set(drawn.edges.map((e) => `${e.source}→${e.target}`));
    for (const [to, from] of [["b", "a"], ["c", "a"], ["join", "b"], ["join", "c"], ["prepare", "join"]] as const) expect(edges, `${from}→${to}`).toContain(`${from}→${to}`);
    expect(edges).toContain(`${PLAN_NODES.prepare}→a`);
    expect(edges).not.toContain(`${PLAN_NODES.prepare}→b`);
    expect(edges).not.toContain("a→join");
  });

  it("interruptBefore a step id stops before it with its dependencies' results in state; resuming runs the rest once", async () => {
    const { caller, deps, prepared } = setup();
    const graph = compilePlanGraph(prepared, deps, { checkpointer: new MemorySaver(), interruptBefore: ["join"] });
    const thread = { configurable: { thread_id: "break-1" } };
    await graph.invoke({ plan, prepared }, thread);
    const paused = await graph.getState(thread);
    expect(paused.next).toEqual(["join"]);
    const results = (paused.values as ExecState).results;
    expect(Object.keys(results).sort()).toEqual(["a", "b", "c"]);
    expect(results["b"]?.output).toMatchObject({ value: "id-a" });
    expect(namesOf(caller)).not.toContain("join");

    const state = (await graph.invoke(null, thread)) as ExecState;
    expect(state.status).toBe("succeeded");
    expect(namesOf(caller).sort()).toEqual(["a", "b", "c", "join", "prepare"]);
  });

  it("a failure starts nothing new, then the compensation node undoes the finished steps in reverse dependency order", async () => {
    const { caller, deps, prepared } = setup({ failOn: ["join"] });
    const state = (await compilePlanGraph(prepared, deps, { checkpointer: new MemorySaver() }).invoke({ plan, prepared }, { configurable: { thread_id: "fail-1" } })) as ExecState;
    const report = summarizeExecution(state);
    expect(report.status).toBe("rolled_back");
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([["a", "succeeded"], ["b", "succeeded"], ["c", "succeeded"], ["join", "failed"], ["prepare", "skipped"]]);
    expect(namesOf(caller, "delete")).toEqual(["id-c", "id-b", "id-a"]);
  });

  it("a join whose dependencies finish in different supersteps starts once, after the later one", async () => {
    const { caller, deps } = setup();
    // join's dependencies: b finishes in the first superstep, a2 in the second.
    const slowPlan = { name: "uneven", steps: [create("a"), create("b"), create("a2", ["a"]), create("join", ["a2", "b"])] };
    const uneven = preparePlan(slowPlan, { tools: caller.tools });
    const state = (await compilePlanGraph(uneven, deps).invoke({ plan: slowPlan, prepared: uneven })) as ExecState;
    expect(state.status).toBe("succeeded");
    expect(namesOf(caller)).toEqual(["a", "b", "a2", "join"]);
  });
});

describe("the Studio executor, built per run from its config", () => {
  it("with configurable.plan it is that plan's graph; without, the fixed executor", async () => {
    const { deps } = setup();
    const planned = await executorForConfig(deps, { configurable: { plan: JSON.stringify(plan) } });
    expect(Object.keys((await planned.getGraphAsync()).nodes)).toEqual(expect.arrayContaining(["a", "b", "c", "join", "prepare", PLAN_NODES.settle]));
    const fixed = await executorForConfig(deps, { configurable: {} });
    expect(Object.keys((await fixed.getGraphAsync()).nodes)).toEqual(expect.arrayContaining(["prepare", "runAsap", "runGraph", "budget", "compensate"]));
  });

  it("a plan that does not validate is refused with the step and field", async () => {
    const { deps } = setup();
    const bad = { name: "bad", steps: [create("a", ["nope"])] };
    const error = await executorForConfig(deps, { configurable: { plan: bad } }).catch((e: unknown) => e);
    expect(isPlanValidationError(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/a.*nope/);
  });
});
