import { describe, expect, it } from "vitest";
import { planFromCatalog, rankWorkflows } from "../../src/models/catalog-planner.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { getWorkflow, instantiate, REQUIRED_WORKFLOW_IDS, workflows } from "../../src/workflows/index.ts";

const library = { workflows, instantiate };

/** Requests written without looking at the templates' own examples. */
const PARAPHRASES: Record<(typeof REQUIRED_WORKFLOW_IDS)[number], string[]> = {
  "rad-crawler-setup": [
    "I want the rad crawler running with postgres and redis",
    "deploy a crawler that stores pages in neon and caches in upstash",
    "get the RAD crawler project up and running",
  ],
  "neon-full-setup": [
    "create a neon project with a database and a dev branch",
    "I need a Postgres database on Neon",
    "spin up serverless postgres",
  ],
  "upstash-redis-setup": ["create an upstash redis database", "give me a redis cache on upstash", "set up a redis database"],
  "vercel-deploy": ["deploy my app to vercel", "create a vercel project and deploy it", "put my site live on vercel"],
  "multi-tenant-provision": [
    "provision 10 tenants each with a database and a cache",
    "give every customer its own postgres database and redis cache",
    "onboard three new tenants",
  ],
};

const cases = REQUIRED_WORKFLOW_IDS.flatMap((id) => [...getWorkflow(id)!.examples, ...PARAPHRASES[id]].map((request) => [id, request] as const));

describe("the catalog planner picks the right required template", () => {
  it("has 3+ distinct phrasings per required id", () => {
    for (const id of REQUIRED_WORKFLOW_IDS) expect(new Set(cases.filter(([c]) => c === id).map(([, r]) => r)).size).toBeGreaterThanOrEqual(6);
  });

  it.each(cases)("%s ← %s", (id, request) => {
    const result = planFromCatalog(request, library);
    if (!result.ok) throw new Error(result.message);
    expect(result.workflow.id).toBe(id);
    expect(validatePlan(result.plan).ok).toBe(true);
  });
});

describe("every template's example requests rank it first", () => {
  it.each(workflows.flatMap((t) => t.examples.map((e) => [t.id, e] as const)))("%s ← %s", (id, request) => {
    expect(rankWorkflows(request, workflows)[0]!.id).toBe(id);
  });
});
