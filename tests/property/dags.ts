import { MemorySaver } from "@langchain/langgraph";
import fc from "fast-check";
import { compileExecutor } from "../../graphs/executor.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { ExecState, Scheduler } from "../../src/engine/schedule.ts";
import type { ToolCaller } from "../../src/mcp/client.ts";

/** A random DAG over steps 0…n-1: each step depends only on earlier ones; `listing` is the plan's order. */
export interface DagShape {
  deps: number[][];
  listing: number[];
}

export function dagShape(maxSteps: number): fc.Arbitrary<DagShape> {
  return fc.integer({ min: 1, max: maxSteps }).chain((n) => {
    const indices = Array.from({ length: n }, (_, i) => i);
    return fc.record({
      deps: fc.tuple(...indices.map((i) => fc.subarray(indices.slice(0, i), { maxLength: Math.min(3, i) }))),
      listing: fc.shuffledSubarray(indices, { minLength: n, maxLength: n }),
    });
  });
}

/** Every step that `step` depends on, directly or not. */
export function ancestorsOf(deps: number[][], step: number): Set<number> {
  const seen = new Set<number>();
  const visit = (i: number): void => {
    for (const d of deps[i] ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(step);
  return seen;
}

/** Runs a plan on a fresh executor graph (in-memory checkpointer) and returns its final state. */
export async function runPlan(caller: ToolCaller, plan: unknown, scheduler: Scheduler, params: Record<string, unknown> = {}): Promise<ExecState> {
  const ctx = { caller, limits: new ServerLimits(4), sleep: async () => {} };
  const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
  const config = { configurable: { thread_id: `prop-${Math.random()}` }, recursionLimit: 1000 };
  // The plans' own rollbacks delete things: approved here, as a person would before such a run.
  return (await graph.invoke({ plan, scheduler, params, allowDestructive: true }, config)) as ExecState;
}

export const SCHEDULERS: readonly Scheduler[] = ["asap", "graph"];
