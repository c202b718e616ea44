import type { CompensationResult } from "./compensate.ts";
import type { StepResult } from "./run-step.ts";

/** What the executor reports as it runs: to the terminal, the ledger, the viewer and the queue. */
export type StepEvent =
  | { type: "step_started"; id: string; tool: string }
  | { type: "step_progress"; id: string; progress: number; total?: number; message?: string }
  | { type: "step_finished"; result: StepResult }
  | { type: "compensation_finished"; result: CompensationResult };
