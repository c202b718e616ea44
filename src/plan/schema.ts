import { z } from "zod";

/** A step id: also the name `${id.field}` references use, so it must be a plain identifier. */
export const StepId = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, "a step id is letters, digits, '_' or '-', starting with a letter or '_'");

export const RetryPolicy = z.object({
  maxAttempts: z.number().int().min(1).max(20),
  backoffMs: z.number().int().min(0).optional(),
});

export const Rollback = z.object({
  tool: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
});

export const Estimate = z.object({
  ms: z.number().min(0).optional(),
  usd: z.number().min(0).optional(),
});

export const Step = z.object({
  id: StepId,
  /** Which agent the step belongs to (coding, db, deploy, redis, …); routes thinking tools and allow-lists. */
  agent: z.string().optional(),
  /** `server.tool`, a bare tool name, or the `tool_server` spelling. */
  tool: z.string().min(1),
  dependencies: z.array(z.string()).default([]),
  params: z.record(z.string(), z.unknown()).default({}),
  retry: RetryPolicy.optional(),
  timeoutMs: z.number().int().positive().optional(),
  rollback: Rollback.optional(),
  estimate: Estimate.optional(),
});

export const Plan = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  /** Plan parameters: name → default value, filled from `--param key=value`. */
  params: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(Step).min(1, "a plan needs at least one step"),
});

export type Plan = z.infer<typeof Plan>;
export type PlanInput = z.input<typeof Plan>;
export type Step = z.infer<typeof Step>;
export type RetryPolicy = z.infer<typeof RetryPolicy>;
export type Rollback = z.infer<typeof Rollback>;
