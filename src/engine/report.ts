import { criticalPath } from "../plan/dag.ts";
import { formatProblem } from "../plan/validate.ts";
import type { CompensationResult, StepOutcome } from "./compensate.ts";
import type { StepResult } from "./run-step.ts";
import type { ExecState, RunStatus } from "./state.ts";

/** Two steps that ran at the same time. */
export interface Overlap {
  a: string;
  b: string;
  ms: number;
}

/** What the executor did, as the report shows it. */
export interface Execution {
  status: RunStatus;
  /** In plan order; outputs carry `secret://` handles, never secrets. */
  steps: StepResult[];
  timing: { makespanMs: number; criticalPathMs: number; sequentialMs: number; speedup: number; overlaps: Overlap[] };
  compensations: CompensationResult[];
  /** Per finished step after a failure or stop: undone, nothing to undo, left behind, undo failed. */
  outcomes: StepOutcome[];
  /** Steps whose effects may still exist: no undo, or the undo failed. */
  leftBehind: string[];
  problems: string[];
  notes: string[];
}

/** The executor's part of a run's report, from its state. */
export function summarizeExecution(state: Pick<ExecState, "prepared" | "results" | "compensations" | "outcomes" | "status" | "problems">): Execution {
  const prepared = state.prepared;
  const order = prepared?.order ?? [];
  const steps = order.map((id) => state.results[id]).filter((r): r is StepResult => r !== undefined);
  const ran = steps.filter((s) => s.status === "succeeded" || s.status === "failed");
  const duration = (id: string): number => {
    const r = state.results[id];
    return r && (r.status === "succeeded" || r.status === "failed") ? r.endedAtMs - r.startedAtMs : 0;
  };
  const makespanMs = ran.length ? Math.max(...ran.map((s) => s.endedAtMs)) - Math.min(...ran.map((s) => s.startedAtMs)) : 0;
  const sequentialMs = ran.reduce((sum, s) => sum + (s.endedAtMs - s.startedAtMs), 0);
  const cp = prepared ? criticalPath(order, prepared.deps, duration).ms : 0;
  return {
    status: state.status,
    steps,
    timing: { makespanMs, criticalPathMs: cp, sequentialMs, speedup: makespanMs > 0 ? round(sequentialMs / makespanMs) : 1, overlaps: overlaps(ran) },
    compensations: state.compensations,
    outcomes: state.outcomes,
    leftBehind: state.outcomes.filter((o) => o.outcome === "left_behind" || o.outcome === "undo_failed").map((o) => o.step),
    problems: state.problems.map(formatProblem),
    notes: prepared?.notes ?? [],
  };
}

/** Exit codes of a finished run: 0 succeeded, 1 failed (rolled back or not), 2 invalid input. */
export function exitCodeOf(status: RunStatus): number {
  if (status === "succeeded") return 0;
  if (status === "invalid") return 2;
  return 1;
}

/** Every pair of steps whose run times intersect, with how long they overlapped. */
function overlaps(ran: readonly StepResult[]): Overlap[] {
  const out: Overlap[] = [];
  for (let i = 0; i < ran.length; i++) {
    for (let j = i + 1; j < ran.length; j++) {
      const a = ran[i]!;
      const b = ran[j]!;
      const ms = Math.min(a.endedAtMs, b.endedAtMs) - Math.max(a.startedAtMs, b.startedAtMs);
      if (ms > 0) out.push({ a: a.id, b: b.id, ms });
    }
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
