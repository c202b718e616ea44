import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { Report } from "../../agents/types.ts";
import type { RunContext } from "../../src/engine/run-step.ts";
import type { Plan } from "../../src/plan/schema.ts";

/** Asserts every step of a workflow run succeeded, listing the ones that did not. */
export function expectSucceeded(report: Report): void {
  const failed = report.steps.filter((s) => s.status !== "succeeded").map((s) => `${s.id}: ${s.error?.message ?? s.reason}`);
  expect(failed).toEqual([]);
  expect(report.status).toBe("succeeded");
}

/** The plan plus a last step that fails once everything else has finished. */
export function failingAtTheEnd(plan: Plan): Plan {
  const step = {
    id: "forced_failure",
    tool: "workspace.find_todos",
    dependencies: plan.steps.map((s) => s.id),
    params: { project: `no-such-project-${randomBytes(4).toString("hex")}` },
    retry: { maxAttempts: 1 },
  };
  return { ...plan, steps: [...plan.steps, step] };
}

/** A succeeded step's output with its secret handles revealed; fails naming the step otherwise. */
export function stepOutput(report: Report, stepId: string, context: RunContext): Record<string, unknown> {
  const step = report.steps.find((s) => s.id === stepId);
  if (!step || step.status !== "succeeded") throw new Error(`step ${stepId}: ${JSON.stringify(step?.error ?? step?.reason ?? "missing")}`);
  return context.secrets!.reveal(step.output) as Record<string, unknown>;
}
