import { Annotation } from "@langchain/langgraph";
import type { Approval, BudgetDecision, Forecast, ModelUsage, Outcome, PlannerInfo, Replan, Report } from "../agents/types.ts";
import type { StepResult } from "../src/engine/run-step.ts";
import { ExecutorState } from "../src/engine/state.ts";
import type { PreparedPlan } from "../src/plan/validate.ts";

const last = <T>(_: T, right: T): T => right;

/**
 * The one state of a run: the executor's keys (plan, params, prepared, results, …) plus what the
 * agents add. Agents and the CLI derive their types from it (`RunState`).
 */
export const OrchestratorState = Annotation.Root({
  ...ExecutorState.spec,
  /** The request in plain language; empty when the run starts from a plan file or a workflow. */
  request: Annotation<string>({ reducer: last, default: () => "" }),
  /** Chat session: the agents' own threads are `<session>/<agent>`. */
  session: Annotation<string | undefined>,
  /** Run budget in USD (`--budget`); the approval threshold from config when absent. */
  budgetUsd: Annotation<number | undefined>,
  /** Plan and forecast only (`plan`, `run --dry-run`). */
  dryRun: Annotation<boolean>({ reducer: last, default: () => false }),
  /** `--fresh`: plan anew even when the plan cache holds this request. */
  fresh: Annotation<boolean>({ reducer: last, default: () => false }),
  /** `--yes`: approve a budget without asking (not destruction). */
  autoApprove: Annotation<boolean>({ reducer: last, default: () => false }),
  /** Always ask before running (chat), not only when over budget or destructive. */
  confirm: Annotation<boolean>({ reducer: last, default: () => false }),
  /** A workflow the person picked for the request from the planner's "did you mean" choices: the catalog planner plans with it. */
  pickedWorkflow: Annotation<string | undefined>,
  /** Which planner made the plan (or which file or workflow it came from) and why. */
  planner: Annotation<PlannerInfo | undefined>,
  /** Why there is no valid plan (nothing runs). */
  planProblems: Annotation<string[]>({ reducer: last, default: () => [] }),
  /** Every model call's tokens and cost, appended by each agent. */
  usage: Annotation<ModelUsage[]>({ reducer: (left, right) => [...left, ...right], default: () => [] }),
  forecast: Annotation<Forecast | undefined>,
  decision: Annotation<BudgetDecision | undefined>,
  approval: Annotation<Approval | undefined>,
  /** Where the run ended up when it did not simply run. */
  outcome: Annotation<Outcome | undefined>,
  report: Annotation<Report | undefined>,
  /**
   * Steps that ran outside the execute node's last execution, kept until the run goes on with them
   * (`next: "continue"`, after the forecast and approval: they are carried, never called again) or
   * rolls them back (`rollback`, or not approved). `by: "failure"`: an execution stopped at a failure
   * with its rollback deferred for the architect's replan; `by: "stream"`: steps the architect started
   * while the plan streamed.
   */
  halted: Annotation<{ prepared: PreparedPlan; results: Record<string, StepResult>; next?: "continue" | "rollback"; by?: "failure" | "stream" } | undefined>,
  /**
   * The queue worker that drives the run: written by the worker's input when it starts the run and
   * with each answer it resumes (src/run/drive.ts); absent for runs outside the queue. The viewer's
   * runs list shows it.
   */
  worker: Annotation<string | undefined>,
  /** Each replan after a failure, in order (the report shows them). */
  replans: Annotation<Replan[]>({ reducer: (left, right) => [...left, ...right], default: () => [] }),
});

export type RunState = typeof OrchestratorState.State;
export type RunUpdate = typeof OrchestratorState.Update;
