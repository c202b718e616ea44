import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { approve } from "../agents/approval.ts";
import { architect } from "../agents/architect.ts";
import { creditValidator } from "../agents/credit-validator.ts";
import { defaultOrchestratorDeps, type OrchestratorDeps } from "../agents/deps.ts";
import { executeNode } from "../agents/execute.ts";
import { reporter } from "../agents/reporter.ts";
import type { OrchestratorView } from "../agents/types.ts";
import { buildExecutorGraph } from "./executor.ts";
import { OrchestratorState, type OrchestratorStateType } from "./state.ts";

export type { OrchestratorStateType };

/**
 * architect → credit_validator → approve (interrupt only when needed) → execute (the executor
 * graph, invoked as a subgraph with the ledger and the running-budget gate around it) → reporter.
 * A failed plan, a rejection, a dry run or a declined approval go straight to the reporter.
 */
export function buildOrchestratorGraph(deps: OrchestratorDeps) {
  const view = (s: OrchestratorStateType): OrchestratorView => s as unknown as OrchestratorView;
  const execute = executeNode(deps, (execDeps) => buildExecutorGraph(execDeps).compile({ name: "executor" }));
  return new StateGraph(OrchestratorState)
    .addNode("architect", (s, config) => architect(view(s), deps, config))
    .addNode("credit_validator", (s, config) => creditValidator(view(s), deps, config))
    .addNode("approve", (s) => approve(view(s)))
    .addNode("execute", (s, config) => execute(view(s), config))
    .addNode("reporter", (s, config) => reporter(view(s), deps, config))
    .addEdge(START, "architect")
    .addConditionalEdges("architect", (s) => (s.outcome === "planning_failed" ? "reporter" : "credit_validator"), ["reporter", "credit_validator"])
    .addConditionalEdges("credit_validator", (s) => (s.outcome !== undefined || s.dryRun ? "reporter" : "approve"), ["reporter", "approve"])
    .addConditionalEdges("approve", (s) => (s.approval?.approved ? "execute" : "reporter"), ["execute", "reporter"])
    .addEdge("execute", "reporter")
    .addEdge("reporter", END);
}

export function compileOrchestrator(deps: OrchestratorDeps, checkpointer?: BaseCheckpointSaver) {
  return buildOrchestratorGraph(deps).compile({ checkpointer, name: "orchestrator" });
}

/** For LangGraph Studio: config from the environment, MCP servers connected on first use. */
export const graph = compileOrchestrator(defaultOrchestratorDeps());
