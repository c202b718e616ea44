import type { RunReport } from "../engine/report.ts";
import type { RunContext } from "../engine/run-step.ts";
import { isRecord } from "../plan/interpolate.ts";
import type { Plan } from "../plan/schema.ts";
import { PlanValidationError, validatePlan } from "../plan/validate.ts";

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
export async function undoRun(report: RunReport, context: RunContext): Promise<string[]> {
  const failures: string[] = [];
  for (const step of [...report.steps].reverse()) {
    const rollback = isRecord(step.output) ? step.output["rollback"] : undefined;
    if (step.status !== "succeeded" || !isRecord(rollback) || typeof rollback["tool"] !== "string" || !isRecord(rollback["arguments"])) continue;
    const server = step.tool.slice(0, step.tool.indexOf("."));
    try {
      await context.caller.call(server, rollback["tool"], rollback["arguments"]);
    } catch (error) {
      failures.push(`${step.id}: ${(error as Error).message}`);
    }
  }
  return failures;
}
