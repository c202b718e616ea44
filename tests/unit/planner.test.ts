import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planOffline, rankWorkflows, type InventoryLookup, type OfflinePlan, type PlanMemo, type ResourceKind } from "../../src/planner/index.ts";
import { resourceKindOf } from "../../src/planner/inventory.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { instantiate, workflows } from "../../src/workflows/index.ts";
import { INVENTORY } from "../fixtures/planner/eval-set.ts";

const library = { workflows, instantiate };
const RAD = "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis";

/** A fake inventory that records what it was asked. */
function fakeInventory(data: Partial<Record<ResourceKind, { id: string; name: string }[]>> = INVENTORY): InventoryLookup & { asked: ResourceKind[] } {
  const asked: ResourceKind[] = [];
  const lookup = async (kind: ResourceKind) => {
    asked.push(kind);
    return data[kind] ?? [];
  };
  return Object.assign(lookup, { asked });
}

function planned(result: OfflinePlan): Extract<OfflinePlan, { kind: "plan" }> {
  if (result.kind !== "plan") throw new Error(`expected a plan, got ${result.kind}: ${JSON.stringify(result.kind === "none" ? result.message : result.questions)}`);
  return result;
}

const tools = (result: OfflinePlan): string[] => planned(result).plan.steps.map((s) => s.tool);

describe("offline planner: providers named are honoured", () => {
  it("the README's RAD request deploys on Fly (fly_create_app, fly_deploy), with the seed's step ids", async () => {
    const result = planned(await planOffline(RAD, { library }));
    expect(result.workflows.map((w) => w.id)).toEqual(["rad-crawler-setup"]);
    expect(result.params.find((p) => p.name === "provider")).toMatchObject({ value: "fly", source: "request", text: "Fly.io" });
    expect(tools(result)).toEqual(expect.arrayContaining(["toolkit.fly_create_app", "toolkit.fly_deploy"]));
    expect(tools(result).some((t) => t.startsWith("toolkit.vercel_"))).toBe(false);
    expect(result.plan.steps.map((s) => s.id)).toEqual(["generate_code", "create_neon_project", "create_redis", "create_database", "create_fly_app", "deploy_app"]);
    expect(validatePlan(result.plan).ok).toBe(true);
  });

  it("one that says Vercel deploys on Vercel; one that says neither keeps the template's default", async () => {
    expect(tools(await planOffline("Set up the RAD crawler with Neon and Upstash and deploy it on Vercel", { library }))).toContain("toolkit.vercel_deploy");
    const plain = await planOffline("Deploy the RAD crawler with a Postgres database and a Redis cache", { library });
    expect(planned(plain).params.find((p) => p.name === "provider")).toMatchObject({ value: "vercel", source: "default" });
  });
});

describe("offline planner: explicit values are never replaced by defaults", () => {
  it("'Cut release 3.1.0 of the project called shop' plans version 3.1.0 for shop", async () => {
    const result = planned(await planOffline("Cut release 3.1.0 of the project called shop", { library }));
    expect(result.params.filter((p) => p.source === "request").map((p) => [p.name, p.value, p.text])).toEqual([
      ["project", "shop", "shop"],
      ["version", "3.1.0", "3.1.0"],
    ]);
    expect(result.plan.params).toMatchObject({ project: "shop", version: "3.1.0" });
  });

  it("for any name, version and region typed, the plan carries exactly those", async () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9]{2,12}$/).filter((n) => !["the", "and", "for", "with", "called", "named", "new"].includes(n));
    const version = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map((v) => v.join("."));
    const region = fc.constantFrom("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-1");
    await fc.assert(
      fc.asyncProperty(name, version, region, async (n, v, r) => {
        const release = planned(await planOffline(`Cut release ${v} of the project called ${n}`, { library }));
        expect(release.plan.params).toMatchObject({ project: n, version: v });
        const redis = planned(await planOffline(`I need an upstash redis called ${n} in ${r}`, { library }));
        expect(redis.plan.params).toMatchObject({ database_name: n, region: r });
      }),
      { numRuns: 40 },
    );
  });

  it("an explicit value the schema refuses becomes a question about it, not a default", async () => {
    const result = await planOffline('Set up RAD Crawler called "Bad Name!" with Neon DB and Upstash Redis', { library });
    expect(result.kind).toBe("question");
    if (result.kind !== "question") return;
    expect(result.questions).toMatchObject([{ workflow: "rad-crawler-setup", param: "app_name", why: "invalid", flag: expect.stringContaining("--param app_name=") }]);
    expect(result.questions[0]!.detail).toContain('"Bad Name!"');
  });
});

describe("offline planner: existing resources through the injected inventory", () => {
  it("fills ids from names the request uses, saying which resource and why", async () => {
    const inventory = fakeInventory();
    const result = planned(await planOffline("Check the health of my rad crawler", { library, inventory }));
    expect(result.params.filter((p) => p.source === "inventory").map((p) => [p.name, p.value])).toEqual([
      ["deployment_id", "dpl-rad01"],
      ["redis_id", "redis-rad01"],
      ["project_id", "prj-rad0001"],
    ]);
    expect(result.params.find((p) => p.name === "project_id")?.note).toContain('Neon project "rad-crawler-db"');
    expect(new Set(inventory.asked).size).toBe(inventory.asked.length);
  });

  it("asks when a reference fits several, with them as choices", async () => {
    const result = await planOffline("back up the shop database", { library, inventory: fakeInventory() });
    expect(result.kind).toBe("question");
    if (result.kind !== "question") return;
    expect(result.questions).toHaveLength(1);
    expect(result.questions[0]).toMatchObject({ param: "project_id", why: "ambiguous", example: "prj-shopstg", flag: "--param project_id=prj-shopstg" });
    expect(result.questions[0]!.choices.map((c) => c.value)).toEqual(["prj-shopstg", "prj-shopprd"]);
  });

  it("when it matches nothing, says what exists", async () => {
    const result = await planOffline("back up the inventory database", { library, inventory: fakeInventory() });
    expect(result.kind).toBe("question");
    if (result.kind !== "question") return;
    expect(result.questions[0]).toMatchObject({ param: "project_id", why: "not_found" });
    expect(result.questions[0]!.choices.map((c) => c.value)).toEqual(INVENTORY.neon_project.map((p) => p.id));
  });

  it("an inventory that fails becomes a question, never an exception", async () => {
    const broken: InventoryLookup = async () => {
      throw new Error("toolkit unreachable");
    };
    const result = await planOffline("back up the billing database", { library, inventory: broken });
    expect(result.kind).toBe("question");
    if (result.kind === "question") expect(result.questions[0]!.detail).toContain("toolkit unreachable");
  });

  it("the answers (or --param values) to a question make the plan", async () => {
    const first = await planOffline("Create a database branch for pull request 42", { library, inventory: fakeInventory() });
    expect(first.kind).toBe("question");
    if (first.kind !== "question") return;
    expect(first.questions.map((q) => q.param)).toEqual(["project_id"]);
    const answered = planned(await planOffline("Create a database branch for pull request 42", { library, inventory: fakeInventory(), values: { project_id: first.questions[0]!.choices[1]!.value } }));
    expect(answered.plan.params).toMatchObject({ project_id: "prj-rad0001", pr_number: 42 });
    expect(answered.params.find((p) => p.name === "project_id")?.source).toBe("answer");
  });

  it("every id parameter of every template maps to a resource kind", () => {
    const unmapped = workflows.flatMap((t) => Object.keys(t.params.shape).filter((k) => k.endsWith("_id") && !resourceKindOf(t, k)).map((k) => `${t.id}.${k}`));
    expect(unmapped).toEqual([]);
  });
});

describe("offline planner: composition", () => {
  it("two named jobs make one plan, side by side, with readable unique step ids and parameters kept apart", async () => {
    const result = planned(await planOffline("Set up a Neon database called orders and an Upstash Redis named orders-cache", { library }));
    expect(result.workflows.map((w) => w.id)).toEqual(["neon-full-setup", "upstash-redis-setup"]);
    const ids = result.plan.steps.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(["neon_create_project", "upstash_create_redis", "upstash_verify_redis"]));
    // Both templates have a database_name: the second is renamed, and its steps read the renamed one.
    expect(result.plan.params).toMatchObject({ project_name: "orders", database_name: "orders", upstash_database_name: "orders-cache" });
    const create = result.plan.steps.find((s) => s.id === "upstash_create_redis")!;
    expect(create.params).toMatchObject({ database_name: "${upstash_database_name}" });
    expect(result.plan.steps.find((s) => s.id === "upstash_verify_redis")!.params).toMatchObject({ database_id: "${upstash_create_redis.database_id}" });
    // No dependency crosses from one template to the other: they run in parallel.
    const neon = new Set(ids.filter((i) => i.startsWith("neon_")));
    expect(result.plan.steps.filter((s) => !neon.has(s.id)).flatMap((s) => s.dependencies ?? []).some((d) => neon.has(d))).toBe(false);
    expect(validatePlan(result.plan).ok).toBe(true);
  });

  it("the RAD request is one job: its commas are not separate jobs", async () => {
    expect(planned(await planOffline(RAD, { library })).workflows).toHaveLength(1);
    expect(planned(await planOffline("Rotate the secrets of my app and redeploy", { library, values: { app_project_id: "p", neon_project_id: "n", redis_id: "r" } })).workflows.map((w) => w.id)).toEqual([
      "sync-app-secrets",
    ]);
  });
});

describe("offline planner: robust matching, and nothing for unrelated requests", () => {
  it("typos within one or two edits and nicknames still find the template", () => {
    expect(rankWorkflows("set up an upstsh redis", workflows)[0]!.id).toBe("upstash-redis-setup");
    expect(rankWorkflows("deploy my app to vercell", workflows)[0]!.id).toBe("vercel-deploy");
    expect(rankWorkflows("give me a postgres db", workflows)[0]!.id).toBe("neon-full-setup");
  });

  it("'what's the weather' plans nothing and says what it can do", async () => {
    const result = await planOffline("what's the weather", { library });
    expect(result.kind).toBe("none");
    if (result.kind !== "none") return;
    expect(result.message).toContain("no workflow matches the request");
    expect(result.message).toContain("Offline I can:");
    expect(result.message).toContain("Configure a model");
  });
});

describe("offline planner: a turn is a new request or a refinement of the last plan", () => {
  const first = "I need an upstash redis called sessions in eu-west-1";

  it("'make it eu-central-1' changes the region of the last plan and keeps its name", async () => {
    const before = planned(await planOffline(first, { library }));
    expect(before.reading.kind).toBe("new");
    const after = planned(await planOffline("make it eu-central-1", { library, previous: before.memo }));
    expect(after.reading.kind).toBe("refinement");
    expect(after.plan.params).toMatchObject({ database_name: "sessions", region: "eu-central-1" });
    expect(after.params.find((p) => p.name === "database_name")?.source).toBe("previous");
  });

  it("'call it billing instead' renames; the earlier requests alone are enough to find the last plan", async () => {
    const after = planned(await planOffline("call it billing instead", { library, earlier: [first, "make it eu-central-1"] }));
    expect(after.plan.params).toMatchObject({ database_name: "billing", region: "eu-central-1" });
  });

  it("'also …' composes another template beside the last plan; 'without the cache' takes it out again", async () => {
    const memo: PlanMemo = planned(await planOffline(first, { library })).memo;
    const added = planned(await planOffline("also a neon database called orders", { library, previous: memo }));
    expect(added.reading).toMatchObject({ kind: "refinement" });
    expect(added.workflows.map((w) => w.id)).toEqual(["upstash-redis-setup", "neon-full-setup"]);
    const dropped = planned(await planOffline("without the cache", { library, previous: added.memo }));
    expect(dropped.workflows.map((w) => w.id)).toEqual(["neon-full-setup"]);
    expect(dropped.plan.params).toMatchObject({ project_name: "orders" });
  });

  it("a request with a job of its own is new, whatever came before", async () => {
    const memo = planned(await planOffline(first, { library })).memo;
    const next = planned(await planOffline("Cut release 3.1.0 of the project called shop", { library, previous: memo }));
    expect(next.reading.kind).toBe("new");
    expect(next.workflows.map((w) => w.id)).toEqual(["release-branch"]);
  });
});
