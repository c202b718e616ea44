import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { afterAsapSegment, afterBudget, awaitBudget, compensate, dispatchWave, prepare, runAsap, runWaveStep, type ExecutorDeps } from "../src/engine/schedule.ts";
import { ExecutorState } from "../src/engine/state.ts";

/**
 * prepare → (asap, in segments | waves: dispatch ⇄ runStep) → compensate. Invalid plans stop at
 * prepare; steps held by the running budget wait at `budget` (an interrupt) and go on once approved.
 */
export function buildExecutorGraph(deps: ExecutorDeps) {
  return new StateGraph(ExecutorState)
    .addNode("prepare", (s) => prepare(s, deps))
    .addNode("runAsap", (s, config) => runAsap(s, deps, config))
    .addNode("dispatch", () => ({}))
    .addNode("runStep", (s) => runWaveStep(s, deps))
    .addNode("budget", (s) => awaitBudget(s))
    .addNode("compensate", (s) => compensate(s, deps))
    .addEdge(START, "prepare")
    .addConditionalEdges("prepare", (s) => (s.status === "invalid" ? END : s.scheduler === "waves" ? "dispatch" : "runAsap"), [END, "dispatch", "runAsap"])
    .addConditionalEdges("runAsap", (s) => afterAsapSegment(s), ["runAsap", "budget", "compensate"])
    .addConditionalEdges("dispatch", (s) => dispatchWave(s, deps), ["runStep", "budget", "compensate"])
    .addEdge("runStep", "dispatch")
    .addConditionalEdges("budget", (s) => afterBudget(s), ["runAsap", "dispatch", "compensate"])
    .addEdge("compensate", END);
}

export function compileExecutor(deps: ExecutorDeps, checkpointer?: BaseCheckpointSaver) {
  return buildExecutorGraph(deps).compile({ checkpointer, name: "executor" });
}
