import type { RunnableConfig } from "@langchain/core/runnables";
import { checkBudget, spendSoFar } from "../src/cost/budget.ts";
import { forecastPlan, type ExpectedModelCall } from "../src/cost/forecast.ts";
import { formatMs, formatUsd } from "../src/cost/format.ts";
import { DEFAULT_PRICING } from "../src/cost/pricing.ts";
import { findTool, isDestructiveCall, type ToolInfo } from "../src/mcp/catalog.ts";
import { formatProblem, validatePlan, type PreparedPlan } from "../src/plan/validate.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { agentThread } from "./memory.ts";
import type { BudgetDecision, Forecast, ModelUsage, OrchestratorView } from "./types.ts";

export interface ValidatorUpdate {
  forecast?: Forecast;
  decision?: BudgetDecision;
  planProblems?: string[];
  outcome?: "planning_failed" | "rejected";
}

/**
 * The Credit-Validator: forecasts cost (model tokens × pricing, per-tool costs) and duration
 * (critical path over the median of each tool's past durations, else the plan's estimates) with the
 * cost library, then holds it to the budgets: over a hard cap → reject; over the run budget or the
 * approval threshold, or any destructive step → ask; else go.
 */
export async function creditValidator(state: OrchestratorView, deps: OrchestratorDeps, _config?: RunnableConfig): Promise<ValidatorUpdate> {
  const tools = (await deps.context()).caller.tools;
  const validation = validatePlan(state.plan, { tools, params: state.params });
  if (!validation.ok) return { planProblems: validation.problems.map(formatProblem), outcome: "planning_failed" };
  const prepared = validation.prepared;
  const forecast = await forecastPlan(prepared, {
    ledger: deps.ledger,
    pricing: deps.pricing ?? DEFAULT_PRICING,
    expectedModelCalls: expectedModelCalls(state.usage, deps),
  });
  const destructiveSteps = destructiveStepsOf(prepared, tools);
  const now = deps.now?.() ?? Date.now();
  const spent = deps.ledger ? await spendSoFar(deps.ledger, now) : { today: 0, month: 0 };
  const caps = deps.config.budgets;
  const verdict = checkBudget({
    forecast,
    runBudgetUsd: state.budgetUsd,
    caps,
    spentToday: spent.today,
    spentThisMonth: spent.month,
    destructiveSteps,
    unknownModels: forecast.unknownModels,
  });
  const decision: BudgetDecision = {
    verdict: verdict.decision,
    reasons: verdict.reasons,
    runBudgetUsd: state.budgetUsd,
    approvalUsd: caps.approvalUsd,
    destructiveSteps,
    spentTodayUsd: spent.today,
    spentMonthUsd: spent.month,
    dailyCapUsd: caps.dailyUsd,
    monthlyCapUsd: caps.monthlyUsd,
  };
  if (state.session && deps.memory) {
    await deps.memory.append(agentThread(state.session, "credit-validator"), [
      { role: "user", content: `forecast plan "${prepared.plan.name}" for: ${state.request}`, at: now },
      { role: "assistant", content: JSON.stringify({ usd: forecast.usd, durationMs: forecast.durationMs, verdict: decision.verdict, reasons: decision.reasons }), at: now },
    ]);
  }
  return decision.verdict === "reject" ? { forecast, decision, outcome: "rejected" } : { forecast, decision };
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

/** Steps whose tool is destructive, or that broker a destructive tool (`toolkit_call` of `neon_delete_project`). */
export function destructiveStepsOf(prepared: PreparedPlan, tools: readonly ToolInfo[]): string[] {
  return prepared.plan.steps
    .filter((step) => {
      const resolved = prepared.tools[step.id];
      const info = resolved ? findTool(tools, resolved) : undefined;
      return info !== undefined && isDestructiveCall(info, step.params);
    })
    .map((s) => s.id);
}

/** "$0.0042" and "~1.2s": a forecast's p50 in words. */
export function describeForecast(forecast: Forecast): { usd: string; duration: string } {
  return { usd: formatUsd(forecast.usd.p50), duration: `~${formatMs(forecast.durationMs.p50)}` };
}
