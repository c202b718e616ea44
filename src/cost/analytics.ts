import type { Ledger, ModelCallRecord, RunRecord, StepRecord } from "./ledger.ts";
import type { Pricing } from "./pricing.ts";
import { routingSavings, type RoutingSavings } from "./routing.ts";
import { median, sum } from "./stats.ts";

export type Dimension = "agent" | "tool" | "model" | "run";
/** The agent row of steps whose plan names no agent. */
export const NO_AGENT = "(no agent)";
export const DIMENSIONS: readonly Dimension[] = ["agent", "tool", "model", "run"];

export interface BreakdownRow {
  /** Agent name, `server.tool`, model name, or run id. */
  key: string;
  usd: number;
  /** Model calls (agent, model, run) plus step executions (agent, tool, run). */
  count: number;
  inputTokens: number;
  outputTokens: number;
  /** Total step time (agent, tool, run). */
  durationMs: number;
  /** False when some of the usd is unknown (a model without a price). */
  known: boolean;
  /** Run rows: plan name and status. */
  detail?: string;
}

export interface AccuracyStat {
  /** Runs with both a forecast and an actual value. */
  runs: number;
  /** Median of |actual − forecast p50| (ms or USD). */
  medianAbsError: number;
  /** Median and worst of |actual − forecast p50| / actual, over runs with a non-zero actual. */
  medianRelError: number;
  worstRelError: number;
  /** Share of runs whose actual was ≤ the forecast p90. */
  withinP90: number;
}

export interface CostReport {
  since: number;
  until: number;
  by: Dimension;
  totals: {
    usd: number;
    modelUsd: number;
    stepUsd: number;
    modelCalls: number;
    steps: number;
    runs: number;
    inputTokens: number;
    outputTokens: number;
    cachedTokens: number;
  };
  /** Models without a price, with their call counts: their cost is not in the totals. */
  unknownModels: Record<string, number>;
  breakdown: BreakdownRow[];
  accuracy: { durationMs?: AccuracyStat; usd?: AccuracyStat };
  /** One entry per UTC day from `since` to `until`, oldest first. */
  perDay: { day: string; usd: number }[];
  /** Present when some calls were routed away from a default model. */
  routing?: RoutingSavings;
  /** What running runs hold now beyond what they spent (live budget reservations). */
  reserved: { usd: number; runs: number };
}

export interface CostReportOptions {
  since: number;
  until?: number;
  by: Dimension;
  pricing: Pricing;
}

/** Totals, a breakdown, forecast accuracy, spend per day and routing savings, from the ledger. */
export async function costReport(ledger: Ledger, options: CostReportOptions): Promise<CostReport> {
  const until = options.until ?? Date.now();
  const filter = { since: options.since, until };
  const calls = await ledger.modelCalls(filter);
  const steps = await ledger.steps(filter);
  const runs = await ledger.runs(filter);
  const unknownModels: Record<string, number> = {};
  for (const c of calls.filter((c) => !c.known)) unknownModels[c.model] = (unknownModels[c.model] ?? 0) + 1;
  const modelUsd = sum(calls.map((c) => c.usd));
  const stepUsd = sum(steps.map((s) => s.usd));
  const report: CostReport = {
    since: options.since,
    until,
    by: options.by,
    totals: {
      usd: modelUsd + stepUsd,
      modelUsd,
      stepUsd,
      modelCalls: calls.length,
      steps: steps.length,
      runs: new Set([...calls.map((c) => c.runId), ...steps.map((s) => s.runId), ...runs.map((r) => r.runId)]).size,
      inputTokens: sum(calls.map((c) => c.inputTokens)),
      outputTokens: sum(calls.map((c) => c.outputTokens)),
      cachedTokens: sum(calls.map((c) => c.cachedTokens)),
    },
    unknownModels,
    breakdown: breakdown(options.by, calls, steps, runs),
    accuracy: forecastAccuracy(runs),
    perDay: perDay(options.since, until, calls, steps),
    reserved: await reservedNow(ledger),
  };
  if (calls.some((c) => c.routedFrom !== undefined)) report.routing = routingSavings(calls, options.pricing);
  return report;
}

async function reservedNow(ledger: Ledger): Promise<CostReport["reserved"]> {
  const committed = await ledger.committedSpend();
  return { usd: committed.reservedUsd, runs: committed.reservations };
}

/** Accuracy of the forecasts stored with runs: absolute and relative error of p50, share within p90. */
export function forecastAccuracy(runs: readonly RunRecord[]): CostReport["accuracy"] {
  const pairs = runs.filter((r) => r.forecast !== undefined && r.actual !== undefined);
  const stat = (pick: (r: RunRecord) => { p50: number; p90: number; actual: number }): AccuracyStat | undefined => {
    if (pairs.length === 0) return undefined;
    const values = pairs.map(pick);
    const rel = values.filter((v) => v.actual > 0).map((v) => Math.abs(v.actual - v.p50) / v.actual);
    return {
      runs: values.length,
      medianAbsError: median(values.map((v) => Math.abs(v.actual - v.p50))),
      medianRelError: rel.length ? median(rel) : 0,
      worstRelError: rel.length ? Math.max(...rel) : 0,
      withinP90: values.filter((v) => v.actual <= v.p90 + 1e-9).length / values.length,
    };
  };
  const accuracy: CostReport["accuracy"] = {};
  const duration = stat((r) => ({ ...r.forecast!.durationMs, actual: r.actual!.durationMs }));
  const usd = stat((r) => ({ ...r.forecast!.usd, actual: r.actual!.usd }));
  if (duration) accuracy.durationMs = duration;
  if (usd) accuracy.usd = usd;
  return accuracy;
}

function breakdown(by: Dimension, calls: readonly ModelCallRecord[], steps: readonly StepRecord[], runs: readonly RunRecord[]): BreakdownRow[] {
  const rows = new Map<string, BreakdownRow>();
  const row = (key: string): BreakdownRow => {
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { key, usd: 0, count: 0, inputTokens: 0, outputTokens: 0, durationMs: 0, known: true }));
    return r;
  };
  const addCall = (r: BreakdownRow, c: ModelCallRecord): void => {
    r.usd += c.usd;
    r.count++;
    r.inputTokens += c.inputTokens;
    r.outputTokens += c.outputTokens;
    r.known &&= c.known;
  };
  const addStep = (r: BreakdownRow, s: StepRecord): void => {
    r.usd += s.usd;
    r.count++;
    r.durationMs += s.durationMs;
  };
  if (by === "agent") {
    // Step agents (db, redis, deploy …) own their steps' cost; a model call a step's tool made is already under its agent.
    for (const c of calls) addCall(row(c.agent), c);
    for (const s of steps) addStep(row(s.agent ?? NO_AGENT), s);
  }
  if (by === "model") for (const c of calls) addCall(row(c.model), c);
  if (by === "tool") {
    const toolOf = new Map(steps.map((s) => [`${s.runId}\u0000${s.stepId}`, s.tool]));
    for (const s of steps) addStep(row(s.tool), s);
    // A model call a tool reported (workspace codegen) is part of that tool's cost.
    for (const c of calls) {
      const tool = c.stepId === undefined ? undefined : toolOf.get(`${c.runId}\u0000${c.stepId}`);
      if (tool === undefined) continue;
      const r = row(tool);
      r.usd += c.usd;
      r.inputTokens += c.inputTokens;
      r.outputTokens += c.outputTokens;
      r.known &&= c.known;
    }
  }
  if (by === "run") {
    for (const c of calls) addCall(row(c.runId), c);
    for (const s of steps) addStep(row(s.runId), s);
    for (const r of runs) row(r.runId).detail = `${r.plan} (${r.status})`;
  }
  return [...rows.values()].sort((a, b) => b.usd - a.usd || b.count - a.count || a.key.localeCompare(b.key));
}

function perDay(since: number, until: number, calls: readonly ModelCallRecord[], steps: readonly StepRecord[]): CostReport["perDay"] {
  const days = new Map<string, number>();
  const DAY = 86_400_000;
  for (let t = Math.floor(since / DAY) * DAY; t < until; t += DAY) days.set(dayOf(t), 0);
  for (const { at, usd } of [...calls, ...steps]) days.set(dayOf(at), (days.get(dayOf(at)) ?? 0) + usd);
  return [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, usd]) => ({ day, usd }));
}

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * `7d`, `24h`, `30m`, `2w` before `now`, or a date (`2026-11-01`, ISO time); epoch ms.
 * Returns undefined for anything else.
 */
export function parseSince(text: string, now: number = Date.now()): number | undefined {
  const rel = /^(\d+(?:\.\d+)?)\s*(m|h|d|w)$/i.exec(text.trim());
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2]!.toLowerCase() as "m" | "h" | "d" | "w"];
    return now - Number(rel[1]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const at = Date.parse(text.trim());
  return Number.isNaN(at) ? undefined : at;
}
