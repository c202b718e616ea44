import { Annotation } from "@langchain/langgraph";
import type { Approval, BudgetDecision, Forecast, ModelUsage, OrchestratorReport, Outcome, PlannerInfo } from "../agents/types.ts";
import type { CompensationResult } from "../src/engine/compensate.ts";
import type { StepResult } from "../src/engine/run-step.ts";
import type { RunStatus, Scheduler } from "../src/engine/schedule.ts";
import type { PreparedPlan, Problem } from "../src/plan/validate.ts";

/** Merges step results by id; `null` clears them (a re-run of the thread starts afresh). */
function mergeResults(left: Record<string, StepResult>, right: Record<string, StepResult> | null): Record<string, StepResult> {
  return right === null ? {} : { ...left, ...right };
}

export const ExecutorState = Annotation.Root({
  /** The plan as given (JSON); validated by `prepare`. */
  plan: Annotation<unknown>,
  /** `--param key=value` overrides of the plan's parameters. */
  params: Annotation<Record<string, unknown>>({ reducer: (_, r) => r, default: () => ({}) }),
  /** Whether steps may call destructive tools (approved by a person, or `--allow-destructive`). */
  allowDestructive: Annotation<boolean>({ reducer: (_, r) => r, default: () => false }),
  /** Which scheduler runs the DAG. */
  scheduler: Annotation<Scheduler>({ reducer: (_, r) => r, default: () => "asap" }),
  /** The validated plan: order, dependencies (with implied ones), resolved tools. */
  prepared: Annotation<PreparedPlan | undefined>,
  /** Validation problems when the plan is invalid (nothing ran). */
  problems: Annotation<Problem[]>({ reducer: (_, r) => r, default: () => [] }),
  /** Step id → result. Parallel `runStep` branches (waves) write here at once, hence the merge. */
  results: Annotation<Record<string, StepResult>, Record<string, StepResult> | null>({ reducer: mergeResults, default: () => ({}) }),
  /** Rollback calls that ran after a failure, in the order they ran. */
  compensations: Annotation<CompensationResult[]>({ reducer: (_, r) => r, default: () => [] }),
  /** Where the run stands. */
  status: Annotation<RunStatus>({ reducer: (_, r) => r, default: () => "pending" }),
  /** The MCP config file the run was started with, so `resume` reconnects the same servers. */
  mcpConfigPath: Annotation<string | undefined>,
  /** Set only on a `Send` to `runStep` (waves): the step that branch runs. */
  stepId: Annotation<string | undefined>,
});


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
