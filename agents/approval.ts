import { interrupt } from "@langchain/langgraph";
import { APPROVAL_QUESTION } from "../prompts/credit-validator.ts";
import { parseAnswer } from "../src/engine/approval.ts";
import { formatPrompt } from "../src/models/prompt-format.ts";
import type { RunState, RunUpdate } from "../graphs/state.ts";
import { describeForecast, rememberAnswer } from "./credit-validator.ts";
import type { OrchestratorDeps } from "./deps.ts";
import type { ApprovalRequest } from "./types.ts";

/**
 * Asks a human only when needed (over the run budget, a destructive call, or `confirm` as in chat);
 * `--yes` answers for them. No side effects before `interrupt()`: on resume this node runs again
 * from the start and `interrupt()` returns the answer, which the credit-validator then remembers
 * for the session.
 */
export async function approve(state: RunState, deps: OrchestratorDeps): Promise<RunUpdate> {
  const decision = state.decision!;
  const destructive = decision.destructiveSteps.length > 0;
  const needed = decision.verdict === "ask" || state.confirm;
  if (!needed) return { approval: { approved: true, by: decision.remembered ? "session" : "not-needed", note: decision.remembered } };
  // `--yes` approves a budget, not destruction: that takes `--allow-destructive` or a person.
  if (state.autoApprove && (!destructive || state.allowDestructive)) {
    return { approval: { approved: true, by: "flag", note: decision.reasons.join("; ") || undefined } };
  }
  const plan = state.prepared?.plan.name ?? "(unnamed plan)";
  const request: ApprovalRequest = {
    kind: "approval",
    question: formatPrompt(APPROVAL_QUESTION, { plan, ...describeForecast(state.forecast!) }),
    reasons: decision.reasons,
    plan,
    forecast: state.forecast!,
    decision,
  };
  const answer = parseAnswer(interrupt<ApprovalRequest, unknown>(request));
  await rememberAnswer(state, deps, answer);
  return answer.approved ? { approval: { ...answer, by: "human" }, allowDestructive: true } : { approval: { ...answer, by: "human" }, outcome: "declined" };
}
