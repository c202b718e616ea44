import { randomUUID } from "node:crypto";
import type { Report } from "../../agents/types.ts";
import type { RunContext } from "../../src/engine/run-step.ts";
import type { Scheduler } from "../../src/engine/state.ts";
import { isRecord } from "../../src/plan/interpolate.ts";
import type { Plan } from "../../src/plan/schema.ts";
import { PlanValidationError, validatePlan } from "../../src/plan/validate.ts";
import { drive, type RunInput } from "../../src/run/drive.ts";
import type { Root } from "../../src/run/root.ts";
import { instantiate } from "../../src/workflows/index.ts";
import type { WorkflowTemplate } from "../../src/workflows/types.ts";

export interface RunWorkflowOptions {
  scheduler?: Scheduler;
  /** Changes the instantiated plan before it runs (a sequential copy, an extra step). */
  transform?: (plan: Plan) => Plan;
  /** Extra run input (budget, session…); by default the budget and destructive calls are approved. */
  input?: Partial<RunInput>;
}

/** Runs a template through the one pipeline (credit-validator → execute → reporter) on the root, approved; returns its report. */
export async function runWorkflow(root: Root, template: WorkflowTemplate, values: Record<string, unknown>, options: RunWorkflowOptions = {}): Promise<Report> {
  const plan = instantiate(template, values);
  const threadId = `workflow-${template.id}-${randomUUID()}`;
  const result = await drive(root, threadId, {
    plan: options.transform ? options.transform(plan) : plan,
    planner: { kind: "workflow", reason: `workflow "${template.id}"` },
    scheduler: options.scheduler ?? "asap",
    autoApprove: true,
    allowDestructive: true,
    ...options.input,
  });
  if (result.kind === "waiting") throw new Error(`workflow ${template.id} waits for approval: ${result.question.question}`);
  return result.report;
}

/**
 * The same plan with every step depending on the one before it in topological order: the fully
 * sequential baseline the parallel run is measured against.
 */
export function sequentialPlan(plan: Plan): Plan {
  const validation = validatePlan(plan);
  if (!validation.ok) throw new PlanValidationError(validation.problems);
  const order = validation.prepared.order;
  const previous = new Map(order.map((id, i) => [id, order[i - 1]]));
  return {
    ...plan,
    steps: plan.steps.map((step) => {
      const before = previous.get(step.id);
      return before === undefined || step.dependencies.includes(before) ? step : { ...step, dependencies: [...step.dependencies, before] };
    }),
  };
}

/**
 * Undoes what a finished run created: the `rollback` calls its create steps returned, in reverse
 * order. For cleaning up after runs that succeeded (benchmarks, tests); returns the failures.
 */
export async function undoRun(report: Pick<Report, "steps">, context: RunContext): Promise<string[]> {
  const failures: string[] = [];
  for (const step of [...report.steps].reverse()) {
    const rollback = isRecord(step.output) ? step.output["rollback"] : undefined;
    if (step.status !== "succeeded" || !isRecord(rollback) || typeof rollback["tool"] !== "string" || !isRecord(rollback["arguments"])) continue;
    const server = step.tool.slice(0, step.tool.indexOf("."));
    try {
      await context.caller.call(server, rollback["tool"], context.secrets ? (context.secrets.reveal(rollback["arguments"]) as Record<string, unknown>) : rollback["arguments"]);
    } catch (error) {
      failures.push(`${step.id}: ${(error as Error).message}`);
    }
  }
  return failures;
}
