import type { PreparedPlan, Problem } from "../plan/validate.ts";

/** Breakpoints that name no step of the plan, or that the scheduler cannot honour: one problem each. */
export function breakpointProblems(prepared: PreparedPlan, breakBefore: readonly string[], scheduler: string): Problem[] {
  if (breakBefore.length === 0) return [];
  if (scheduler !== "graph") return [{ field: "breakBefore", message: `breakpoints stop before a step node of the plan's own graph: use the graph scheduler (got "${scheduler}")` }];
  const known = new Set(prepared.order);
  return breakBefore
    .filter((id) => !known.has(id))
    .map((id) => ({ step: id, field: "breakBefore", message: `no step "${id}" in plan "${prepared.plan.name}" (its steps: ${prepared.order.join(", ")})` }));
}
