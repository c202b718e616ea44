import { compilePlanGraph } from "../graphs/plan-graph.ts";
import { ServerLimits } from "../src/engine/limits.ts";
import { preparePlan } from "../src/plan/validate.ts";
import { randomDag, sleeper } from "./dags.ts";

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * `--scheduler graph` builds and compiles a graph per plan before it runs: its cost for 10, 100 and
 * 1,000 steps (random DAGs, fan-in 0–3), the median of `repeats` builds, with drawing it (what
 * Studio asks for) beside it. Validation is not included: every scheduler pays it once.
 */
export async function benchPlanGraph(sizes = [10, 100, 1_000], repeats = 7): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const n of sizes) {
    const dag = randomDag(7, n);
    const ctx = { caller: sleeper(dag.ms), limits: new ServerLimits(100) };
    const prepared = preparePlan(dag.plan, { tools: ctx.caller.tools });
    const deps = { context: async () => ctx };
    compilePlanGraph(prepared, deps); // warm-up: JIT, not compiling
    const compile: number[] = [];
    const draw: number[] = [];
    for (let i = 0; i < repeats; i++) {
      let started = performance.now();
      const graph = compilePlanGraph(prepared, deps);
      compile.push(performance.now() - started);
      started = performance.now();
      await graph.getGraphAsync();
      draw.push(performance.now() - started);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    out[String(n)] = { compileMs: round(median(compile)), compileUsPerStep: round((median(compile) * 1000) / n, 1), drawMs: round(median(draw)) };
  }
  return out;
}
