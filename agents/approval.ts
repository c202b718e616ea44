import { interrupt } from "@langchain/langgraph";
import { APPROVAL_QUESTION } from "../prompts/credit-validator.ts";
import { formatPrompt } from "../src/models/prompt-format.ts";
import { describeForecast } from "./credit-validator.ts";
import type { Approval, ApprovalAnswer, ApprovalRequest, OrchestratorView } from "./types.ts";

export interface ApprovalUpdate {
  approval: Approval;
  outcome?: "declined";
  /** Set when the approval covers the plan's destructive steps. */
  allowDestructive?: boolean;
}

/**
 * Asks a human only when needed (over the run budget, a destructive step, or `confirm` as in chat);
 * `--yes` answers for them. No side effects before `interrupt()`: on resume this node runs again
 * from the start and `interrupt()` returns the answer.
 */
export function approve(state: OrchestratorView): ApprovalUpdate {
  const decision = state.decision!;
  const destructive = decision.destructiveSteps.length > 0;
  const needed = decision.verdict === "ask" || state.confirm;
  if (!needed) return { approval: { approved: true, by: "not-needed" } };
  // `--yes` approves a budget, not destruction: that takes `--allow-destructive` or a person.
  if (state.autoApprove && (!destructive || state.allowDestructive)) {
    return { approval: { approved: true, by: "flag", note: decision.reasons.join("; ") || undefined }, allowDestructive: state.allowDestructive };
  }
  const request: ApprovalRequest = {
    kind: "approval",
    question: formatPrompt(APPROVAL_QUESTION, { plan: planName(state.plan), ...describeForecast(state.forecast!) }),
    reasons: decision.reasons,
    plan: planName(state.plan),
    forecast: state.forecast!,
    decision,
  };
  const answer = parseAnswer(interrupt<ApprovalRequest, unknown>(request));
  return answer.approved ? { approval: { ...answer, by: "human" }, allowDestructive: true } : { approval: { ...answer, by: "human" }, outcome: "declined" };
}

/** `true`, `"approve"`/`"yes"`/`"y"`, or `{ approved: boolean, note? }`; anything else declines. */
export function parseAnswer(value: unknown): ApprovalAnswer {
  if (typeof value === "boolean") return { approved: value };
  if (typeof value === "string") return { approved: /^(y|yes|approve|approved|ok)$/i.test(value.trim()) };
  if (typeof value === "object" && value !== null && "approved" in value) {
    const v = value as { approved: unknown; note?: unknown };
    return { approved: v.approved === true, note: typeof v.note === "string" ? v.note : undefined };
  }
  return { approved: false, note: "unrecognised answer" };
}

function planName(plan: unknown): string {
  const name = (plan as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : "(unnamed plan)";
}
