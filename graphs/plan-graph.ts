import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { afterPlanPrepare, afterPlanSettle, afterPlanStep, dependentsOf, PLAN_NODES, settlePlan, stoppedStep } from "../src/engine/plan-route.ts";
import { compensate, prepare, runOneStep, type ExecutorDeps } from "../src/engine/schedule.ts";
import { ExecutorState } from "../src/engine/state.ts";
import { preparePlan, type PreparedPlan } from "../src/plan/validate.ts";

/**
 * The `graph` scheduler: the prepared plan as its own graph. run.prepare → one node per step, named
 * by its step id, with an edge to each of its dependents (declared and implied) → run.settle (the
 * running-budget question; deferred, so it runs once every branch has finished) → run.compensate.
 * A step node is the same step runner as asap: the same gate, retries, timeouts, secret handles.
 * The graph runs this plan whatever plan its input carries.
 */
export function buildPlanGraph(prepared: PreparedPlan, deps: ExecutorDeps) {
  const dependents = dependentsOf(prepared);
  // Node names are this plan's step ids, known only now: the builder is typed for any name.
  const graph = new StateGraph(ExecutorState) as unknown as StateGraph<typeof ExecutorState.spec, typeof ExecutorState.State, typeof ExecutorState.Update, string>;
  graph.addNode(PLAN_NODES.prepare, async (s: typeof ExecutorState.State) => ({ ...(await prepare({ ...s, prepared }, deps)), prepared }));
  for (const id of prepared.order) {
    graph.addNode(id, (s: typeof ExecutorState.State) => (s.stop ? stoppedStep(id, s.prepared ?? prepared) : runOneStep({ ...s, stepId: id }, deps)));
  }
  graph.addNode(PLAN_NODES.settle, (s: typeof ExecutorState.State) => settlePlan(s, deps), { defer: true });
  graph.addNode(PLAN_NODES.compensate, (s: typeof ExecutorState.State, config) => compensate(s, deps, config));
  graph.addEdge(START, PLAN_NODES.prepare);
  const roots = prepared.order.filter((id) => (prepared.deps[id] ?? []).length === 0);
  graph.addConditionalEdges(PLAN_NODES.prepare, (s: typeof ExecutorState.State) => afterPlanPrepare(s, deps), [...roots, PLAN_NODES.settle, END]);
  for (const id of prepared.order) {
    graph.addConditionalEdges(id, (s: typeof ExecutorState.State) => afterPlanStep(id, s, dependents, deps), [...dependents[id]!, PLAN_NODES.settle]);
  }
  graph.addConditionalEdges(PLAN_NODES.settle, (s: typeof ExecutorState.State) => afterPlanSettle(s, deps), [...prepared.order, PLAN_NODES.compensate]);
  graph.addEdge(PLAN_NODES.compensate, END);
  return graph;
}

export function compilePlanGraph(prepared: PreparedPlan, deps: ExecutorDeps, options: { checkpointer?: BaseCheckpointSaver; interruptBefore?: string[] } = {}) {
  return buildPlanGraph(prepared, deps).compile({ checkpointer: options.checkpointer, interruptBefore: options.interruptBefore, name: "plan" });
}

/**
 * The executor for LangGraph Studio and the SDK, built per run from its config: with
 * `configurable.plan` (and optional `configurable.params`), that plan's own graph, so Studio draws
 * its steps and `interruptBefore` takes step ids; without one, the fixed executor. A plan that does
 * not validate against the loaded tools is refused with every problem named.
 */
export async function executorForConfig(deps: ExecutorDeps, config: { configurable?: Record<string, unknown> } | undefined, options: { checkpointer?: BaseCheckpointSaver } = {}) {
  const plan = config?.configurable?.["plan"];
  if (plan === undefined || plan === null) {
    const { buildExecutorGraph } = await import("./executor.ts");
    return buildExecutorGraph(deps).compile({ checkpointer: options.checkpointer, name: "executor" });
  }
  const params = config?.configurable?.["params"];
  const ctx = await deps.context();
  const prepared = preparePlan(typeof plan === "string" ? (JSON.parse(plan) as unknown) : plan, {
    tools: ctx.caller.tools,
    params: isParams(params) ? params : {},
    allow: ctx.allow,
    untrusted: ctx.untrusted,
  });
  return compilePlanGraph(prepared, deps, options);
}

function isParams(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
