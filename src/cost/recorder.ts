import type { StepResult } from "../engine/run-step.ts";
import type { StepEvent } from "../engine/step-event.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import type { ToolInfo } from "../mcp/catalog.ts";
import { backendEstimateOf } from "../mcp/tool-meta.ts";
import { CostError } from "./errors.ts";
import type { Ledger, ModelCallRecord, ProgressRecord, StepRecord, UsdSource } from "./ledger.ts";
import { measuredCost } from "./measured.ts";
import { DEFAULT_PRICING, type Pricing } from "./pricing.ts";
import { toolInfoOf, toolKey } from "./tool-key.ts";
import type { ActualSummary, ForecastSummary } from "./types.ts";

export interface StepRecorder {
  /**
   * Pass as (or call from) the executor's `onEvent`: records every finished step as it lands, and
   * the latest progress of a running step (at most one write per step per PROGRESS_WRITE_MS).
   */
  onEvent(event: StepEvent): void;
  /** USD of the steps recorded so far, with the model calls their tools reported (for the budget guard's `runSpentUsd`). */
  usd(): number;
  /** Waits for writes in flight; rejects with a CostError if any failed. */
  flush(): Promise<void>;
}

export interface StepRecorderOptions {
  /** Prices the model usage a tool reports (workspace codegen). Default: DEFAULT_PRICING. */
  pricing?: Pricing;
  /** Base URL of the model the tools call (the workspace's), for local pricing. */
  modelBaseUrl?: string;
  /**
   * The loaded tools: a tool whose server publishes a free backend estimate (the local provider, a
   * template scaffold) is recorded at $0 ("free") rather than at the plan's declared estimate.
   */
  tools?: readonly ToolInfo[];
}

/** A tool may report progress many times a second: the ledger keeps the latest, written at most this often per step. */
export const PROGRESS_WRITE_MS = 250;

/**
 * Records each finished step in the ledger the moment the executor reports it, so a crash mid-run
 * leaves every finished step recorded. Skipped steps are not recorded. A model call the step's tool
 * reported is recorded as a model call of the step's agent, with the step's id.
 */
export function createStepRecorder(ledger: Ledger, runId: string, prepared: Pick<PreparedPlan, "plan">, options: StepRecorderOptions = {}): StepRecorder {
  const steps = new Map(prepared.plan.steps.map((s) => [s.id, s]));
  const pending = new Set<Promise<void>>();
  const failures: Error[] = [];
  let usd = 0;
  const track = (write: Promise<void>): void => {
    const tracked = write.catch((error: unknown) => {
      failures.push(error instanceof Error ? error : new Error(String(error)));
    });
    pending.add(tracked);
    void tracked.then(() => pending.delete(tracked));
  };
  // Per step: when its progress was last written, and the newest report waiting for the next write.
  const progress = new Map<string, { writtenAt: number; latest?: ProgressRecord; timer?: NodeJS.Timeout }>();
  const writeProgress = (stepId: string): void => {
    const entry = progress.get(stepId);
    if (!entry?.latest) return;
    clearTimeout(entry.timer);
    // Progress is for people watching: a write that fails costs the picture, not the run's accounting.
    const write = ledger.recordProgress(entry.latest).catch(() => {});
    pending.add(write);
    void write.then(() => pending.delete(write));
    progress.set(stepId, { writtenAt: Date.now() });
  };
  const onProgress = (event: Extract<StepEvent, { type: "step_progress" }>): void => {
    const entry = progress.get(event.id) ?? { writtenAt: 0 };
    const latest: ProgressRecord = { runId, stepId: event.id, progress: event.progress, at: Date.now() };
    if (event.total !== undefined) latest.total = event.total;
    if (event.message !== undefined) latest.message = event.message;
    progress.set(event.id, { ...entry, latest });
    const wait = entry.writtenAt + PROGRESS_WRITE_MS - Date.now();
    if (wait <= 0) writeProgress(event.id);
    else if (!entry.timer) progress.get(event.id)!.timer = setTimeout(() => writeProgress(event.id), wait).unref();
  };
  return {
    onEvent: (event) => {
      if (event.type === "step_progress") return onProgress(event);
      if (event.type !== "step_finished" || event.result.status === "skipped") return;
      // The step is over: a report still waiting is of no use any more.
      clearTimeout(progress.get(event.result.id)?.timer);
      progress.delete(event.result.id);
      const step = steps.get(event.result.id);
      const { step: record, modelCall } = stepRecordsOf(event.result, {
        runId,
        plan: prepared.plan.name,
        agent: step?.agent,
        declaredUsd: step?.estimate?.usd,
        params: step?.params,
        ...options,
      });
      usd += record.usd + (modelCall?.usd ?? 0);
      // The model call first: a crash between the two writes then over-counts nothing.
      track(modelCall ? ledger.recordModelCall(modelCall).then(() => ledger.recordStep(record)) : ledger.recordStep(record));
    },
    usd: () => usd,
    flush: async () => {
      await Promise.all([...pending]);
      if (failures.length > 0) throw new CostError("LEDGER", `${failures.length} step(s) were not recorded in the ledger: ${failures[0]!.message}`);
    },
  };
}

export interface StepRecordContext extends StepRecorderOptions {
  runId: string;
  plan?: string;
  agent?: string;
  declaredUsd?: number;
  /** The step's params: a broker call is kept under its inner tool (see toolKey). */
  params?: Record<string, unknown>;
}

/**
 * The ledger row of a step result. USD, first that applies: what the tool reported — a model call
 * (token usage with a model: the cost goes to that model call's row, the step's own USD is 0) or a
 * `cost_usd`; $0 when its server says it ran on a free backend; the plan's declared `estimate.usd`;
 * else 0.
 */
export function stepRecordOf(result: StepResult, context: StepRecordContext): StepRecord {
  return stepRecordsOf(result, context).step;
}

/** The step's row and, when its tool reported one, the row of the model call it made. */
export function stepRecordsOf(result: StepResult, context: StepRecordContext): { step: StepRecord; modelCall?: ModelCallRecord } {
  const measured = measuredCost(result.output, context.pricing ?? DEFAULT_PRICING, context.modelBaseUrl);
  const tool = toolKey(result.tool, context.params);
  const free = backendEstimateOf(toolInfoOf(context.tools, tool));
  // "free" also when the tool reports $0 itself (a template scaffold): it marks history from a free backend.
  const [usd, usdSource]: [number, UsdSource] = measured?.modelCall
    ? [0, "measured"]
    : free?.usd === 0 && (measured === undefined || measured.usd === 0)
      ? [0, "free"]
      : measured !== undefined
        ? [measured.usd, "measured"]
        : context.declaredUsd !== undefined
          ? [context.declaredUsd, "declared"]
          : [0, "none"];
  const dot = result.tool.indexOf(".");
  const record: StepRecord = {
    runId: context.runId,
    stepId: result.id,
    tool,
    server: dot > 0 ? result.tool.slice(0, dot) : result.tool,
    status: result.status,
    durationMs: Math.max(0, result.endedAtMs - result.startedAtMs),
    attempts: result.attempts,
    usd,
    usdSource,
    at: result.endedAtMs,
  };
  if (context.plan !== undefined) record.plan = context.plan;
  if (context.agent !== undefined) record.agent = context.agent;
  if (context.tools !== undefined) record.backend = free?.backend ?? REMOTE_BACKEND;
  const call = measured?.modelCall;
  if (!call) return { step: record };
  const modelCall: ModelCallRecord = {
    runId: context.runId,
    agent: context.agent ?? DEFAULT_STEP_AGENT,
    model: call.model,
    inputTokens: call.inputTokens,
    outputTokens: call.outputTokens,
    cachedTokens: call.cachedTokens,
    usd: call.usd,
    known: call.known,
    at: result.endedAtMs,
    stepId: result.id,
  };
  return { step: record, modelCall };
}

/** StepRecord.backend of a tool whose server published no backend estimate: a cloud API, a model, a third-party server. */
export const REMOTE_BACKEND = "remote";

/** The agent a tool-reported model call is booked under when its step names none. */
export const DEFAULT_STEP_AGENT = "default";


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

/**
 * What a tool reported it cost — a `cost_usd` (`costUsd`, `usd`), or the model usage it reported
 * priced with `pricing` — if it did (see measuredCost).
 */
export function measuredUsd(output: unknown, pricing: Pricing = DEFAULT_PRICING): number | undefined {
  return measuredCost(output, pricing)?.usd;
}
