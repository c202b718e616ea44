import type { ToolInfo } from "../mcp/catalog.ts";
import { backendEstimateOf, type BackendEstimate } from "../mcp/tool-meta.ts";
import { criticalPath } from "../plan/dag.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import { formatMs, formatPct, formatUsd } from "./format.ts";
import type { DurationSample, Ledger, ModelRunUsage } from "./ledger.ts";
import { normaliseModelName, priceUsage, type Pricing } from "./pricing.ts";
import { median, quantile, sum } from "./stats.ts";
import { stepToolKey, toolInfoOf } from "./tool-key.ts";
import type { ActualSummary, ForecastSummary, Range } from "./types.ts";

/**
 * Where a step's forecast came from: past runs, the estimate its server publishes for the backend
 * serving it now (local provider, template scaffold), the plan's `estimate`, or the default.
 */
export type StepSource = "history" | "backend" | "estimate" | "default";

export interface StepForecast {
  id: string;
  /** `server.tool` (`server.tool#inner` for a broker call, see toolKey). */
  tool: string;
  ms: Range;
  /**
   * USD (p50): the median of what past runs of the step (else of the tool) cost — model calls its
   * tool reported included — else the backend's estimate, else the declared `estimate.usd`, else 0.
   */
  usd: number;
  /** USD (p90), from the same source. */
  usdP90: number;
  source: StepSource;
  /** How many past executions the history source used (0 otherwise). */
  samples: number;
}

/** A model call the run is expected to make (e.g. the reporter after execution, codegen steps). */
export interface ExpectedModelCall {
  agent: string;
  model: string;
  /** Given token counts; without them the ledger's history of this agent is used, else a default. */
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  /** A localhost base URL makes the call free. */
  baseUrl?: string;
}

export interface ModelForecast {
  agent: string;
  model: string;
  inputTokens: Range;
  outputTokens: Range;
  usd: Range;
  /** False when the model has no price: its USD is counted as 0 and listed in `unknownModels`. */
  known: boolean;
  source: "given" | "history" | "default";
}

export interface Forecast extends ForecastSummary {
  perStep: StepForecast[];
  models: ModelForecast[];
  /** The step ids on the p50 critical path, first to last. */
  criticalPath: string[];
  /** Models with no price in the table. */
  unknownModels: string[];
}

/** What the ledger knew when the forecast was made. */
export interface ForecastHistory {
  /** Same plan name: step id → past executions (newest first). */
  steps: Record<string, DurationSample[]>;
  /** `server.tool` → past executions (newest first). */
  tools: Record<string, DurationSample[]>;
  /** Per run and agent, the model tokens used. */
  models: ModelRunUsage[];
}

export interface ForecastOptions {
  ledger?: Ledger;
  pricing: Pricing;
  expectedModelCalls?: readonly ExpectedModelCall[];
  /**
   * The loaded tools (`context.caller.tools`): the estimates built-in servers publish for the backend
   * they use now (see BACKEND_ESTIMATE_META_KEY) replace the plan's cloud estimates, and history
   * recorded on another backend is left out. Without them, plan estimates and all history are used.
   */
  tools?: readonly ToolInfo[];
}

/** A step with neither history nor an estimate. */
export const DEFAULT_STEP_MS: Range = { p50: 1000, p90: 5000 };
/** Tokens of a model call with neither given counts nor history. */
export const DEFAULT_CALL_TOKENS = { input: 2000, output: 500 } as const;
const EMPTY_HISTORY: ForecastHistory = { steps: {}, tools: {}, models: [] };

/**
 * Cost and duration of a plan with a p50–p90 range. Per step, duration and USD come from the same
 * step of past runs of the same plan (same tool), else past runs of the tool — on the backend the
 * tool uses now — else the estimate its server publishes for that backend, else the step's
 * `estimate`, else DEFAULT_STEP_MS and $0. Duration is the critical path over per-step p50 (and
 * p90); USD is the steps' USD plus the expected model calls priced with `pricing`.
 */
export async function forecastPlan(prepared: PreparedPlan, options: ForecastOptions): Promise<Forecast> {
  const history = options.ledger ? await loadHistory(options.ledger, prepared, options.expectedModelCalls ?? []) : EMPTY_HISTORY;
  return forecastFromHistory(prepared, history, options);
}

/** Reads from the ledger what forecastFromHistory needs for this plan. */
export async function loadHistory(ledger: Ledger, prepared: PreparedPlan, expectedModelCalls: readonly ExpectedModelCall[]): Promise<ForecastHistory> {
  const tools = prepared.order.map((id) => stepToolKey(prepared, id));
  const needHistory = expectedModelCalls.filter((c) => c.inputTokens === undefined || c.outputTokens === undefined).map((c) => c.agent);
  return {
    steps: await ledger.stepHistory(prepared.plan.name),
    tools: await ledger.toolHistory(tools),
    models: await ledger.modelHistory([...new Set(needHistory)]),
  };
}

/** The pure part of forecastPlan. */
export function forecastFromHistory(prepared: PreparedPlan, history: ForecastHistory, options: Omit<ForecastOptions, "ledger">): Forecast {
  const steps = new Map(prepared.plan.steps.map((s) => [s.id, s]));
  const perStep = prepared.order.map((id): StepForecast => {
    const tool = stepToolKey(prepared, id);
    const estimate = steps.get(id)?.estimate;
    const backend = backendEstimateOf(toolInfoOf(options.tools, tool));
    const sameBackend = (samples: readonly DurationSample[]): DurationSample[] =>
      sameBackendSamples(samples, options.tools === undefined ? undefined : (backend ?? "remote"));
    const own = sameBackend((history.steps[id] ?? []).filter((s) => s.tool === tool));
    const samples = own.length > 0 ? own : sameBackend(history.tools[tool] ?? []);
    if (samples.length > 0) {
      // Another plan's runs of the same tool tell its time, but not this step's cost when the step
      // declares one (a broker's or a generic tool's cost depends on what it is asked to do).
      const usd = own.length > 0 || estimate?.usd === undefined ? rangeOf(samples.map((s) => s.usd)) : { p50: estimate.usd, p90: estimate.usd };
      return { id, tool, ms: rangeOf(samples.map((s) => s.durationMs)), usd: usd.p50, usdP90: usd.p90, source: "history", samples: samples.length };
    }
    if (backend) return { id, tool, ms: { p50: backend.ms, p90: backend.ms * 1.5 }, usd: backend.usd, usdP90: backend.usd, source: "backend", samples: 0 };
    const usd = estimate?.usd ?? 0;
    if (estimate?.ms !== undefined) return { id, tool, ms: { p50: estimate.ms, p90: estimate.ms * 1.5 }, usd, usdP90: usd, source: "estimate", samples: 0 };
    return { id, tool, ms: { ...DEFAULT_STEP_MS }, usd, usdP90: usd, source: "default", samples: 0 };
  });
  const byId = new Map(perStep.map((s) => [s.id, s]));
  const p50 = criticalPath(prepared.order, prepared.deps, (id) => byId.get(id)!.ms.p50);
  const p90 = criticalPath(prepared.order, prepared.deps, (id) => byId.get(id)!.ms.p90);
  const models = (options.expectedModelCalls ?? []).map((c) => forecastModelCall(c, history.models, options.pricing));
  const stepUsd = sum(perStep.map((s) => s.usd));
  const stepUsdP90 = sum(perStep.map((s) => s.usdP90));
  return {
    durationMs: { p50: p50.ms, p90: Math.max(p50.ms, p90.ms) },
    usd: { p50: stepUsd + sum(models.map((m) => m.usd.p50)), p90: stepUsdP90 + sum(models.map((m) => m.usd.p90)) },
    perStep,
    models,
    criticalPath: p50.path,
    unknownModels: [...new Set(models.filter((m) => !m.known).map((m) => m.model))],
  };
}

/**
 * The past runs that say something about the backend serving the tool now (`current`: the backend
 * its server publishes, `remote` when it publishes none; undefined: not known, all runs count). A
 * run on another backend says nothing about this one — local times and $0 are not a cloud's. Runs
 * recorded without the backend's word (the recorder was given no tools) count on a remote backend,
 * and on a free one when they cost $0.
 */
export function sameBackendSamples(samples: readonly DurationSample[], current: BackendEstimate | "remote" | undefined): DurationSample[] {
  if (current === undefined) return [...samples];
  const name = current === "remote" ? "remote" : current.backend;
  const known = samples.filter((s) => s.backend === name);
  if (known.length > 0) return known;
  const unknown = samples.filter((s) => s.backend === undefined && s.usdSource !== "free");
  return current === "remote" || current.usd > 0 ? unknown : unknown.filter((s) => s.usd === 0);
}

/**
 * A range from past values: the median, and the 90th percentile — at least p50 × (1 + 0.5/√n),
 * so that a handful of samples still gives a range rather than a point.
 */
export function rangeOf(values: readonly number[]): Range {
  const p50 = median(values);
  return { p50, p90: Math.max(quantile(values, 0.9), p50 * (1 + 0.5 / Math.sqrt(values.length))) };
}

function forecastModelCall(call: ExpectedModelCall, history: readonly ModelRunUsage[], pricing: Pricing): ModelForecast {
  let source: ModelForecast["source"] = "given";
  let input: Range;
  let output: Range;
  let cached: Range;
  if (call.inputTokens !== undefined && call.outputTokens !== undefined) {
    input = point(call.inputTokens);
    output = point(call.outputTokens);
    cached = point(call.cachedTokens ?? 0);
  } else {
    const ofAgent = history.filter((h) => h.agent === call.agent);
    const sameModel = ofAgent.filter((h) => normaliseModelName(h.model) === normaliseModelName(call.model));
    const runs = sameModel.length > 0 ? sameModel : ofAgent;
    source = runs.length > 0 ? "history" : "default";
    input = runs.length > 0 ? rangeOf(runs.map((r) => r.inputTokens)) : point(DEFAULT_CALL_TOKENS.input);
    output = runs.length > 0 ? rangeOf(runs.map((r) => r.outputTokens)) : point(DEFAULT_CALL_TOKENS.output);
    cached = runs.length > 0 ? point(median(runs.map((r) => r.cachedTokens))) : point(0);
  }
  const priceAt = (k: "p50" | "p90"): ReturnType<typeof priceUsage> =>
    priceUsage(pricing, call.model, { input_tokens: input[k], output_tokens: output[k], cached: Math.min(cached[k], input[k]) }, call.baseUrl);
  const low = priceAt("p50");
  return {
    agent: call.agent,
    model: call.model,
    inputTokens: input,
    outputTokens: output,
    usd: { p50: low.usd, p90: priceAt("p90").usd },
    known: low.known,
    source,
  };
}

export interface ComparedValue {
  forecast: Range;
  actual: number;
  /** (actual − p50) / actual; 0 when both are 0. */
  relativeError: number;
  /** True when actual ≤ p90. */
  withinRange: boolean;
}

export interface ForecastComparison {
  durationMs: ComparedValue;
  usd: ComparedValue;
}

/** Forecast vs actual, for the reporter. */
export function compareForecast(forecast: ForecastSummary, actual: ActualSummary): ForecastComparison {
  return { durationMs: compareValue(forecast.durationMs, actual.durationMs), usd: compareValue(forecast.usd, actual.usd) };
}

/** The credit-validator's text: range, critical path, sources, unknown prices. */
export function formatForecast(forecast: Forecast): string {
  const count = (source: StepSource): number => forecast.perStep.filter((s) => s.source === source).length;
  const lines = [
    `forecast: ${formatMs(forecast.durationMs.p50)} (p90 ${formatMs(forecast.durationMs.p90)}), ${formatUsd(forecast.usd.p50)} (p90 ${formatUsd(forecast.usd.p90)})`,
    `critical path: ${forecast.criticalPath.join(" → ") || "(none)"}`,
    `steps: ${count("history")} from history, ${count("backend")} from their backend, ${count("estimate")} from plan estimates, ${count("default")} default`,
  ];
  for (const m of forecast.models) {
    lines.push(`model ${m.agent}: ${m.model}, ~${Math.round(m.inputTokens.p50)} in / ${Math.round(m.outputTokens.p50)} out tokens (${m.source}), ${m.known ? formatUsd(m.usd.p50) : "unpriced"}`);
  }
  if (forecast.unknownModels.length) lines.push(`unpriced models (their cost is not in the forecast): ${forecast.unknownModels.join(", ")}`);
  return lines.join("\n");
}

/** The reporter's text: forecast vs actual for duration and cost. */
export function formatComparison(comparison: ForecastComparison): string {
  const line = (label: string, v: ComparedValue, fmt: (n: number) => string): string =>
    `${label}: forecast ${fmt(v.forecast.p50)} (p90 ${fmt(v.forecast.p90)}), actual ${fmt(v.actual)} — ` +
    `${v.relativeError >= 0 ? "+" : ""}${formatPct(v.relativeError)} vs p50, ${v.withinRange ? "at or under" : "over"} p90`;
  return [line("duration", comparison.durationMs, formatMs), line("cost", comparison.usd, formatUsd)].join("\n");
}

function compareValue(forecast: Range, actual: number): ComparedValue {
  const relativeError = forecast.p50 === 0 ? (actual === 0 ? 0 : 1) : (actual - forecast.p50) / forecast.p50;
  return { forecast, actual, relativeError, withinRange: actual <= forecast.p90 + 1e-9 };
}

function point(n: number): Range {
  return { p50: n, p90: n };
}
