import type { PlanInput } from "../plan/schema.ts";
import type { WorkflowTemplate } from "../workflows/types.ts";
import type { ParamValue } from "./fill.ts";
import type { WorkflowMatch } from "./match.ts";
import type { PlannerQuestion } from "./questions.ts";

/** The workflow library the planner ranks: its templates and how one becomes a plan. */
export interface WorkflowLibrary {
  workflows: readonly WorkflowTemplate[];
  instantiate(template: WorkflowTemplate, values: Record<string, unknown>): PlanInput;
}

/**
 * What a turn planned, small enough to keep in the architect's thread: the next turn passes it
 * back as `previous`, so "make it eu-central-1" edits this plan instead of starting over.
 */
export interface PlanMemo {
  request: string;
  workflows: { id: string; values: Record<string, unknown> }[];
}

/** How the planner read the turn: on its own, as a change to the last plan, or as pointing at what an earlier run made. */
export interface Reading {
  kind: "new" | "refinement" | "reference";
  reason: string;
}

interface Common {
  /** Templates chosen (one, or several composed), with their scores and matched words. */
  workflows: WorkflowMatch[];
  /** Every parameter of the chosen templates: its value and where it came from. */
  params: ParamValue[];
  /** Readings that were close, and what was chosen. */
  notes: string[];
  /** Runners-up, best first. */
  closest: WorkflowMatch[];
  reading: Reading;
}

export type OfflinePlan =
  | (Common & { kind: "plan"; plan: PlanInput; memo: PlanMemo })
  /** Something required is missing or ambiguous: ask, then plan again with the answers in `values`. */
  | (Common & { kind: "question"; questions: PlannerQuestion[]; memo: PlanMemo })
  | { kind: "none"; message: string; closest: WorkflowMatch[]; reading: Reading; notes: string[] };
