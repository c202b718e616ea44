import { interpolate, isRecord } from "../plan/interpolate.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import { maskSecrets } from "../secrets.ts";
import { awaitBudget, isStopped, type ExecutorDeps } from "./schedule.ts";
import type { StepResult } from "./run-step.ts";
import type { ExecState, ExecUpdate } from "./state.ts";

/**
 * The routing of the `graph` scheduler: the plan compiled as its own graph, one node per step
 * (graphs/plan-graph.ts). The node names of its own three nodes hold a "." so that they can never be
 * a step id (a step id is letters, digits, "_" and "-").
 */
export const PLAN_NODES = { prepare: "run.prepare", settle: "run.settle", compensate: "run.compensate" } as const;

type Stop = Pick<ExecutorDeps, "stopSignal" | "cancelSignal">;

/** A step that has run for good: held steps run again once the budget is approved. */
const isDone = (r: StepResult | undefined): boolean => r !== undefined && r.status !== "held";
const isBad = (r: StepResult): boolean => r.status === "failed" || r.status === "skipped";

/** Steps that have not run for good and whose dependencies all succeeded. */
export function frontier(prepared: PreparedPlan, results: Record<string, StepResult>): string[] {
  return prepared.order.filter((id) => !isDone(results[id]) && (prepared.deps[id] ?? []).every((d) => results[d]?.status === "succeeded"));
}

/** Step id → the steps that depend on it (declared and implied), in the plan's order. */
export function dependentsOf(prepared: PreparedPlan): Record<string, string[]> {
  const out: Record<string, string[]> = Object.fromEntries(prepared.order.map((id) => [id, []]));
  for (const id of prepared.order) for (const d of prepared.deps[id] ?? []) out[d]!.push(id);
  return out;
}

/** After prepare: the steps with nothing to wait for (or, on a re-run of held steps, the ready ones). */
export function afterPlanPrepare(state: ExecState, deps: Stop): string[] {
  if (state.status === "invalid") return [];
  if (isStopped(deps)) return [PLAN_NODES.settle];
  const ready = frontier(state.prepared!, state.results);
  return ready.length > 0 ? ready : [PLAN_NODES.settle];
}

/**
 * After step `id`: every dependent that has just become ready. A router sees the state before this
 * superstep plus this step's own result, not the results of the steps running beside it. Those are
 * exactly the steps that were ready before the superstep (`frontier` of the state without this
 * step), and they all finish before the next superstep starts; so a dependent whose dependencies
 * are all finished or running now is ready next. Several routers may name the same dependent: it
 * runs once, and, started by name rather than by a `Send` payload, it reads the whole state, with
 * the results of every step that ran beside this one. A failure, a stop, a held call, or nothing
 * left to start goes to the deferred settle node, which runs once every branch has finished.
 */
export function afterPlanStep(id: string, state: ExecState, dependents: Record<string, string[]>, deps: Stop): string[] {
  const prepared = state.prepared!;
  const results = state.results;
  if (isStopped(deps) || results[id]?.status === "held" || Object.values(results).some(isBad)) return [PLAN_NODES.settle];
  const before = { ...results };
  delete before[id];
  const running = new Set(frontier(prepared, before));
  const finishes = (d: string): boolean => before[d]?.status === "succeeded" || running.has(d);
  const next = (dependents[id] ?? []).filter((d) => !isDone(before[d]) && !running.has(d) && (prepared.deps[d] ?? []).every(finishes));
  if (next.length > 0) return next;
  // Nothing new starts from here; the last branch to finish settles the run.
  return prepared.order.every((s) => isDone(before[s]) || running.has(s)) ? [PLAN_NODES.settle] : [];
}

/**
 * A step node of a run a person stopped at a breakpoint (`stop` in the state): the step does not
 * start; being skipped, it sends the run to settle and then to compensate, which rolls back the
 * finished steps and ends the run `cancelled`.
 */
export function stoppedStep(id: string, prepared: PreparedPlan): ExecUpdate {
  const t = prepared.tools[id];
  const now = Date.now();
  const result: StepResult = { id, tool: t ? `${t.server}.${t.tool}` : "", status: "skipped", attempts: 0, startedAtMs: now, endedAtMs: now, reason: "the run was stopped at a breakpoint" };
  return { results: { [id]: result } };
}

/** Once every branch has finished: when calls were held by the running budget (and nothing failed), the budget question. */
export function settlePlan(state: ExecState, deps: Stop): ExecUpdate {
  const results = Object.values(state.results);
  if (isStopped(deps) || results.some(isBad) || !results.some((r) => r.status === "held")) return {};
  return awaitBudget(state);
}

/** After settling: held steps approved run again (and what they waited for); else the end, with rollback when needed. */
export function afterPlanSettle(state: ExecState, deps: Stop): string[] {
  if (isStopped(deps) || Object.values(state.results).some(isBad)) return [PLAN_NODES.compensate];
  const ready = frontier(state.prepared!, state.results);
  return ready.length > 0 ? ready : [PLAN_NODES.compensate];
}

/** A run paused before breakpoint steps (`--break-before`, or LangGraph's `interruptBefore` of the step nodes). */
export interface BreakpointRequest {
  kind: "breakpoint";
  question: string;
  /** The steps about to start, each with its tool and its inputs resolved as the call would get them. */
  steps: { id: string; tool: string; inputs: unknown }[];
}

/**
 * What a person sees at a breakpoint: each paused step's params after interpolation of the finished
 * steps' outputs. Outputs hold secret handles, never the values (the step runner reveals them only
 * in the call), and what is left is masked once more, so a paused step's inputs are safe to print.
 */
export function breakpointRequest(prepared: PreparedPlan, results: Record<string, StepResult>, breakBefore: readonly string[]): BreakpointRequest | undefined {
  const at = new Set(breakBefore);
  const paused = frontier(prepared, results).filter((id) => at.has(id));
  if (paused.length === 0) return undefined;
  const outputs = Object.fromEntries(Object.values(results).filter((r) => r.status === "succeeded").map((r) => [r.id, r.output]));
  const steps = paused.map((id) => {
    const step = prepared.plan.steps.find((s) => s.id === id)!;
    const t = prepared.tools[id];
    let inputs: unknown;
    try {
      inputs = shown(interpolate(step.params, { steps: outputs, params: prepared.params }));
    } catch (error) {
      inputs = { error: maskSecrets(error instanceof Error ? error.message : String(error)) };
    }
    return { id, tool: t ? `${t.server}.${t.tool}` : step.tool, inputs };
  });
  const names = paused.map((id) => `"${id}"`).join(", ");
  return { kind: "breakpoint", question: `paused before ${paused.length === 1 ? "step" : "steps"} ${names}`, steps };
}

const SECRET_KEY = /^(password|token|api_key|apikey|secret|rest_token|read_only_rest_token)$/i;

/** A value as a person may see it: secret handles as they are, anything else that looks secret masked. */
function shown(value: unknown, key = ""): unknown {
  if (typeof value === "string") return value.startsWith("secret://") ? value : SECRET_KEY.test(key) ? "[redacted]" : maskSecrets(value);
  if (Array.isArray(value)) return value.map((v) => shown(v));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shown(v, k)]));
  return value;
}
