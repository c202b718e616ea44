import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { afterAsapSegment, compensate, dispatchWave, prepare, runAsap, runWaveStep, type ExecState, type ExecutorDeps } from "../src/engine/schedule.ts";
import { defaultExecutorDeps } from "../src/engine/runtime.ts";
import { ExecutorState } from "./state.ts";

/** prepare → (asap, in segments | waves: dispatch ⇄ runStep) → compensate. Invalid plans stop at prepare. */
export function buildExecutorGraph(deps: ExecutorDeps) {
  const as = (state: typeof ExecutorState.State): ExecState => state as ExecState;
  return new StateGraph(ExecutorState)
    .addNode("prepare", (s) => prepare(as(s), deps))
    .addNode("runAsap", (s, config) => runAsap(as(s), deps, config))
    .addNode("dispatch", () => ({}))
    .addNode("runStep", (s) => runWaveStep(as(s), deps))
    .addNode("compensate", (s) => compensate(as(s), deps))
    .addEdge(START, "prepare")
    .addConditionalEdges("prepare", (s) => (s.status === "invalid" ? END : s.scheduler === "waves" ? "dispatch" : "runAsap"), [END, "dispatch", "runAsap"])
    .addConditionalEdges("runAsap", (s) => afterAsapSegment(as(s)), ["runAsap", "compensate"])
    .addConditionalEdges("dispatch", (s) => dispatchWave(as(s), deps), ["runStep", "compensate"])
    .addEdge("runStep", "dispatch")
    .addEdge("compensate", END);
}

export function compileExecutor(deps: ExecutorDeps, checkpointer?: BaseCheckpointSaver) {
  return buildExecutorGraph(deps).compile({ checkpointer, name: "executor" });
}

/** For LangGraph Studio: the built-in MCP servers, connected on first use. */
export const graph = compileExecutor(defaultExecutorDeps());
