import type { RunnableConfig } from "@langchain/core/runnables";
import { checkBudget } from "../src/cost/budget.ts";
import { forecastPlan, type ExpectedModelCall } from "../src/cost/forecast.ts";
import { formatMs, formatUsd } from "../src/cost/format.ts";
import { DEFAULT_PRICING } from "../src/cost/pricing.ts";
import type { ApprovalAnswer } from "../src/engine/approval.ts";
import { formatPreflightProblem, preflight } from "../src/engine/preflight.ts";
import { canonicalJson, sha256 } from "../src/hash.ts";
import { formatProblem, pendingPart, validatePlan, type PreparedPlan } from "../src/plan/validate.ts";
import type { RunState, RunUpdate } from "../graphs/state.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { agentThread } from "./memory.ts";
import { finishedResults } from "./replan.ts";
import type { BudgetDecision, Forecast, ModelUsage } from "./types.ts";

/** What the credit-validator keeps in its session thread: each person's answer about a plan. */
interface RememberedAnswer {
  plan: string;
  name: string;
  approved: boolean;
  p90Usd: number;
  at: number;
}

/**
 * The Credit-Validator: validates a plan that arrived unvalidated (a plan file, a workflow), asks each
 * step's backend whether it can serve (the preflight: nothing is created when one cannot), forecasts
 * cost (model tokens × pricing, per-tool costs) and duration (critical path, from the ledger's history
 * or the plan's estimates), then holds it to the budgets: over a hard cap → reject; over the run budget
 * or the approval threshold, or any call that may destroy data → ask; else go. In a session it
 * remembers what a person answered: the same plan, approved for at least this much, is not asked
 * about again, and a plan the person declined is declined again — and the decision says so.
 */
export async function creditValidator(state: RunState, deps: OrchestratorDeps, config?: RunnableConfig): Promise<RunUpdate> {
  const ctx = await deps.context();
  let prepared = state.prepared;
  if (!prepared) {
    const validation = validatePlan(state.plan, { tools: ctx.caller.tools, params: state.params, allow: ctx.allow, untrusted: ctx.untrusted });
    if (!validation.ok) return { planProblems: validation.problems.map(formatProblem), outcome: "planning_failed" };
    prepared = validation.prepared;
  }
  // With steps already done (a replan, or steps started while the plan streamed) only the steps still to
  // run are checked by their backends and need approval.
  const pending = state.halted?.next === "continue" ? pendingPart(prepared, new Set(Object.keys(finishedResults(state.halted.results)))) : prepared;
  // Each step's backend says, before anything is created, whether it can serve here (Redis, tokens, git…).
  // Only a run asks: a plan or a dry run creates nothing, and asking would start the servers it
  // otherwise reads from their pins (most of `plan`'s time).
  const unservable = state.dryRun ? [] : await preflight(pending, ctx.caller);
  if (unservable.length > 0) return { prepared, planProblems: unservable.map(formatPreflightProblem), outcome: "preflight_failed" };
  // The whole plan is forecast: what finished is this run's spend too.
  const forecast = await forecastPlan(prepared, {
    ledger: deps.ledger,
    pricing: deps.pricing ?? DEFAULT_PRICING,
    expectedModelCalls: expectedModelCalls(state.usage, deps),
    tools: ctx.caller.tools,
  });
  const now = deps.now?.() ?? Date.now();
  const runId = String(config?.configurable?.["thread_id"] ?? "");
  // Every run's actual spend, and what other running runs have reserved beyond it.
  const committed = deps.ledger ? await deps.ledger.committedSpend(runId, now) : undefined;
  const spent = { today: (committed?.spentToday ?? 0) + (committed?.ownToday ?? 0), month: (committed?.spentThisMonth ?? 0) + (committed?.ownThisMonth ?? 0) };
  const caps = deps.config.budgets;
  const verdict = checkBudget({
    forecast,
    runBudgetUsd: state.budgetUsd,
    caps,
    spentToday: spent.today,
    spentThisMonth: spent.month,
    reservedUsd: committed?.reservedUsd ?? 0,
    destructiveSteps: pending.needsApproval,
    unknownModels: forecast.unknownModels,
  });
  const decision: BudgetDecision = {
    verdict: verdict.decision,
    reasons: [...verdict.reasons, ...prepared.atCallTime],
    runBudgetUsd: state.budgetUsd,
    approvalUsd: caps.approvalUsd,
    destructiveSteps: pending.needsApproval,
    spentTodayUsd: spent.today,
    spentMonthUsd: spent.month,
    dailyCapUsd: caps.dailyUsd,
    monthlyCapUsd: caps.monthlyUsd,
  };
  const update: RunUpdate = { prepared, forecast, decision };
  if (decision.verdict === "reject") return { ...update, outcome: "rejected" };
  const earlier = decision.verdict === "ask" && !state.autoApprove ? await recall(state, deps, prepared) : undefined;
  if (!earlier) return update;
  const when = new Date(earlier.at).toISOString().slice(11, 16);
  if (!earlier.approved) {
    decision.remembered = `you declined "${earlier.name}" earlier in this session (${when} UTC); not asking again — approve with --yes`;
    return { ...update, outcome: "declined", approval: { approved: false, by: "session", note: decision.remembered } };
  }
  if (pending.needsApproval.length === 0 && forecast.usd.p90 <= earlier.p90Usd) {
    decision.remembered = `you approved "${earlier.name}" for up to ${formatUsd(earlier.p90Usd)} earlier in this session (${when} UTC); not asking again`;
    decision.verdict = "ok";
  }
  return update;
}

/** Records a person's answer about this plan in the credit-validator's session thread. */
export async function rememberAnswer(state: RunState, deps: OrchestratorDeps, answer: ApprovalAnswer): Promise<void> {
  if (!state.session || !deps.memory || !state.prepared) return;
  const entry: RememberedAnswer = { plan: planKey(state.prepared), name: state.prepared.plan.name, approved: answer.approved, p90Usd: state.forecast?.usd.p90 ?? 0, at: deps.now?.() ?? Date.now() };
  await deps.memory.append(agentThread(state.session, "credit-validator"), [{ role: "assistant", content: JSON.stringify(entry), at: entry.at }]);
}

/** The person's latest answer about this same plan in this session, if any. */
async function recall(state: RunState, deps: OrchestratorDeps, prepared: PreparedPlan): Promise<RememberedAnswer | undefined> {
  if (!state.session || !deps.memory) return undefined;
  const key = planKey(prepared);
  const messages = await deps.memory.load(agentThread(state.session, "credit-validator"));
  for (const m of [...messages].reverse()) {
    try {
      const entry = JSON.parse(m.content) as Partial<RememberedAnswer>;
      if (entry.plan === key && typeof entry.approved === "boolean") return entry as RememberedAnswer;
    } catch {
      // Not one of ours: older threads kept free text.
    }
  }
  return undefined;
}

/** The same plan: steps, params and tools, whatever the request's wording. */
function planKey(prepared: PreparedPlan): string {
  return sha256(canonicalJson({ steps: prepared.plan.steps, params: prepared.params, tools: prepared.tools }));
}

/** The planning calls already made (exact tokens) and the reporter's summary still to come. */
function expectedModelCalls(usage: readonly ModelUsage[], deps: OrchestratorDeps): ExpectedModelCall[] {
  const calls: ExpectedModelCall[] = usage.map((u) => ({
    agent: u.agent,
    model: u.model,
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    baseUrl: u.baseUrl,
  }));
  const reporter = deps.chatModel?.("reporter", "summary");
  if (reporter) calls.push({ agent: "reporter", model: reporter.name, baseUrl: reporter.baseUrl });
  return calls;
}

/** "$0.0042" and "~1.2s": a forecast's p50 in words. */
export function describeForecast(forecast: Forecast): { usd: string; duration: string } {
  return { usd: formatUsd(forecast.usd.p50), duration: `~${formatMs(forecast.durationMs.p50)}` };
}
