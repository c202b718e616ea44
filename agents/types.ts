import type { Forecast, ForecastComparison } from "../src/cost/forecast.ts";
import type { ApprovalAnswer } from "../src/engine/approval.ts";
import type { Execution } from "../src/engine/report.ts";
import type { ParamValue, PlannerQuestion, Reading, WorkflowMatch } from "../src/planner/index.ts";

export type { ApprovalAnswer, BudgetRequest } from "../src/engine/approval.ts";

/** Which planner made the plan, and why; or that the plan came from a file or a workflow. */
export interface PlannerInfo {
  kind: "model" | "catalog" | "file" | "workflow";
  /** The model (model planner). */
  model?: string;
  /** The workflow template picked (catalog planner, `run --workflow`). */
  workflow?: WorkflowMatch;
  /** Model calls it took (1 when the first plan was valid, 0 when reused from the plan cache). */
  attempts?: number;
  /** The plan came from the plan cache: no model call. */
  cached?: boolean;
  /** Parameters the catalog planner filled from the request. */
  filled?: string[];
  closest?: WorkflowMatch[];
  /**
   * Offline planner, "did you mean": no template cleared the threshold but these came close; a
   * person picks one (chat, `run` on a terminal) or runs it with `--workflow <id>`.
   */
  choices?: WorkflowChoice[];
  /** Offline planner: every template it used (several when composed), with score and matched words. */
  workflows?: WorkflowMatch[];
  /** Offline planner: each parameter's value and source (request text, inventory, default, answer). */
  params?: ParamValue[];
  /** Offline planner: what it needs asked before it can plan (name, question, example, --param). */
  missing?: PlannerQuestion[];
  /** Offline planner: whether the turn was read as a new request or a change to the last plan. */
  reading?: Reading;
  /** Model planner, streamed: each step of the accepted plan as it arrived and how it was judged then. */
  streamed?: StreamedStep[];
  /** A refinement: what changed against the session's last plan, one line each (`~ region: "a" → "b"`). */
  changes?: string[];
  reason: string;
}

/** A workflow offered for a request no template matched well enough: its id, name and one-line description. */
export interface WorkflowChoice {
  id: string;
  name: string;
  description: string;
}

/** A step of a streamed plan, judged the moment its JSON was complete. */
export interface StreamedStep {
  id: string;
  /** Milliseconds from the request to the step's JSON being complete. */
  atMs: number;
  /** "waiting": it names a step or parameter that had not arrived yet. */
  status: "ok" | "invalid" | "waiting";
  problems?: string[];
  /** Started while the plan was still streaming. */
  started?: boolean;
  /** Why it did not start while the plan streamed (it waited for the whole plan and its approval). */
  held?: string;
}

/** What the architect's stream writer sends the moment a streamed step is complete (LangGraph "custom" stream mode). */
export interface PlanStepEvent extends StreamedStep {
  kind: "plan_step";
  /** 1 for the first answer; a repair's steps come with a higher attempt. */
  attempt: number;
  /** The tool as the model wrote it. */
  tool?: string;
}

/** A failed run's replan: what failed, what the architect answered, and what became of it. */
export interface Replan {
  /** The step that failed (after its retries) and its error, secrets masked. */
  failed: { step: string; tool: string; error: string };
  /**
   * replanned: a replacement for the unfinished part passed validation and went on to the forecast and
   * approval; gave_up: the architect said the goal cannot be reached; invalid: no valid replacement in
   * the repairs allowed; error: the model call itself failed. All but replanned roll back as before.
   */
  verdict: "replanned" | "gave_up" | "invalid" | "error";
  reason: string;
  /** Finished steps kept (not called again). */
  kept: string[];
  /** The replacement steps (replanned). */
  steps?: string[];
  /** Validation problems of the last answer (invalid). */
  problems?: string[];
  /** Model calls the replan took (answer plus repairs). */
  attempts: number;
  /** Tokens those calls took (their costs are in the report's `usage`, agent architect). */
  tokens?: { input: number; output: number };
  /**
   * Replanned: the replacement against the unfinished part of the plan it replaced, one line each:
   * `+ id (tool)` a new step, `- id` a step dropped, `~ id: tool, params` a step kept with what changed.
   */
  changes?: string[];
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
  /** The endpoint, when not OpenAI's. */
  baseUrl?: string;
  /** The default model, when routing sent this call to another one. */
  routedFrom?: string;
}

export type { Forecast };

export interface BudgetDecision {
  /** ok: go; ask: a human approves first; reject: over a hard cap. */
  verdict: "ok" | "ask" | "reject";
  reasons: string[];
  /** `--budget`, when given. */
  runBudgetUsd?: number;
  approvalUsd: number;
  /** Steps and rollbacks whose calls may destroy data: they need a person's approval or --allow-destructive. */
  destructiveSteps: string[];
  spentTodayUsd: number;
  spentMonthUsd: number;
  dailyCapUsd: number;
  monthlyCapUsd: number;
  /** The same plan and budget were approved earlier in this session (the credit-validator's memory). */
  remembered?: string;
}

export interface Approval extends ApprovalAnswer {
  by: "not-needed" | "flag" | "human" | "session";
}

/** The payload of the pre-run approval interrupt. */
export interface ApprovalRequest {
  kind: "approval";
  question: string;
  reasons: string[];
  plan: string;
  forecast: Forecast;
  decision: BudgetDecision;
}

/** `preflight_failed`: a step's backend cannot serve here (no Redis, no token, no git); nothing was created. */
export type Outcome = "planning_failed" | "preflight_failed" | "rejected" | "declined" | "planned" | "executed";

/** The one report of a run: built once by the reporter, printed as JSON or rendered for people. */
export interface Report extends Omit<Execution, "status"> {
  threadId: string;
  request: string;
  outcome: Outcome;
  status: Execution["status"] | "not_run";
  planner?: PlannerInfo;
  plan?: string;
  /** Failures the architect was asked to repair, and what it answered. */
  replans?: Replan[];
  forecast?: Forecast;
  decision?: BudgetDecision;
  approval?: Approval;
  actual: { usd: number; modelUsd: number; toolUsd: number; ms: number };
  /** Forecast (p50/p90) against actual, for duration and cost. */
  comparison?: ForecastComparison;
  /** Against the previous run of the same plan (the reporter's memory of the session, else the ledger). */
  previous?: { runId: string; ms: number; usd: number; text: string };
  usage: ModelUsage[];
  summary: string;
  summaryBy: "model" | "template";
}
