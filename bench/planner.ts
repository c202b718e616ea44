/**
 * The offline planner on its evaluation set (tests/fixtures/planner): accuracy of template choice,
 * parameter values, questions, false positives and explicit values replaced by defaults, per
 * group of phrasings, and planning latency (median and p90 per request, warm; and the first call,
 * which builds the index).
 *
 *   npm run bench -- --only planner
 */
import { median, quantile } from "../src/cost/stats.ts";
import { planOffline } from "../src/planner/index.ts";
import { instantiate, workflows } from "../src/workflows/index.ts";
import { CASES, INVENTORY, type PlannerCase } from "../tests/fixtures/planner/eval-set.ts";
import { exampleCases, outcomeOf, scoreCase, summarize, type CaseScore } from "../tests/fixtures/planner/score.ts";

const ROUNDS = 5;

export async function benchPlanner(): Promise<Record<string, unknown>> {
  const library = { workflows, instantiate };
  const inventory = async (kind: keyof typeof INVENTORY) => INVENTORY[kind];
  const cases: PlannerCase[] = [...CASES, ...exampleCases(workflows)];

  const firstStarted = performance.now();
  await planOffline(cases[0]!.request, { library, inventory });
  const firstMs = performance.now() - firstStarted;

  const scores: CaseScore[] = [];
  const ms: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const started = performance.now();
      const result = await planOffline(c.request, { library, inventory });
      ms.push(performance.now() - started);
      if (round === 0) scores.push(scoreCase(c, outcomeOf(result), workflows));
    }
  }
  const groups = Object.fromEntries(["issue", "new", "held-out", "unseen", "fresh", "example"].map((from) => [from, summarize(scores.filter((s) => s.from === from))]));
  const round2 = (n: number): number => Math.round(n * 100) / 100;
  return {
    all: summarize(scores),
    ...groups,
    misses: scores.filter((s) => !s.correct).map((s) => ({ request: s.request, got: s.got.workflows, asks: s.got.asks })),
    latency: { requests: ms.length, medianMs: round2(median(ms)), p90Ms: round2(quantile(ms, 0.9)), firstCallMs: round2(firstMs) },
  };
}
