import { Annotation } from "@langchain/langgraph";
import type { BudgetLimit } from "../cost/budget.ts";
import type { PreparedPlan, Problem } from "../plan/validate.ts";
import type { CompensationResult, StepOutcome } from "./compensate.ts";
import type { StepResult } from "./run-step.ts";

export type Scheduler = "asap" | "graph";

/**
 * Where a run stands. `partially_rolled_back`: a failed or stopped run undid what it could, but a
 * finished step had side effects and no undo; `compensation_failed`: an undo failed; `failed`: a step
 * failed and the rollback was deferred (`deferRollback`) so that the architect can replan first.
 */
export type RunStatus = "pending" | "invalid" | "succeeded" | "failed" | "rolled_back" | "partially_rolled_back" | "compensation_failed" | "cancelled";

/** Merges step results by id; `null` clears them (a re-run of the thread starts afresh). */
function mergeResults(left: Record<string, StepResult>, right: Record<string, StepResult> | null): Record<string, StepResult> {
  return right === null ? {} : { ...left, ...right };
}

const last = <T>(_: T, right: T): T => right;

/** The executor's state: declared once; the orchestrator's state (graphs/state.ts) extends it. */
export const ExecutorState = Annotation.Root({
  /** The plan as given (JSON); validated once, into `prepared`. */
  plan: Annotation<unknown>,
  /** `--param key=value` overrides of the plan's parameters. */
  params: Annotation<Record<string, unknown>>({ reducer: last, default: () => ({}) }),
  /** Whether calls may be destructive (approved by a person, or `--allow-destructive`). */
  allowDestructive: Annotation<boolean>({ reducer: last, default: () => false }),
  /** Which scheduler runs the DAG. */
  scheduler: Annotation<Scheduler>({ reducer: last, default: () => "asap" }),
  /** The validated plan: order, dependencies (with implied ones), resolved tools. */
  prepared: Annotation<PreparedPlan | undefined>,
  /** Validation problems when the plan is invalid (nothing ran). */
  problems: Annotation<Problem[]>({ reducer: last, default: () => [] }),
  /** Step id → result. Parallel step nodes (graph) write here at once, hence the merge. */
  results: Annotation<Record<string, StepResult>, Record<string, StepResult> | null>({ reducer: mergeResults, default: () => ({}) }),
  /** Rollback calls that ran after a failure, in the order they ran. */
  compensations: Annotation<CompensationResult[]>({ reducer: last, default: () => [] }),
  /** What became of each finished step after a failure: undone, nothing to undo, left behind, undo failed. */
  outcomes: Annotation<StepOutcome[]>({ reducer: last, default: () => [] }),
  /** Where the run stands. */
  status: Annotation<RunStatus>({ reducer: last, default: () => "pending" }),
  /** Budget limits a person approved going past while the run ran (kept across a resume). */
  budgetApproved: Annotation<BudgetLimit[]>({ reducer: last, default: () => [] }),
  /**
   * Steps to pause before (`--break-before`): the graph scheduler compiles the plan's graph with
   * LangGraph's `interruptBefore` on these step nodes. Kept in the thread, so `resume` keeps them.
   */
  breakBefore: Annotation<string[]>({ reducer: last, default: () => [] }),
  /**
   * A person stopped the run at a breakpoint of the graph scheduler (Studio or the SDK:
   * `Command({ update: { stop: true } })` on the executor's thread): no step starts, the finished
   * ones roll back, as Ctrl-C does. The CLI stops with the run's stop signal instead.
   */
  stop: Annotation<boolean>({ reducer: last, default: () => false }),
  /** The MCP config file the run was started with, so `resume` reconnects the same servers. */
  mcpConfigPath: Annotation<string | undefined>,
  /**
   * Results of steps that finished before this execution (a run going on after a replan, or rolling
   * back after one was declined): taken as done, never called again.
   */
  carried: Annotation<Record<string, StepResult> | undefined>,
  /** On a step's failure, stop without rolling back (status `failed`): the architect may replan first. */
  deferRollback: Annotation<boolean>({ reducer: last, default: () => false }),
  /** Roll back every finished step though none failed: steps started while a plan streamed, when the run does not go on. */
  undoAll: Annotation<boolean>({ reducer: last, default: () => false }),
  /** The step a step node of the graph scheduler runs (set per call, never written). */
  stepId: Annotation<string | undefined>,
});

export type ExecState = typeof ExecutorState.State;
export type ExecUpdate = typeof ExecutorState.Update;
