import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { approve } from "../agents/approval.ts";
import { architect } from "../agents/architect.ts";
import { creditValidator } from "../agents/credit-validator.ts";
import { defaultOrchestratorDeps, type OrchestratorDeps } from "../agents/deps.ts";
import { executeNode } from "../agents/execute.ts";
import { reporter } from "../agents/reporter.ts";
import type { Approval, BudgetDecision, Forecast, ModelUsage, OrchestratorReport, OrchestratorView, Outcome, PlannerInfo } from "../agents/types.ts";
import { buildExecutorGraph } from "./executor.ts";
import { ExecutorState } from "./state.ts";

const last = <T>(_: T, right: T): T => right;

/** The executor's keys (plan, params, scheduler, prepared, results, …) plus what the agents add. */
export const OrchestratorState = Annotation.Root({
  ...ExecutorState.spec,
  /** The request in plain language. */
  request: Annotation<string>({ reducer: last, default: () => "" }),
  /** Chat session: the agents' own threads are `<session>/<agent>`. */
  session: Annotation<string | undefined>,
  /** Run budget in USD (`--budget`); the approval threshold from config when absent. */
  budgetUsd: Annotation<number | undefined>,
  /** Plan and forecast only (`plan`, `run --dry-run`). */
  dryRun: Annotation<boolean>({ reducer: last, default: () => false }),
  /** `--fresh`: plan anew even when the plan cache holds this request. */
  fresh: Annotation<boolean>({ reducer: last, default: () => false }),
  /** `--yes`: approve without asking. */
  autoApprove: Annotation<boolean>({ reducer: last, default: () => false }),
  /** Always ask before running (chat), not only when over budget or destructive. */
  confirm: Annotation<boolean>({ reducer: last, default: () => false }),
  /** Which planner made the plan and why. */
  planner: Annotation<PlannerInfo | undefined>,
  /** Why there is no valid plan (nothing runs). */
  planProblems: Annotation<string[]>({ reducer: last, default: () => [] }),
  /** Every model call's tokens and cost, appended by each agent. */
  usage: Annotation<ModelUsage[]>({ reducer: (left, right) => [...left, ...right], default: () => [] }),
  forecast: Annotation<Forecast | undefined>,
  decision: Annotation<BudgetDecision | undefined>,
  approval: Annotation<Approval | undefined>,
  /** Where the request ended up when it did not simply run. */
  outcome: Annotation<Outcome | undefined>,
  report: Annotation<OrchestratorReport | undefined>,
});

export type OrchestratorStateType = typeof OrchestratorState.State;

/**
 * architect → credit_validator → approve (interrupt only when needed) → execute (the executor
 * graph, invoked as a subgraph with the ledger and the running-budget gate around it) → reporter. A failed plan, a rejection, a dry run or a declined approval
 * go straight to the reporter.
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
