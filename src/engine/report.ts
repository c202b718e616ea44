import { criticalPath } from "../plan/dag.ts";
import { formatProblem, type Problem } from "../plan/validate.ts";
import type { CompensationResult } from "./compensate.ts";
import type { StepResult } from "./run-step.ts";
import type { ExecState, RunStatus } from "./schedule.ts";

export interface RunReport {
  threadId: string;
  plan: string;
  status: RunStatus;
  steps: StepResult[];
  timing: { makespanMs: number; criticalPathMs: number; sequentialMs: number; speedup: number };
  compensations: CompensationResult[];
  /** Steps that created something whose rollback failed: it may still exist. */
  leftBehind: string[];
  problems: string[];
  notes: string[];
}

/** The JSON report of one executor run, from its final state. */
export function buildRunReport(threadId: string, state: ExecState): RunReport {
  const prepared = state.prepared;
  const order = prepared?.order ?? [];
  const steps = order.map((id) => state.results[id]).filter((r): r is StepResult => r !== undefined);
  const ran = steps.filter((s) => s.status !== "skipped");
  const duration = (id: string): number => {
    const r = state.results[id];
    return r && r.status !== "skipped" ? r.endedAtMs - r.startedAtMs : 0;
  };
  const makespanMs = ran.length ? Math.max(...ran.map((s) => s.endedAtMs)) - Math.min(...ran.map((s) => s.startedAtMs)) : 0;
  const sequentialMs = ran.reduce((sum, s) => sum + (s.endedAtMs - s.startedAtMs), 0);
  const cp = prepared ? criticalPath(order, prepared.deps, duration).ms : 0;
  return {
    threadId,
    plan: prepared?.plan.name ?? planName(state.plan),
    status: state.status,
    steps,
    timing: { makespanMs, criticalPathMs: cp, sequentialMs, speedup: makespanMs > 0 ? round(sequentialMs / makespanMs) : 1 },
    compensations: state.compensations,
    leftBehind: state.compensations.filter((c) => c.status === "failed").map((c) => c.step),
    problems: state.problems.map((p: Problem) => formatProblem(p)),
    notes: prepared?.notes ?? [],
  };
}

/** Exit codes: 0 succeeded, 1 failed (rolled back or not), 2 invalid input. */
export function exitCodeOf(status: RunStatus): number {
  if (status === "succeeded") return 0;
  if (status === "invalid") return 2;
  return 1;
}

function planName(plan: unknown): string {
  const name = (plan as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : "(unnamed plan)";
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
