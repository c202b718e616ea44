import { Annotation } from "@langchain/langgraph";
import type { CompensationResult } from "../src/engine/compensate.ts";
import type { StepResult } from "../src/engine/run-step.ts";
import type { PreparedPlan, Problem } from "../src/plan/validate.ts";

export type Scheduler = "asap" | "waves";

export type RunStatus = "pending" | "invalid" | "succeeded" | "rolled_back" | "compensation_failed" | "cancelled";

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

export type ExecutorStateType = typeof ExecutorState.State;
export type ExecutorUpdate = typeof ExecutorState.Update;
