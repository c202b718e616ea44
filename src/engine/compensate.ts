import { findTool, type ResolvedTool } from "../mcp/catalog.ts";
import { UNDONE_WITH_META_KEY } from "../mcp/tool-meta.ts";
import type { CallOrigin } from "../policy/gate.ts";
import { isRecord, type Scope } from "../plan/interpolate.ts";
import type { Step } from "../plan/schema.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import { runStep, type RunContext, type StepResult } from "./run-step.ts";

/** The call that undoes one finished step. */
export interface Compensation {
  /** The step being undone. */
  step: string;
  agent?: string;
  tool: ResolvedTool;
  params: Record<string, unknown>;
  /** A rollback the plan declares is gated like a step; one a create call returned is trusted by origin. */
  origin: Extract<CallOrigin, "plan-rollback" | "returned-rollback">;
}

export interface CompensationResult {
  step: string;
  tool: string;
  status: "succeeded" | "failed";
  attempts: number;
  attemptSpans?: StepResult["attemptSpans"];
  startedAtMs: number;
  endedAtMs: number;
  error?: StepResult["error"];
  /** Why it ran without approval (a rollback returned by the create call). */
  trusted?: string;
}

/** What became of a finished step once the run failed or stopped. */
export interface StepOutcome {
  step: string;
  outcome: "undone" | "nothing_to_undo" | "left_behind" | "undo_failed";
  /** The undo call (`server.tool`), or why nothing could be done. */
  detail: string;
}

/**
 * Finished steps that have an undo — the plan's `rollback`, else the `rollback` call a create tool
 * returned with its output (only on the same server) — in reverse dependency order; and, for the
 * others, whether they needed one.
 */
export function planCompensations(prepared: PreparedPlan, results: Record<string, StepResult>, tools: RunContext["caller"]["tools"]): { compensations: Compensation[]; rest: StepOutcome[] } {
  const steps = new Map(prepared.plan.steps.map((s) => [s.id, s]));
  const compensations: Compensation[] = [];
  const rest: StepOutcome[] = [];
  for (const id of [...prepared.order].reverse()) {
    const result = results[id];
    const step = steps.get(id)!;
    if (result?.status !== "succeeded") continue;
    const declared = prepared.rollbackTools[id];
    if (step.rollback && declared) {
      compensations.push({ step: id, agent: step.agent, tool: declared, params: step.rollback.params, origin: "plan-rollback" });
      continue;
    }
    const resolved = prepared.tools[id]!;
    const returned = returnedRollback(result.output);
    if (returned && tools.some((t) => t.server === resolved.server && t.name === returned.tool)) {
      compensations.push({ step: id, agent: step.agent, tool: { server: resolved.server, tool: returned.tool }, params: returned.arguments, origin: "returned-rollback" });
      continue;
    }
    const readOnly = findTool(tools, resolved)?.annotations?.readOnlyHint === true;
    rest.push(
      readOnly
        ? { step: id, outcome: "nothing_to_undo", detail: `${resolved.server}.${resolved.tool} is read-only` }
        : { step: id, outcome: "left_behind", detail: returned ? `its undo ${returned.tool} is not a tool of ${resolved.server}` : `${resolved.server}.${resolved.tool} may have changed something and has no undo` },
    );
  }
  return { compensations, rest };
}

/** Runs one compensation like a step: through the gate, interpolated (it may read its own step's output), retried. */
export async function runCompensation(comp: Compensation, scope: Scope, ctx: RunContext): Promise<CompensationResult> {
  const step: Step = { id: `rollback_${comp.step}`, agent: comp.agent, tool: `${comp.tool.server}.${comp.tool.tool}`, dependencies: [], params: comp.params };
  const result = await runStep(step, comp.tool, scope, ctx, comp.origin);
  return {
    step: comp.step,
    tool: result.tool,
    status: result.status === "succeeded" ? "succeeded" : "failed",
    attempts: result.attempts,
    ...(result.attemptSpans ? { attemptSpans: result.attemptSpans } : {}),
    startedAtMs: result.startedAtMs,
    endedAtMs: result.endedAtMs,
    ...(result.error ? { error: result.error } : {}),
    ...(result.trusted ? { trusted: result.trusted } : {}),
  };
}

/**
 * A finished step with no undo of its own is undone after all when the undo that ran for another
 * step deletes what it changed (its tool's `undoneWith`: a deploy goes with its project).
 */
export function undoneWithOthers(rest: readonly StepOutcome[], compensations: readonly CompensationResult[], prepared: PreparedPlan, tools: RunContext["caller"]["tools"]): StepOutcome[] {
  return rest.map((o) => {
    if (o.outcome !== "left_behind") return o;
    const resolved = prepared.tools[o.step]!;
    const withTool = findTool(tools, resolved)?.meta?.[UNDONE_WITH_META_KEY];
    const by = typeof withTool === "string" ? compensations.find((c) => c.status === "succeeded" && c.tool === `${resolved.server}.${withTool}`) : undefined;
    return by ? { step: o.step, outcome: "undone", detail: `with ${by.step} (${by.tool})` } : o;
  });
}

/** The outcome of a step whose undo ran. */
export function outcomeOf(result: CompensationResult): StepOutcome {
  return result.status === "succeeded"
    ? { step: result.step, outcome: "undone", detail: result.tool }
    : { step: result.step, outcome: "undo_failed", detail: `${result.tool}: ${result.error?.message ?? "failed"}` };
}

function returnedRollback(output: unknown): { tool: string; arguments: Record<string, unknown> } | undefined {
  if (!isRecord(output) || !isRecord(output["rollback"])) return undefined;
  const { tool, arguments: args } = output["rollback"];
  return typeof tool === "string" && isRecord(args) ? { tool, arguments: args } : undefined;
}
