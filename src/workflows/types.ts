import type { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";

export type WorkflowCategory = "infrastructure" | "code-quality" | "development" | "operations";

/**
 * A workflow template: a plan with `${param}` placeholders, the zod schema of its parameters
 * (with defaults), and what the catalog planner matches requests against.
 */
export interface WorkflowTemplate<P extends z.ZodObject = z.ZodObject> {
  id: string;
  name: string;
  description: string;
  category: WorkflowCategory;
  tags: string[];
  /** Requests people type that this template answers (the catalog planner ranks against them). */
  examples: string[];
  params: P;
  /** Steps reference parameters as `${name}`; `plan.params` is filled from `params` at instantiation. */
  plan: Omit<PlanInput, "params">;
  /**
   * For templates whose shape depends on their parameters (N tenants → N steps): builds the plan
   * from parsed values. `plan` then shows the plan for the default values.
   */
  build?(params: z.infer<P>): Omit<PlanInput, "params">;
}
