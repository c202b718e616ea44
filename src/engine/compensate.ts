import { resolveTool, type ResolvedTool } from "../mcp/catalog.ts";
import { isRecord, type Scope } from "../plan/interpolate.ts";
import type { Step } from "../plan/schema.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import { runStep, type RunContext, type StepResult } from "./run-step.ts";

/** The call that undoes one finished step. */
export interface Compensation {
  /** The step being undone. */
  step: string;
  tool: ResolvedTool;
  params: Record<string, unknown>;
  /** Params returned by a tool are used as they are, never interpolated. */
  literal: boolean;
}

export interface CompensationResult {
  step: string;
  tool: string;
  status: "succeeded" | "failed";
  attempts: number;
  startedAtMs: number;
  endedAtMs: number;
  error?: StepResult["error"];
}

/**
 * Finished steps that declare a rollback — in the plan, or as the `rollback` call a create tool
 * returns with its output — in reverse dependency order.
 */
export function planCompensations(prepared: PreparedPlan, results: Record<string, StepResult>, tools: RunContext["caller"]["tools"]): Compensation[] {
  const steps = new Map(prepared.plan.steps.map((s) => [s.id, s]));
  const out: Compensation[] = [];
  for (const id of [...prepared.order].reverse()) {
    const result = results[id];
    const step = steps.get(id)!;
    if (result?.status !== "succeeded") continue;
    const declared = prepared.rollbackTools[id];
    if (step.rollback && declared) {
      out.push({ step: id, tool: declared, params: step.rollback.params, literal: false });
      continue;
    }
    const returned = returnedRollback(result.output);
    if (!returned) continue;
    const server = prepared.tools[id]!.server;
    const onSameServer = tools.some((t) => t.server === server && t.name === returned.tool);
    const resolution = onSameServer ? { ok: true as const, resolved: { server, tool: returned.tool } } : resolveTool(returned.tool, tools);
    if (resolution.ok) out.push({ step: id, tool: resolution.resolved, params: returned.arguments, literal: true });
  }
  return out;
}

/** Runs one compensation like a step: interpolated (it may read its own step's output), retried. */
export async function runCompensation(comp: Compensation, scope: Scope, ctx: RunContext): Promise<CompensationResult> {
  const step: Step = {
    id: `rollback_${comp.step}`,
    tool: `${comp.tool.server}.${comp.tool.tool}`,
    dependencies: [],
    params: comp.params,
  };
  const result = await runStep(step, comp.tool, scope, ctx, comp.literal);
  return {
    step: comp.step,
    tool: result.tool,
    status: result.status === "succeeded" ? "succeeded" : "failed",
    attempts: result.attempts,
    startedAtMs: result.startedAtMs,
    endedAtMs: result.endedAtMs,
    ...(result.error ? { error: result.error } : {}),
  };
}

function returnedRollback(output: unknown): { tool: string; arguments: Record<string, unknown> } | undefined {
  if (!isRecord(output) || !isRecord(output["rollback"])) return undefined;
  const { tool, arguments: args } = output["rollback"];
  return typeof tool === "string" && isRecord(args) ? { tool, arguments: args } : undefined;
}
