import { describe, expect, it } from "vitest";
import { DEFAULT_MATCH_THRESHOLD, extractParams, planFromCatalog, rankWorkflows, tokenize } from "../../src/models/catalog-planner.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { getWorkflow, instantiate, workflows } from "../../src/workflows/index.ts";

const library = { workflows, instantiate };
const RAD = "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis";

describe("catalog planner", () => {
  it("folds words: fly.io → fly, DB → database, plurals, stopwords out", () => {
    expect(tokenize(RAD)).toEqual(["rad", "crawler", "neon", "database", "fly", "deploy", "upstash", "redis"]);
    expect(tokenize("Deploying two databases and caches")).toEqual(["deploy", "two", "database", "cache"]);
  });

  it("ranks the RAD Crawler template first for the seed request, well above the threshold", () => {
    const [best, second] = rankWorkflows(RAD, workflows);
    expect(best!.id).toBe("rad-crawler-setup");
    expect(best!.score).toBeGreaterThan(0.8);
    expect(second!.score).toBeLessThan(best!.score / 2);
    expect(best!.matched).toEqual(expect.arrayContaining(["rad", "crawler", "neon", "upstash", "redis"]));
  });

  it("every example request of every template ranks its own template first", () => {
    const misses = workflows.flatMap((t) => t.examples.filter((e) => rankWorkflows(e, workflows)[0]!.id !== t.id).map((e) => `${t.id}: ${e}`));
    expect(misses).toEqual([]);
  });

  it("fills parameters from quoted names, \"called X\" and regions; defaults fill the rest", () => {
    const rad = getWorkflow("rad-crawler-setup")!;
    const quoted = extractParams('Set up RAD Crawler "news-crawler" with Neon DB and Upstash Redis in eu-west-1', rad);
    expect(quoted.values).toEqual({ app_name: "news-crawler", region: "eu-west-1" });
    const called = planFromCatalog("Set up the RAD crawler called shop-crawler with Neon and Upstash Redis", library);
    expect(called.ok).toBe(true);
    if (!called.ok) return;
    expect(called.values).toMatchObject({ app_name: "shop-crawler", database_name: "crawler", region: "us-east-1" });
    expect(called.filled).toEqual(['app_name = "shop-crawler" (named in the request)']);
    expect(called.plan.params).toMatchObject({ app_name: "shop-crawler" });
  });

  it("the RAD plan it makes is a valid plan", () => {
    const result = planFromCatalog(RAD, library);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.workflow.id).toBe("rad-crawler-setup");
    const validation = validatePlan(result.plan);
    expect(validation.ok).toBe(true);
  });

  it("below the threshold it says so and lists the closest workflows", () => {
    const result = planFromCatalog("write a haiku about autumn leaves", library);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(`< ${DEFAULT_MATCH_THRESHOLD}`);
    expect(result.message).toContain("Configure a model");
    expect(result.closest).toHaveLength(3);
  });

  it("a name the template's schema refuses is reported with the parameter, not planned", () => {
    const result = planFromCatalog('Set up RAD Crawler called "Bad Name!" with Neon DB and Upstash Redis', library);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain('workflow "rad-crawler-setup"');
    expect(result.message).toContain("app_name");
  });
});
