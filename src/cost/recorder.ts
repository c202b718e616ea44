import type { StepResult } from "../engine/run-step.ts";
import type { StepEvent } from "../engine/schedule.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import { CostError } from "./errors.ts";
import type { Ledger, StepRecord, UsdSource } from "./ledger.ts";
import { toolKey } from "./tool-key.ts";
import type { ActualSummary, ForecastSummary } from "./types.ts";

export interface StepRecorder {
  /** Pass as (or call from) the executor's `onEvent`: records every finished step as it lands. */
  onEvent(event: StepEvent): void;
  /** USD of the steps recorded so far (for the budget guard's `runSpentUsd`). */
  usd(): number;
  /** Waits for writes in flight; rejects with a CostError if any failed. */
  flush(): Promise<void>;
}

/**
 * Records each finished step in the ledger the moment the executor reports it, so a crash mid-run
 * leaves every finished step recorded. Skipped steps are not recorded.
 */
export function createStepRecorder(ledger: Ledger, runId: string, prepared: Pick<PreparedPlan, "plan">): StepRecorder {
  const steps = new Map(prepared.plan.steps.map((s) => [s.id, s]));
  const pending = new Set<Promise<void>>();
  const failures: Error[] = [];
  let usd = 0;
  return {
    onEvent: (event) => {
      if (event.type !== "step_finished" || event.result.status === "skipped") return;
      const step = steps.get(event.result.id);
      const record = stepRecordOf(event.result, { runId, plan: prepared.plan.name, declaredUsd: step?.estimate?.usd, params: step?.params });
      usd += record.usd;
      const write = ledger.recordStep(record).catch((error: unknown) => {
        failures.push(error instanceof Error ? error : new Error(String(error)));
      });
      pending.add(write);
      void write.then(() => pending.delete(write));
    },
    usd: () => usd,
    flush: async () => {
      await Promise.all([...pending]);
      if (failures.length > 0) throw new CostError("LEDGER", `${failures.length} step(s) were not recorded in the ledger: ${failures[0]!.message}`);
    },
  };
}

/**
 * The ledger row of a step result. USD: what the tool reported (`cost_usd` / `costUsd` / `usd` in its
 * output) when it did, else the plan's declared `estimate.usd`, else 0. Pass the step's `params` so a
 * broker call is kept under its inner tool (see toolKey).
 */
export function stepRecordOf(
  result: StepResult,
  context: { runId: string; plan?: string; declaredUsd?: number; params?: Record<string, unknown> },
): StepRecord {
  const measured = measuredUsd(result.output);
  const [usd, usdSource]: [number, UsdSource] =
    measured !== undefined ? [measured, "measured"] : context.declaredUsd !== undefined ? [context.declaredUsd, "declared"] : [0, "none"];
  const dot = result.tool.indexOf(".");
  const record: StepRecord = {
    runId: context.runId,
    stepId: result.id,
    tool: toolKey(result.tool, context.params),
    server: dot > 0 ? result.tool.slice(0, dot) : result.tool,
    status: result.status,
    durationMs: Math.max(0, result.endedAtMs - result.startedAtMs),
    attempts: result.attempts,
    usd,
    usdSource,
    at: result.endedAtMs,
  };
  if (context.plan !== undefined) record.plan = context.plan;
  return record;
}

/**
 * Records a run as it starts (status `running`, with its forecast), so a run that crashes still
 * shows in the ledger with the steps it finished.
 */
export function recordRunStart(
  ledger: Ledger,
  run: { runId: string; request?: string; plan: string; forecast?: ForecastSummary; startedAt: number },
): Promise<void> {
  return ledger.recordRun({ ...run, status: "running" });
}

/**
 * Records a run's end: its status, the forecast made before it, and the actual makespan and USD
 * (model calls plus steps, from the ledger). Returns the actual summary for forecast-vs-actual.
 */
export async function recordRunEnd(
  ledger: Ledger,
  run: { runId: string; request?: string; startedAt: number; forecast?: ForecastSummary; plan: string; status: string; makespanMs: number },
  now: number = Date.now(),
): Promise<ActualSummary> {
  const spend = await ledger.runSpend(run.runId);
  const actual = { durationMs: run.makespanMs, usd: spend.usd };
  await ledger.recordRun({
    runId: run.runId,
    request: run.request,
    plan: run.plan,
    status: run.status,
    forecast: run.forecast,
    actual,
    startedAt: run.startedAt,
    endedAt: now,
  });
  return actual;
}

/** What a tool reported it cost (`cost_usd` / `costUsd` / `usd` in its output), if it did. */
export function measuredUsd(output: unknown): number | undefined {
  if (typeof output !== "object" || output === null) return undefined;
  const o = output as Record<string, unknown>;
  for (const key of ["cost_usd", "costUsd", "usd"]) {
    const v = o[key];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  }
  return undefined;
}
