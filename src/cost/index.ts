/**
 * The cost library: pricing, ledger, token callbacks, forecast, budgets, plan cache, model routing.
 *
 * Wiring, per run:
 * - settings = loadCostSettings(config); ledger = await openLedger({ home, url: checkpointer URL })
 * - architect: withPlanCache({ cache: ledger.planCache, key: planCacheKey(request, tools, workflowIds),
 *   fresh }, plan) — first request of a conversation only; models per call from routeModel(settings.routing,
 *   agent, stepKind, default), with `routed_from: route.routedFrom` in the call's metadata.
 * - every model call: a CostCallbackHandler({ pricing, ledger, runId }) in the graph's callbacks.
 * - credit-validator: forecastPlan(prepared, { ledger, pricing, expectedModelCalls }), then
 *   checkBudget({ forecast, caps, ...await spendSoFar(ledger) → spentToday/spentThisMonth, destructiveSteps }).
 * - before executing: recordRunStart(ledger, …); executor `onEvent` → createStepRecorder(ledger, runId,
 *   prepared).onEvent (each step lands in the ledger as it finishes); run context `caller` →
 *   budgetGate(caller, { guard: createBudgetGuard({ caps, spentToday, spentThisMonth, runSpentUsd:
 *   () => handler.totals(runId).usd + recorder.usd(), runLimitUsd }), ask, onDecline: () => stop.abort(),
 *   stopSignal: stop.signal }), and the gate's `onEvent` chained into the executor's too.
 * - reporter: recordRunEnd(ledger, …) → actual; compareForecast(forecast, actual); routingSavings(calls, pricing).
 */
export { costReport, DIMENSIONS, forecastAccuracy, parseSince, type AccuracyStat, type BreakdownRow, type CostReport, type CostReportOptions, type Dimension } from "./analytics.ts";
export { checkBudget, createBudgetGuard, spendSoFar, type BudgetCaps, type BudgetCheck, type BudgetDecision, type BudgetGuard, type BudgetGuardOptions, type BudgetLimit, type BudgetVerdict, type GuardCheck } from "./budget.ts";
export { COST_METADATA, CostCallbackHandler, langsmithCost, usageOf, type CostCallbackOptions, type CostedCall, type CostTotals, type UsageTotals } from "./callbacks.ts";
export { costConfigPath } from "./config-file.ts";
export { CostError, isCostError, type CostErrorCode } from "./errors.ts";
export { formatMs, formatUsd } from "./format.ts";
export { budgetGate, type BudgetGate, type BudgetGateOptions } from "./gate.ts";
export {
  compareForecast,
  DEFAULT_CALL_TOKENS,
  DEFAULT_STEP_MS,
  forecastFromHistory,
  forecastPlan,
  formatComparison,
  formatForecast,
  loadHistory,
  type ComparedValue,
  type ExpectedModelCall,
  type Forecast,
  type ForecastComparison,
  type ForecastHistory,
  type ForecastOptions,
  type ModelForecast,
  type StepForecast,
  type StepSource,
} from "./forecast.ts";
export { openLedger, scrubText, type DurationSample, type Ledger, type LedgerFilter, type LedgerOptions, type ModelCallRecord, type ModelRunUsage, type RunRecord, type RunSpend, type StepRecord, type UsdSource } from "./ledger.ts";
export { normaliseRequest, planCacheKey, withPlanCache, type CachedPlan, type PlanCache, type PlanCacheUse, type PlanOutcome } from "./plan-cache.ts";
export { DEFAULT_PRICING, isLocalUrl, loadPricing, lookupPrice, normaliseModelName, priceUsage, type ModelPrice, type Price, type Pricing, type TokenUsage } from "./pricing.ts";
export { createStepRecorder, recordRunEnd, recordRunStart, stepRecordOf, type StepRecorder } from "./recorder.ts";
export { loadRouting, routeModel, routingSavings, RoutingTable, type Route, type RouteTarget, type RoutingSavings } from "./routing.ts";
export { loadCostSettings, type CostSettings } from "./settings.ts";
export { stepToolKey, toolKey } from "./tool-key.ts";
export type { ActualSummary, ForecastSummary, Range } from "./types.ts";
