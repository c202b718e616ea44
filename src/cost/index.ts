/**
 * The cost library: pricing, ledger, token callbacks, forecast, budgets, plan cache, model routing.
 *
 * Wiring, per run:
 * - settings = loadCostSettings(config); ledger = await openLedger({ home, url: checkpointer URL })
 * - architect: withPlanCache({ cache: ledger.planCache, key: planCacheKey(request, tools, workflowIds),
 *   fresh }, plan) — first request of a conversation only; models per call from routeModel(settings.routing,
 *   agent, stepKind, default), with `routed_from: route.routedFrom` in the call's metadata.
 * - every model call: a CostCallbackHandler({ pricing, ledger, runId }) in the graph's callbacks.
 * - credit-validator: forecastPlan(prepared, { ledger, pricing, expectedModelCalls, tools: ctx.caller.tools }),
 *   then committed = await ledger.committedSpend(runId) and checkBudget({ forecast, caps, spentToday:
 *   committed.spentToday + committed.ownToday, spentThisMonth: committed.spentThisMonth + committed.ownThisMonth,
 *   reservedUsd: committed.reservedUsd, destructiveSteps }).
 * - before executing (after approval, no side effects before interrupt()): reservation = await
 *   ledger.reserve({ runId, usd: forecast.usd.p90, caps }) — a BudgetReservationError (with the numbers)
 *   means another run took the room meanwhile; recordRunStart(ledger, …); executor `onEvent` →
 *   createStepRecorder(ledger, runId, prepared, { pricing, tools: ctx.caller.tools, modelBaseUrl }).onEvent
 *   (each step, and the model calls its tool reported, land in the ledger as it finishes); run context
 *   `caller` → budgetGate(caller, { guard: createBudgetGuard({ caps, spentToday, spentThisMonth, runSpentUsd:
 *   () => handler.totals(runId).usd + recorder.usd(), runLimitUsd, committed: () => ledger.committedSpend(runId) }),
 *   … }) with `await guard.refresh()` before each `check()`; the gate's `onEvent` chained into the executor's.
 * - reporter: recordRunEnd(ledger, …) → actual; await reservation.settle(); compareForecast(forecast, actual);
 *   routingSavings(calls, pricing).
 */
export { costReport, DIMENSIONS, NO_AGENT, forecastAccuracy, parseSince, type AccuracyStat, type BreakdownRow, type CostReport, type CostReportOptions, type Dimension } from "./analytics.ts";
export {
  BudgetReservationError,
  isBudgetReservationError,
  type CapName,
  type CommittedSpend,
  type Reservation,
  type ReservationCaps,
  type ReservationRecord,
  type ReservationRequest,
} from "./reservations.ts";
export { measuredCost, type MeasuredCost, type ReportedModelCall } from "./measured.ts";
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
export {
  createStepRecorder,
  DEFAULT_STEP_AGENT,
  measuredUsd,
  recordRunEnd,
  recordRunStart,
  stepRecordOf,
  stepRecordsOf,
  type StepRecordContext,
  type StepRecorder,
  type StepRecorderOptions,
} from "./recorder.ts";
export { loadRouting, routeModel, routingSavings, RoutingTable, type Route, type RouteTarget, type RoutingSavings } from "./routing.ts";
export { loadCostSettings, type CostSettings } from "./settings.ts";
export { stepToolKey, toolInfoOf, toolKey } from "./tool-key.ts";
export type { ActualSummary, ForecastSummary, Range } from "./types.ts";
