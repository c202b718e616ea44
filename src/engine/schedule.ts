import { setMaxListeners } from "node:events";
import { Send, task, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { ProgressUpdate } from "../mcp/client.ts";
import type { Scope } from "../plan/interpolate.ts";
import type { Step } from "../plan/schema.ts";
import { validatePlan, type PreparedPlan, type Problem } from "../plan/validate.ts";
import { planCompensations, runCompensation, type CompensationResult } from "./compensate.ts";
import { runStep, type RunContext, type StepResult } from "./run-step.ts";
import { savedResults } from "./saved-results.ts";

export type Scheduler = "asap" | "waves";
export type RunStatus = "pending" | "invalid" | "succeeded" | "rolled_back" | "compensation_failed" | "cancelled";

/** The executor state as the nodes see it (declared for LangGraph in graphs/state.ts). */
export interface ExecState {
  plan: unknown;
  params: Record<string, unknown>;
  allowDestructive: boolean;
  scheduler: Scheduler;
  prepared?: PreparedPlan;
  problems: Problem[];
  results: Record<string, StepResult>;
  compensations: CompensationResult[];
  status: RunStatus;
  stepId?: string;
}

export type StepEvent =
  | { type: "step_started"; id: string; tool: string }
  | { type: "step_progress"; id: string; progress: number; total?: number; message?: string }
  | { type: "step_finished"; result: StepResult }
  | { type: "compensation_finished"; result: CompensationResult };

export interface ExecutorDeps {
  /** The tools and limits to run with; created lazily, once per process. */
  context(): Promise<RunContext>;
  /** When aborted, no new step starts; in-flight steps finish, then finished steps are rolled back. */
  stopSignal?: AbortSignal;
  /**
   * A harder stop: as `stopSignal`, and the calls in flight are cancelled too (the MCP server gets
   * `notifications/cancelled`); their steps fail as CANCELLED and the run ends `cancelled`.
   */
  cancelSignal?: AbortSignal;
  onEvent?(event: StepEvent): void;
}

/** Validates the plan against the loaded tools; an invalid plan ends the run before any step. */
export async function prepare(state: ExecState, deps: ExecutorDeps): Promise<Omit<Partial<ExecState>, "results"> & { results: null }> {
  const ctx = await deps.context();
  const validation = validatePlan(state.plan, {
    tools: ctx.caller.tools,
    params: state.params,
    allow: ctx.allow,
    untrusted: ctx.untrusted,
    allowDestructive: state.allowDestructive,
  });
  if (!validation.ok) return { prepared: undefined, problems: validation.problems, status: "invalid", results: null, compensations: [] };
  return { prepared: validation.prepared, problems: [], status: "pending", results: null, compensations: [] };
}

/**
 * LangGraph's cost per task grows with the number of tasks in one superstep, so a very large plan
 * runs in segments of this many steps (one superstep each); plans up to this size run in one.
 */
export const ASAP_SEGMENT = 250;

// Inside LangGraph every running task adds an abort listener to the run's signal. Raise Node's
// default limit (10) for new signals so that parallel steps print no false "memory leak" warning.
setMaxListeners(ASAP_SEGMENT + 50);

/**
 * asap: one Functional API task per step, created up front in topological order (task identity is
 * call order + name), each awaiting its own dependencies. A step starts the moment their results
 * are saved (see saved-results.ts); every result is checkpointed as it lands, so a resumed run
 * does not call finished steps again.
 * Steps finished in earlier segments are read from state.
 */
export async function runAsap(state: ExecState, deps: ExecutorDeps, config?: LangGraphRunnableConfig): Promise<Partial<ExecState>> {
  const prepared = state.prepared!;
  const ctx = await deps.context();
  const saved = savedResults(config);
  const steps = stepsById(prepared);
  const earlier = new Map(Object.values(state.results).map((r) => [r.id, Promise.resolve(r)]));
  const promises = new Map<string, Promise<StepResult>>(earlier);
  let failed = Object.values(state.results).some((r) => r.status !== "succeeded");
  for (const id of prepared.order.filter((id) => !earlier.has(id)).slice(0, ASAP_SEGMENT)) {
    const depIds = prepared.deps[id] ?? [];
    const run = durableTask(`step:${id}`, async () => {
      const depResults = await Promise.all(depIds.map((d) => promises.get(d)!));
      await saved(depIds);
      const blocked = skipReason(depResults, failed, isStopped(deps));
      if (blocked) return skipped(id, prepared, blocked);
      return execute(steps.get(id)!, prepared, scopeOf(depResults, prepared), ctx, deps);
    });
    const promise = run().then((result) => {
      if (result.status === "failed") failed = true;
      return result;
    });
    promise.catch(() => {});
    promises.set(id, promise);
  }
  const results = await Promise.all([...promises.entries()].filter(([id]) => !earlier.has(id)).map(([, p]) => p));
  return { results: Object.fromEntries(results.map((r) => [r.id, r])) };
}

/** After an asap segment: another segment while steps are left and nothing failed or stopped. */
export function afterAsapSegment(state: ExecState): "runAsap" | "compensate" {
  const results = Object.values(state.results);
  const done = results.length === state.prepared!.order.length || results.some((r) => r.status !== "succeeded");
  return done ? "compensate" : "runAsap";
}

/** waves: every ready step is `Send` to `runStep`; a failure or a stop sends nothing more. */
export function dispatchWave(state: ExecState, deps: Pick<ExecutorDeps, "stopSignal" | "cancelSignal">): Send[] | "compensate" {
  const prepared = state.prepared!;
  const results = Object.values(state.results);
  if (isStopped(deps) || results.some((r) => r.status !== "succeeded")) return "compensate";
  const ready = prepared.order.filter(
    (id) => !(id in state.results) && (prepared.deps[id] ?? []).every((d) => state.results[d]?.status === "succeeded"),
  );
  if (ready.length === 0) return "compensate";
  return ready.map((id) => new Send("runStep", { ...state, stepId: id }));
}

export async function runWaveStep(state: ExecState, deps: ExecutorDeps): Promise<Partial<ExecState>> {
  const prepared = state.prepared!;
  const id = state.stepId!;
  const ctx = await deps.context();
  const depResults = (prepared.deps[id] ?? []).map((d) => state.results[d]!);
  const blocked = skipReason(depResults, false, isStopped(deps));
  const result = blocked
    ? skipped(id, prepared, blocked)
    : await execute(stepsById(prepared).get(id)!, prepared, scopeOf(depResults, prepared), ctx, deps);
  return { results: { [id]: result } };
}

/**
 * After the DAG: when a step failed or the run was stopped, undo the finished steps in reverse
 * dependency order, one task each (checkpointed); a failing compensation does not stop the rest.
 */
export async function compensate(state: ExecState, deps: ExecutorDeps): Promise<Partial<ExecState>> {
  const prepared = state.prepared!;
  const results = withSkipped(state.results, prepared);
  // A call cancelled by a stop failed because of the stop, not on its own: the run is cancelled.
  const anyFailed = Object.values(results).some((r) => r.status === "failed" && r.error?.code !== "CANCELLED");
  const stopped = !anyFailed && Object.values(results).some((r) => r.status === "skipped" || r.status === "failed");
  if (!anyFailed && !stopped) return { results, status: "succeeded" };

  const ctx = await deps.context();
  const scope: Scope = { steps: outputs(results), params: prepared.params };
  const compensations: CompensationResult[] = [];
  for (const comp of planCompensations(prepared, results, ctx.caller.tools)) {
    const result = await durableTask(`rollback:${comp.step}`, () => runCompensation(comp, scope, ctx))();
    deps.onEvent?.({ type: "compensation_finished", result });
    compensations.push(result);
  }
  const status = compensations.some((c) => c.status === "failed") ? "compensation_failed" : stopped ? "cancelled" : "rolled_back";
  return { results, compensations, status };
}

async function execute(step: Step, prepared: PreparedPlan, scope: Scope, ctx: RunContext, deps: ExecutorDeps): Promise<StepResult> {
  const resolved = prepared.tools[step.id]!;
  deps.onEvent?.({ type: "step_started", id: step.id, tool: `${resolved.server}.${resolved.tool}` });
  const onProgress = deps.onEvent && ((update: ProgressUpdate) => deps.onEvent?.({ type: "step_progress", id: step.id, ...update }));
  const result = await runStep(step, resolved, scope, { ...ctx, signal: deps.cancelSignal, ...(onProgress ? { onProgress } : {}) });
  deps.onEvent?.({ type: "step_finished", result });
  return result;
}

/** A LangGraph task: its result is checkpointed; on resume a finished task returns its saved result. */
function durableTask<T>(name: string, fn: () => Promise<T>): () => Promise<T> {
  return task(name, fn) as unknown as () => Promise<T>;
}

function isStopped(deps: Pick<ExecutorDeps, "stopSignal" | "cancelSignal">): boolean {
  return deps.stopSignal?.aborted === true || deps.cancelSignal?.aborted === true;
}

function skipReason(depResults: StepResult[], failed: boolean, stopped: boolean): string | undefined {
  const bad = depResults.find((r) => r.status !== "succeeded");
  if (bad) return `dependency "${bad.id}" ${bad.status}`;
  if (failed) return "another step failed";
  if (stopped) return "the run was stopped";
  return undefined;
}

function skipped(id: string, prepared: PreparedPlan, reason: string): StepResult {
  const resolved = prepared.tools[id];
  const now = Date.now();
  return { id, tool: resolved ? `${resolved.server}.${resolved.tool}` : "", status: "skipped", attempts: 0, startedAtMs: now, endedAtMs: now, reason };
}

/** Steps a wave run never reached are reported as skipped. */
function withSkipped(results: Record<string, StepResult>, prepared: PreparedPlan): Record<string, StepResult> {
  const out = { ...results };
  for (const id of prepared.order) out[id] ??= skipped(id, prepared, "not started: the run ended before it");
  return out;
}

function scopeOf(depResults: StepResult[], prepared: PreparedPlan): Scope {
  return { steps: Object.fromEntries(depResults.map((r) => [r.id, r.output])), params: prepared.params };
}

function outputs(results: Record<string, StepResult>): Record<string, unknown> {
  return Object.fromEntries(Object.values(results).filter((r) => r.status === "succeeded").map((r) => [r.id, r.output]));
}

function stepsById(prepared: PreparedPlan): Map<string, Step> {
  return new Map(prepared.plan.steps.map((s) => [s.id, s]));
}
