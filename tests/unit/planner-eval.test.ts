import { describe, expect, it } from "vitest";
import { planOffline } from "../../src/planner/index.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { instantiate, workflows } from "../../src/workflows/index.ts";
import { CASES, INVENTORY } from "../fixtures/planner/eval-set.ts";
import { exampleCases, outcomeOf, scoreCase, summarize, type CaseScore } from "../fixtures/planner/score.ts";

const library = { workflows, instantiate };
const inventory = async (kind: keyof typeof INVENTORY) => INVENTORY[kind];
const all = [...CASES, ...exampleCases(workflows)];

describe("the offline planner's evaluation set", () => {
  it("covers every template with phrasings of its own, and has requests that must plan nothing", () => {
    const written = CASES.filter((c) => c.from !== "example");
    expect(written.length).toBeGreaterThanOrEqual(80);
    const covered = new Set(written.flatMap((c) => c.expect.map((e) => e.workflow)));
    expect(workflows.filter((t) => !covered.has(t.id)).map((t) => t.id)).toEqual([]);
    expect(written.filter((c) => c.expect.length === 0).length).toBeGreaterThanOrEqual(5);
  });

  it.each(all.map((c) => [c.from, c.request, c] as const))("[%s] %s", async (_from, request, c) => {
    const result = await planOffline(request, { library, inventory });
    const score = scoreCase(c, outcomeOf(result), workflows);
    expect({ template: score.template, params: score.params ?? true, questions: score.questions, defaults: score.defaultsOverExplicit }, JSON.stringify(score.got)).toEqual({
      template: true,
      params: true,
      questions: true,
      defaults: [],
    });
    if (result.kind === "plan") expect(validatePlan(result.plan).ok).toBe(true);
  });

  it("meets the issue's bar over the whole set", async () => {
    const scores: CaseScore[] = [];
    for (const c of all) scores.push(scoreCase(c, outcomeOf(await planOffline(c.request, { library, inventory })), workflows));
    const summary = summarize(scores);
    expect(summary.cases).toBe(all.length);
    expect(summary.templateAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(summary.paramAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(summary.defaultsOverExplicit).toBe(0);
    expect(summary.falsePositives).toBe(0);
  });
});
