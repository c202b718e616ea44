import type { Forecast, ForecastComparison } from "../src/cost/forecast.ts";
import type { CompensationResult } from "../src/engine/compensate.ts";
import type { StepResult } from "../src/engine/run-step.ts";
import type { RunStatus } from "../src/engine/schedule.ts";
import type { ParamValue, PlannerQuestion, Reading, WorkflowMatch } from "../src/planner/index.ts";
import type { PreparedPlan, Problem } from "../src/plan/validate.ts";

/** Which planner made the plan, and why. */
export interface PlannerInfo {
  kind: "model" | "catalog";
  /** The model (model planner). */
  model?: string;
  /** The workflow template picked (catalog planner). */
  workflow?: WorkflowMatch;
  /** Model calls it took (1 when the first plan was valid, 0 when reused from the plan cache). */
  attempts?: number;
  /** The plan came from the plan cache: no model call. */
  cached?: boolean;
  /** Parameters the catalog planner filled from the request. */
  filled?: string[];
  closest?: WorkflowMatch[];
  /** Offline planner: every template it used (several when composed), with score and matched words. */
  workflows?: WorkflowMatch[];
  /** Offline planner: each parameter's value and source (request text, inventory, default, answer). */
  params?: ParamValue[];
  /** Offline planner: what it needs asked before it can plan (name, question, example, --param). */
  missing?: PlannerQuestion[];
  /** Offline planner: whether the turn was read as a new request or a change to the last plan. */
  reading?: Reading;
  reason: string;
}

/** Tokens and cost of one model call. */
export interface ModelUsage {
  agent: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  usd: number;
  /** False when the model has no price: `usd` is 0 and the cost is unknown. */
  priced: boolean;
  /** The endpoint, when not OpenAI's (a localhost one is free unless pricing says otherwise). */
  baseUrl?: string;
  /** The default model, when routing sent this call to another one. */
  routedFrom?: string;
}

/** The cost library's forecast: p50/p90 cost and duration, per step, per expected model call. */
export type { Forecast };

export interface BudgetDecision {
  /** ok: go; ask: a human approves first; reject: over a hard cap. */
  verdict: "ok" | "ask" | "reject";
  reasons: string[];
  /** `--budget`, when given. */
  runBudgetUsd?: number;
  approvalUsd: number;
  /** Steps whose tool (or brokered tool) is destructive. */
  destructiveSteps: string[];
  spentTodayUsd: number;
  spentMonthUsd: number;
  dailyCapUsd: number;
  monthlyCapUsd: number;
}

/** What the approver said (the value an approval interrupt is resumed with). */
export interface ApprovalAnswer {
  approved: boolean;
  note?: string;
}

export interface Approval extends ApprovalAnswer {
  by: "not-needed" | "flag" | "human";
}

/** The payload of the approval interrupt. */
export interface ApprovalRequest {
  kind: "approval";
  question: string;
  reasons: string[];
  plan: string;
  forecast: Forecast;
  decision: BudgetDecision;
}

export type Outcome = "planning_failed" | "rejected" | "declined" | "planned" | "executed";

/** Two steps that ran at the same time. */
export interface Overlap {
  a: string;
  b: string;
  ms: number;
}

/** What the Reporter hands back. */
export interface OrchestratorReport {
  threadId: string;
  request: string;
  outcome: Outcome;
  status: RunStatus | "not_run";
  planner?: PlannerInfo;
  plan?: string;
  problems: string[];
  /** Outputs carry `secret://` handles, never secrets. */
  steps: Pick<StepResult, "id" | "tool" | "status" | "attempts" | "startedAtMs" | "endedAtMs" | "output" | "error" | "reason">[];
  rolledBack: CompensationResult[];
  leftBehind: string[];
  timeline: { overlaps: Overlap[]; makespanMs: number; sequentialMs: number; criticalPathMs: number; speedup: number };
  forecast?: Forecast;
  decision?: BudgetDecision;
  approval?: Approval;
  actual: { usd: number; modelUsd: number; toolUsd: number; ms: number };
  /** Forecast (p50/p90) against actual, for duration and cost. */
  comparison?: ForecastComparison;
  usage: ModelUsage[];
  summary: string;
  summaryBy: "model" | "template";
}

/** The orchestrator state as the agents read it (declared for LangGraph in graphs/orchestrator.ts). */
export interface OrchestratorView {
  request: string;
  session?: string;
  budgetUsd?: number;
  dryRun: boolean;
  autoApprove: boolean;
  /** Steps may call destructive tools: `--allow-destructive`, or a person approved them. */
  allowDestructive: boolean;
  /** Plan anew even when the plan cache has this request (`--fresh`). */
  fresh: boolean;
  confirm: boolean;
  plan: unknown;
  params: Record<string, unknown>;
  planner?: PlannerInfo;
  planProblems: string[];
  usage: ModelUsage[];
  forecast?: Forecast;
  decision?: BudgetDecision;
  approval?: Approval;
  outcome?: Outcome;
  report?: OrchestratorReport;
  // Written by the executor subgraph.
  prepared?: PreparedPlan;
  problems: Problem[];
  results: Record<string, StepResult>;
  compensations: CompensationResult[];
  status: RunStatus;
}
