import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { compileExecutor } from "../graphs/executor.ts";
import { forecastPlan, type Forecast } from "../src/cost/forecast.ts";
import { openLedger, type Ledger } from "../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../src/cost/pricing.ts";
import { createStepRecorder, recordRunEnd } from "../src/cost/recorder.ts";
import { median, quantile } from "../src/cost/stats.ts";
import { ServerLimits } from "../src/engine/limits.ts";
import { summarizeExecution } from "../src/engine/report.ts";
import type { ExecState } from "../src/engine/schedule.ts";
import { criticalPath } from "../src/plan/dag.ts";
import type { PlanInput } from "../src/plan/schema.ts";
import { preparePlan } from "../src/plan/validate.ts";
import { logNormalMs, radDag, randomDag, rng, sleeper, type BenchDag } from "./dags.ts";

/** Run-to-run variation of each step's time: none, and log-normal with σ = 0.25 around its base time. */
const VARIANTS = [
  { key: "same", label: "same step times in both runs", sigma: 0 },
  { key: "noisy", label: "step times vary run to run (log-normal, σ=0.25)", sigma: 0.25 },
] as const;

function jitter(ms: Record<string, number>, seed: number, sigma: number): Record<string, number> {
  if (sigma === 0) return ms;
  const random = rng(seed);
  return Object.fromEntries(Object.entries(ms).map(([id, base]) => [id, logNormalMs(random, base, sigma)]));
}

/** Runs a plan on the executor (asap) with the ledger's step recorder; returns the makespan. */
async function runRecorded(ledger: Ledger, plan: PlanInput, ms: Record<string, number>, runId: string, forecast?: Forecast): Promise<number> {
  const caller = sleeper(ms);
  const prepared = preparePlan(plan, { tools: caller.tools });
  const recorder = createStepRecorder(ledger, runId, prepared);
  const ctx = { caller, limits: new ServerLimits(100_000) };
  const graph = compileExecutor({ context: async () => ctx, onEvent: (e) => recorder.onEvent(e) }, new MemorySaver());
  const startedAt = Date.now();
  const state = (await graph.invoke({ plan, scheduler: "asap" }, { configurable: { thread_id: runId }, recursionLimit: 100_000 })) as ExecState;
  await recorder.flush();
  const report = summarizeExecution(state);
  if (report.status !== "succeeded") throw new Error(`${plan.name} ended ${report.status}`);
  const run = { runId, startedAt, forecast, plan: plan.name, status: report.status, makespanMs: report.timing.makespanMs };
  return (await recordRunEnd(ledger, run)).durationMs;
}

interface Row {
  dag: string;
  steps: number;
  forecastP50: number;
  forecastP90: number;
  actual: number;
  /** The second run's critical path of its own sleep times: the best a forecast could know in advance. */
  idealMs: number;
  relError: number;
}

/**
 * Forecast accuracy on the engine benchmark's DAGs (the RAD Crawler DAG and 30 seeded random DAGs of
 * 10–200 steps with log-normal step times): each DAG runs twice on the executor with the ledger's step
 * recorder; the second run's duration is forecast from the first (per-step history of the same plan)
 * and compared with its makespan.
 */
export async function benchForecast(count = 30): Promise<Record<string, unknown>> {
  const dags: BenchDag[] = [radDag(), ...Array.from({ length: count }, (_, i) => randomDag(2000 + i, 10 + Math.floor((190 * i) / (count - 1))))];
  const dir = mkdtempSync(path.join(tmpdir(), "co-bench-forecast-"));
  const ledger = await openLedger({ home: dir });
  const results: Record<string, unknown> = { dags: dags.length, method: "forecast p50 = critical path over per-step median durations of past runs" };
  try {
    for (const variant of VARIANTS) {
      const rows: Row[] = [];
      for (const [i, dag] of dags.entries()) {
        const plan: PlanInput = { ...dag.plan, name: `${dag.name}/${variant.key}` };
        const first = jitter(dag.ms, 10_000 + i, variant.sigma);
        const second = jitter(dag.ms, 20_000 + i, variant.sigma);
        await runRecorded(ledger, plan, first, `${plan.name}#1`);
        const prepared = preparePlan(plan, { tools: sleeper({}).tools });
        const forecast = await forecastPlan(prepared, { ledger, pricing: DEFAULT_PRICING });
        const actual = await runRecorded(ledger, plan, second, `${plan.name}#2`, forecast);
        rows.push({
          dag: dag.name,
          steps: prepared.order.length,
          forecastP50: Math.round(forecast.durationMs.p50),
          forecastP90: Math.round(forecast.durationMs.p90),
          actual: Math.round(actual),
          idealMs: criticalPath(prepared.order, prepared.deps, (id) => second[id]!).ms,
          relError: Math.abs(actual - forecast.durationMs.p50) / actual,
        });
      }
      results[variant.key] = summarise(variant.label, rows);
    }
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

function summarise(label: string, rows: Row[]): Record<string, unknown> {
  const errors = rows.map((r) => r.relError);
  const worst = rows.reduce((a, b) => (b.relError > a.relError ? b : a));
  const idealErrors = rows.map((r) => Math.abs(r.idealMs - r.forecastP50) / r.idealMs);
  return {
    variant: label,
    durationRelativeError: { median: round(median(errors)), p90: round(quantile(errors, 0.9)), worst: round(worst.relError) },
    worstDag: worst,
    actualWithinP90: round(rows.filter((r) => r.actual <= r.forecastP90).length / rows.length),
    /** Forecast vs the second run's own critical path (no scheduling overhead): isolates the forecast from the engine. */
    relativeErrorVsCriticalPath: { median: round(median(idealErrors)), worst: round(Math.max(...idealErrors)) },
    /** Makespan ÷ forecast p50, median: > 1 means runs take longer than forecast. */
    actualOverForecast: round(median(rows.map((r) => r.actual / r.forecastP50))),
  };
}

const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;
