import { END, START, StateGraph, type BaseCheckpointSaver, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { afterAsap, afterBudget, awaitBudget, compensate, prepare, runAsap, type ExecutorDeps } from "../src/engine/schedule.ts";
import { ExecutorState, type ExecState, type ExecUpdate } from "../src/engine/state.ts";
import { compilePlanGraph } from "./plan-graph.ts";

/**
 * prepare → (asap: every step in one node | graph: the plan's own graph) → compensate. Invalid plans stop at
 * prepare; steps held by the running budget wait at `budget` (an interrupt) and go on once approved.
 * A thread started under the removed `waves` scheduler resumes under asap.
 */
export function buildExecutorGraph(deps: ExecutorDeps) {
  return new StateGraph(ExecutorState)
    .addNode("prepare", (s) => prepare(s, deps))
    .addNode("runAsap", (s, config) => runAsap(s, deps, config))
    .addNode("runGraph", (s, config) => runPlanGraph(s, deps, config))
    .addNode("budget", (s) => awaitBudget(s))
    .addNode("compensate", (s, config) => compensate(s, deps, config))
    .addEdge(START, "prepare")
    .addConditionalEdges("prepare", (s) => (s.status === "invalid" ? END : s.scheduler === "graph" ? "runGraph" : "runAsap"), [END, "runGraph", "runAsap"])
    .addConditionalEdges("runAsap", (s) => afterAsap(s), ["budget", "compensate"])
    .addEdge("runGraph", END)
    .addConditionalEdges("budget", (s) => afterBudget(s), ["runAsap", "compensate"])
    .addEdge("compensate", END);
}

/**
 * The graph scheduler inside the executor: the plan's own graph (graphs/plan-graph.ts), invoked with
 * this node's config so it checkpoints as a nested subgraph (a resumed run does not run finished
 * steps again; its budget interrupt pauses the whole run, and so does a breakpoint: `interruptBefore`
 * of the step nodes in `breakBefore`, which surfaces on the run's thread as an interrupt with no
 * value). It rolls back on its own.
 */
async function runPlanGraph(state: ExecState, deps: ExecutorDeps, config: LangGraphRunnableConfig): Promise<ExecUpdate> {
  const out = (await compilePlanGraph(state.prepared!, deps, { interruptBefore: state.breakBefore }).invoke(state, config)) as ExecState;
  const { results, compensations, outcomes, status, budgetApproved } = out;
  return { results, compensations, outcomes, status, budgetApproved };
}

export function compileExecutor(deps: ExecutorDeps, checkpointer?: BaseCheckpointSaver) {
  return buildExecutorGraph(deps).compile({ checkpointer, name: "executor" });
}
