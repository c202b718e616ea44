import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { approve } from "../agents/approval.ts";
import { architect } from "../agents/architect.ts";
import { creditValidator } from "../agents/credit-validator.ts";
import type { OrchestratorDeps } from "../agents/deps.ts";
import { executeNode } from "../agents/execute.ts";
import { replan } from "../agents/replan.ts";
import { reporter } from "../agents/reporter.ts";
import { buildExecutorGraph } from "./executor.ts";
import { OrchestratorState, type RunState } from "./state.ts";

/**
 * The one graph of every run. START → architect when the run starts from a request; straight to the
 * credit_validator when it starts from a plan (a plan file or a workflow). Then approve (an interrupt
 * only when needed) → execute (the executor graph as a subgraph, with the ledger and the running
 * budget around it) → reporter. A failed plan, a rejection, a dry run or a declined approval go
 * straight to the reporter. When a step fails and a model can replan, execute stops before rolling
 * back → replan (the architect's joiner) → credit_validator → approve → execute again with the
 * finished steps carried; a replan that gives up (or is not approved) → execute, which rolls back.
 */
export function buildOrchestratorGraph(deps: OrchestratorDeps) {
  const execute = executeNode(deps, (execDeps) => buildExecutorGraph(execDeps).compile({ name: "executor" }));
  return new StateGraph(OrchestratorState)
    .addNode("architect", (s, config) => architect(s, deps, config))
    .addNode("credit_validator", (s, config) => creditValidator(s, deps, config))
    .addNode("approve", (s) => approve(s, deps))
    .addNode("execute", (s, config) => execute(s, config))
    .addNode("replan", (s, config) => replan(s, deps, config))
    .addNode("reporter", (s, config) => reporter(s, deps, config))
    .addConditionalEdges(START, (s: RunState) => (s.plan !== undefined && s.plan !== null ? "credit_validator" : "architect"), ["architect", "credit_validator"])
    // Steps started while the plan streamed are rolled back by execute when planning fails or is stopped.
    .addConditionalEdges("architect", (s) => (s.outcome === "planning_failed" ? (s.halted ? "execute" : "reporter") : "credit_validator"), ["reporter", "credit_validator", "execute"])
    // A halted run (a failure waiting for its replan) never ends without its rollback: a replan that is
    // rejected, cannot run here or is declined goes back to execute, which then rolls back.
    .addConditionalEdges("credit_validator", (s) => (s.outcome !== undefined || s.dryRun ? (s.halted ? "execute" : "reporter") : "approve"), ["reporter", "approve", "execute"])
    .addConditionalEdges("approve", (s) => (s.approval?.approved || s.halted ? "execute" : "reporter"), ["execute", "reporter"])
    .addConditionalEdges("execute", (s) => (s.halted ? "replan" : "reporter"), ["replan", "reporter"])
    .addConditionalEdges("replan", (s) => (s.halted?.next === "continue" ? "credit_validator" : "execute"), ["credit_validator", "execute"])
    .addEdge("reporter", END);
}

export function compileOrchestrator(deps: OrchestratorDeps, checkpointer?: BaseCheckpointSaver) {
  return buildOrchestratorGraph(deps).compile({ checkpointer, name: "orchestrator" });
}
