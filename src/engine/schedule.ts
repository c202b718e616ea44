import { setMaxListeners } from "node:events";
import { interrupt, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { createBudgetGuard, type BudgetGuardOptions, type BudgetLimit, type GuardCheck } from "../cost/budget.ts";
import { measuredUsd } from "../cost/recorder.ts";
import type { ProgressUpdate } from "../mcp/client.ts";
import type { Scope } from "../plan/interpolate.ts";
import type { Step } from "../plan/schema.ts";
import { validatePlan, type PreparedPlan } from "../plan/validate.ts";
import { createCallGate, pinMessage } from "../policy/gate.ts";
import { parseAnswer, type BudgetRequest } from "./approval.ts";
import { breakpointProblems } from "./breakpoints.ts";
import { outcomeOf, planCompensations, runCompensation, undoneWithOthers, type CompensationResult } from "./compensate.ts";
import { runStep, type RunContext, type StepResult } from "./run-step.ts";
import { nodeJournal } from "./step-journal.ts";
import type { ExecState, ExecUpdate, RunStatus } from "./state.ts";
import type { StepEvent } from "./step-event.ts";

export type { ExecState, RunStatus, Scheduler } from "./state.ts";

/** The running budget of an orchestrated run: caps, what it may spend, and other runs' spend (`committed`, read live). */
export type RunBudget = Omit<BudgetGuardOptions, "runSpentUsd" | "approved"> & {
  /** Spend of this run outside its steps (the model calls that planned it). */
  otherUsd: number;
};

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
  /** The running budget; without it calls are never held for budget. */
  budget?: RunBudget;
}

/** Validates the plan once (unless it comes prepared); a prepared plan is checked again only for what can change: pins. */
export async function prepare(state: ExecState, deps: ExecutorDeps): Promise<ExecUpdate> {
  const ctx = await deps.context();
  const fresh = { results: state.carried ?? null, compensations: [], outcomes: [], budgetApproved: [] };
  if (state.prepared) {
    const changed = Object.entries(state.prepared.tools).flatMap(([step, t]) => {
      const diff = ctx.untrusted?.[t.server];
      return diff ? [{ step, field: "tool", message: pinMessage(t.server, diff) }] : [];
    });
    const problems = [...changed, ...breakpointProblems(state.prepared, state.breakBefore, state.scheduler)];
    if (problems.length > 0) return { ...fresh, problems, status: "invalid" };
    return { ...fresh, problems: [], status: "pending" };
  }
  const validation = validatePlan(state.plan, { tools: ctx.caller.tools, params: state.params, allow: ctx.allow, untrusted: ctx.untrusted });
  if (!validation.ok) return { ...fresh, prepared: undefined, problems: validation.problems, status: "invalid" };
  const problems = breakpointProblems(validation.prepared, state.breakBefore, state.scheduler);
  if (problems.length > 0) return { ...fresh, prepared: validation.prepared, problems, status: "invalid" };
  return { ...fresh, prepared: validation.prepared, problems: [], status: "pending" };
}

// Every call in flight adds an abort listener to the run's cancel signal, and LangGraph one per
// running task to its own signals: as many as a plan runs at once, which has no bound. No limit for
// new signals, so that a wide plan prints no false "memory leak" warning.
setMaxListeners(0);

/**
 * asap: every step of the plan in this one node, each started the moment its own dependencies'
 * results are journaled (step-journal.ts) — no superstep, no barrier, O(1) work per step. A node
 * re-run after a kill takes the steps it journaled as done and does not call them again. Steps
 * finished in an earlier superstep are read from state; steps held by the budget run again in the
 * superstep after the approval.
 */
export async function runAsap(state: ExecState, deps: ExecutorDeps, config?: LangGraphRunnableConfig): Promise<ExecUpdate> {
  const prepared = state.prepared!;
  const node = runContext(await deps.context(), state, deps);
  const journal = await nodeJournal(config);
  const steps = stepsById(prepared);
  const promises = new Map<string, Promise<StepResult>>();
  const fresh: Promise<StepResult>[] = [];
  let failed = Object.values(state.results).some((r) => r.status !== "succeeded" && r.status !== "held");
  for (const id of prepared.order) {
    const earlier = state.results[id];
    if (earlier && earlier.status !== "held") {
      promises.set(id, Promise.resolve(earlier));
      continue;
    }
    const promise = Promise.all((prepared.deps[id] ?? []).map((d) => promises.get(d)!))
      .then((depResults) =>
        journal.run(`step:${id}`, { name: `step:${id}`, metadata: { step_id: id } }, async () => {
          const blocked = blockedBy(depResults, failed, isStopped(deps));
          return blocked ? notRun(id, prepared, blocked) : execute(steps.get(id)!, prepared, scopeOf(depResults, prepared), node, deps);
        }),
      )
      .then((result) => {
        node.landed(result);
        if (result.status === "failed") failed = true;
        return result;
      });
    // The journal could not be written: the node fails, and no step starts after it.
    promise.catch(() => (failed = true));
    promises.set(id, promise);
    fresh.push(promise);
  }
  const results = await Promise.all(fresh);
  return { results: Object.fromEntries(results.map((r) => [r.id, r])) };
}

/** After asap: the budget question when steps are held, else compensate (which also settles a clean run). */
export function afterAsap(state: ExecState): "budget" | "compensate" {
  const results = Object.values(state.results);
  const ended = results.some((r) => r.status === "failed" || r.status === "skipped");
  return !ended && results.some((r) => r.status === "held") ? "budget" : "compensate";
}

/** One step on its own: a step node of the graph scheduler (graphs/plan-graph.ts). */
export async function runOneStep(state: ExecState, deps: ExecutorDeps): Promise<ExecUpdate> {
  const prepared = state.prepared!;
  const id = state.stepId!;
  const node = runContext(await deps.context(), state, deps);
  const depResults = (prepared.deps[id] ?? []).map((d) => state.results[d]!);
  // Under the graph scheduler a step can start beside a sibling's failure it could not see when it was routed.
  const failed = Object.values(state.results).some((r) => r.status === "failed");
  const blocked = blockedBy(depResults, failed, isStopped(deps));
  const result = blocked
    ? notRun(id, prepared, blocked)
    : await execute(stepsById(prepared).get(id)!, prepared, scopeOf(depResults, prepared), node, deps);
  return { results: { [id]: result } };
}

/**
 * The running budget crossed: the calls in flight have finished and the held ones wait here. An
 * `interrupt()` asks (terminal, chat, `resume --approve|--reject`, Studio, the SDK's
 * `Command({ resume })`); with nobody to ask the run pauses, resumable. No side effects before it.
 */
export function awaitBudget(state: ExecState): ExecUpdate {
  const held = Object.values(state.results).filter((r) => r.status === "held");
  const own = held.filter((r) => r.heldBy !== undefined);
  const request: BudgetRequest = {
    kind: "budget",
    question: `${own[0]?.reason ?? "the run's budget is spent"}. Go on?`,
    reasons: [...new Set(own.map((r) => r.reason ?? ""))],
    held: held.map((r) => r.id),
  };
  const answer = parseAnswer(interrupt<BudgetRequest, unknown>(request));
  if (answer.approved) {
    const limits = own.map((r) => r.heldBy as BudgetLimit);
    return { budgetApproved: [...new Set([...state.budgetApproved, ...limits])] };
  }
  const now = Date.now();
  const declined = held.map((r): StepResult =>
    r.heldBy !== undefined
      ? { ...r, status: "failed", startedAtMs: now, endedAtMs: now, error: { code: "BUDGET_DECLINED", message: `step "${r.id}" not started: ${r.reason}; going on was declined`, retryable: false } }
      : { ...r, status: "skipped", startedAtMs: now, endedAtMs: now, reason: "going past the budget was declined" },
  );
  return { results: Object.fromEntries(declined.map((r) => [r.id, r])) };
}

/** After the budget question (asap; the graph scheduler settles its own): go on, or roll back. */
export function afterBudget(state: ExecState): "runAsap" | "compensate" {
  return Object.values(state.results).some((r) => r.status === "failed") ? "compensate" : "runAsap";
}

/**
 * After the DAG: when a step failed or the run was stopped, undo the finished steps in reverse
 * dependency order, each journaled as it ends (a re-run node does not undo twice); a failing
 * compensation does not stop the rest.
 * Every finished step ends undone, with nothing to undo, left behind, or with its undo failed.
 */
export async function compensate(state: ExecState, deps: ExecutorDeps, config?: LangGraphRunnableConfig): Promise<ExecUpdate> {
  const prepared = state.prepared!;
  // Opened first: that also deletes the steps' journal (their results are in the checkpoint now).
  const journal = await nodeJournal(config);
  const results = withSkipped(state.results, prepared);
  // A call cancelled by a stop failed because of the stop, not on its own: the run is cancelled.
  const anyFailed = Object.values(results).some((r) => r.status === "failed" && r.error?.code !== "CANCELLED");
  const stopped = !anyFailed && (state.undoAll || Object.values(results).some((r) => r.status === "skipped" || r.status === "failed"));
  // A clean run skipped nothing, so its results are the state's already: writing them again would
  // copy and checkpoint every step's result a second time (10,000 of them on a large plan).
  if (!anyFailed && !stopped) return { status: "succeeded" };
  // A failure the architect may still repair: nothing is undone yet (the orchestrator replans, then
  // runs on or comes back here to roll back).
  // A person's "no" to the budget, or a stop, is not a failure to repair.
  const declined = Object.values(results).some((r) => r.error?.code === "BUDGET_DECLINED");
  if (anyFailed && state.deferRollback && !declined && !isStopped(deps)) return { results, status: "failed" };

  const { ctx } = runContext(await deps.context(), state, deps);
  const scope: Scope = { steps: outputs(results), params: prepared.params };
  const { compensations: planned, rest } = planCompensations(prepared, results, ctx.caller.tools);
  const compensations: CompensationResult[] = [];
  for (const comp of planned) {
    const result = await journal.run(`rollback:${comp.step}`, { name: `rollback:${comp.step}`, metadata: { rollback_of: comp.step } }, () => runCompensation(comp, scope, ctx));
    deps.onEvent?.({ type: "compensation_finished", result });
    compensations.push(result);
  }
  const outcomes = [...compensations.map(outcomeOf), ...undoneWithOthers(rest, compensations, prepared, ctx.caller.tools)];
  const status: RunStatus = compensations.some((c) => c.status === "failed")
    ? "compensation_failed"
    : outcomes.some((o) => o.outcome === "left_behind")
      ? "partially_rolled_back"
      : stopped
        ? "cancelled"
        : "rolled_back";
  return { results, compensations, outcomes, status };
}

/** The run context of one node: the process's tools and limits, behind this run's policy gate. */
interface NodeContext {
  ctx: RunContext;
  /** A step's result landed: the budget counts it before the next call. */
  landed(result: StepResult): void;
}

function runContext(base: RunContext, state: ExecState, deps: ExecutorDeps): NodeContext {
  const spend = runningSpend(state);
  const budget = deps.budget ? budgetCheck(deps.budget, state, spend) : undefined;
  const gate = createCallGate({ tools: base.caller.tools, allow: base.allow, untrusted: base.untrusted, allowDestructive: state.allowDestructive, budget });
  return { ctx: { ...base, gate }, landed: spend.landed };
}

/** What this run's steps have spent (measured, else declared), kept as a running sum: O(1) per landed result. */
function runningSpend(state: ExecState): { landed(result: StepResult): void; usd(): number } {
  const declared = new Map((state.prepared?.plan.steps ?? []).map((s) => [s.id, s.estimate?.usd ?? 0]));
  const usdOf = (r: StepResult): number => (r.status === "succeeded" || r.status === "failed" ? (measuredUsd(r.output) ?? declared.get(r.id) ?? 0) : 0);
  const byStep = new Map<string, number>();
  let total = 0;
  const landed = (result: StepResult): void => {
    const usd = usdOf(result);
    total += usd - (byStep.get(result.id) ?? 0);
    byStep.set(result.id, usd);
  };
  for (const result of Object.values(state.results)) landed(result);
  return { landed, usd: () => total };
}

/** Before each call: this run's spend (its steps as they land, plus planning) and other runs' spend, against the limits. */
function budgetCheck(budget: RunBudget, state: ExecState, spend: { usd(): number }): () => Promise<GuardCheck> {
  const guard = createBudgetGuard({ ...budget, approved: state.budgetApproved, runSpentUsd: () => budget.otherUsd + spend.usd() });
  return async () => {
    await guard.refresh();
    return guard.check();
  };
}

async function execute(step: Step, prepared: PreparedPlan, scope: Scope, node: NodeContext, deps: ExecutorDeps): Promise<StepResult> {
  const resolved = prepared.tools[step.id]!;
  deps.onEvent?.({ type: "step_started", id: step.id, tool: `${resolved.server}.${resolved.tool}` });
  const onProgress = deps.onEvent && ((update: ProgressUpdate) => deps.onEvent?.({ type: "step_progress", id: step.id, ...update }));
  const result = await runStep(step, resolved, scope, { ...node.ctx, signal: deps.cancelSignal, ...(onProgress ? { onProgress } : {}) });
  if (result.status !== "held") deps.onEvent?.({ type: "step_finished", result });
  return result;
}

type Blocked = { status: "skipped" | "held"; reason: string };

export function isStopped(deps: Pick<ExecutorDeps, "stopSignal" | "cancelSignal">): boolean {
  return deps.stopSignal?.aborted === true || deps.cancelSignal?.aborted === true;
}

function blockedBy(depResults: StepResult[], failed: boolean, stopped: boolean): Blocked | undefined {
  const held = depResults.find((r) => r.status === "held");
  const bad = depResults.find((r) => r.status !== "succeeded" && r.status !== "held");
  if (bad) return { status: "skipped", reason: `dependency "${bad.id}" ${bad.status}` };
  if (failed) return { status: "skipped", reason: "another step failed" };
  if (stopped) return { status: "skipped", reason: "the run was stopped" };
  if (held) return { status: "held", reason: `waiting for "${held.id}", held by the budget` };
  return undefined;
}

function notRun(id: string, prepared: PreparedPlan, blocked: Blocked): StepResult {
  const resolved = prepared.tools[id];
  const now = Date.now();
  return { id, tool: resolved ? `${resolved.server}.${resolved.tool}` : "", status: blocked.status, attempts: 0, startedAtMs: now, endedAtMs: now, reason: blocked.reason };
}

/** Steps a run never reached (or left held) are reported as skipped. */
function withSkipped(results: Record<string, StepResult>, prepared: PreparedPlan): Record<string, StepResult> {
  const out = { ...results };
  for (const id of prepared.order) {
    const r = out[id];
    if (!r) out[id] = notRun(id, prepared, { status: "skipped", reason: "not started: the run ended before it" });
    else if (r.status === "held") out[id] = { ...r, status: "skipped", reason: `not started: ${r.reason}` };
  }
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
