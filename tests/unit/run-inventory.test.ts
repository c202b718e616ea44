import { describe, expect, it } from "vitest";
import { planOffline } from "../../src/planner/index.ts";
import { checkInventory, inventoryOf, readRuns, runInventory, type RunSteps } from "../../src/planner/run-inventory.ts";
import { renderResources } from "../../src/cli/resources.ts";
import { instantiate, workflows } from "../../src/workflows/index.ts";

const library = { workflows, instantiate };

const ok = (id: string, tool: string, output: Record<string, unknown>) => ({ id, tool: `toolkit.${tool}`, status: "succeeded", output });

/** The RAD setup on Vercel, a redeploy, an unrelated Fly app, a rolled-back run and a billing database. */
const RUNS: RunSteps[] = [
  {
    runId: "run-rad",
    plan: "RAD Crawler Complete Setup",
    at: 1,
    undone: [],
    steps: [
      ok("create_neon_project", "neon_create_project", { project_id: "radproj1", name: "rad-crawler-db", connection_string: "postgresql://u:s3cret@h/db", created: true }),
      ok("create_redis", "upstash_create_database", { database_id: "redis01", database_name: "rad-crawler-cache", password: "s3cret", created: true }),
      ok("create_fly_app", "vercel_create_project", { project_id: "prj_rad", name: "rad-crawler", created: true }),
      ok("deploy_app", "vercel_deploy", { deployment_id: "dpl_first", project_id: "prj_rad", url: "http://127.0.0.1:1", state: "READY" }),
      { id: "generate_code", tool: "workspace.delegate_code_generation", status: "succeeded", output: { project: "rad-crawler", project_dir: "/w/rad-crawler" } },
    ],
  },
  { runId: "run-redeploy", plan: "Redeploy an App", at: 2, undone: [], steps: [ok("deploy", "vercel_deploy", { deployment_id: "dpl_second", project_id: "prj_rad", url: "http://127.0.0.1:2", state: "READY" })] },
  { runId: "run-gw", plan: "Fly", at: 3, undone: [], steps: [ok("create_app", "fly_create_app", { app_name: "gateway", project_id: "gateway", created: true })] },
  {
    runId: "run-failed",
    plan: "Neon",
    at: 4,
    undone: ["create_project"],
    steps: [ok("create_project", "neon_create_project", { project_id: "undone01", name: "orders-db", created: true }), { id: "create_db", tool: "toolkit.neon_create_database", status: "failed" }],
  },
  { runId: "run-billing", plan: "Neon", at: 5, undone: [], steps: [ok("create_project", "neon_create_project", { project_id: "billing1", name: "billing-db", created: true })] },
];

describe("the inventory of what earlier runs made", () => {
  it("keeps ids, names, kinds and runs; a later deployment of a project replaces its earlier one; a rollback removes what it undid", () => {
    const entries = inventoryOf(RUNS);
    const live = entries.filter((e) => !e.goneBy).map(({ kind, id, name, run }) => ({ kind, id, name, run }));
    expect(live).toEqual([
      { kind: "neon_project", id: "radproj1", name: "rad-crawler-db", run: "run-rad" },
      { kind: "redis_database", id: "redis01", name: "rad-crawler-cache", run: "run-rad" },
      { kind: "vercel_project", id: "prj_rad", name: "rad-crawler", run: "run-rad" },
      { kind: "workspace_project", id: "rad-crawler", name: "rad-crawler", run: "run-rad" },
      { kind: "vercel_deployment", id: "dpl_second", name: "rad-crawler", run: "run-redeploy" },
      { kind: "fly_app", id: "gateway", name: "gateway", run: "run-gw" },
      { kind: "neon_project", id: "billing1", name: "billing-db", run: "run-billing" },
    ]);
    expect(entries.find((e) => e.id === "undone01")?.goneBy).toBe("run-failed:rollback of create_project");
    expect(entries.find((e) => e.id === "dpl_first")?.goneBy).toBe("run-redeploy:deploy");
    expect(JSON.stringify(entries)).not.toContain("s3cret");
  });

  it("marks what a later run deleted as gone, a project's deployments with it", () => {
    const teardown: RunSteps = {
      runId: "run-down",
      at: 9,
      undone: [],
      steps: [
        ok("delete_app", "vercel_delete_project", { project_id: "prj_rad", deleted: true, existed: true }),
        ok("delete_cache", "upstash_delete_database", { database_id: "redis01", deleted: true }),
        ok("delete_database", "neon_delete_project", { project_id: "radproj1", deleted: true }),
      ],
    };
    const entries = inventoryOf([...RUNS, teardown]);
    const gone = Object.fromEntries(entries.filter((e) => e.goneBy?.startsWith("run-down")).map((e) => [e.id, e.goneBy]));
    expect(gone).toEqual({ radproj1: "run-down:delete_database", redis01: "run-down:delete_cache", prj_rad: "run-down:delete_app", dpl_second: "run-down:delete_app" });
  });

  it("reads the runs the ledger lists from their checkpoints, and answers the planner's lookups newest first", async () => {
    const states: Record<string, unknown> = {
      "run-a": { results: { p: ok("p", "neon_create_project", { project_id: "aaa", name: "alpha-db" }) }, compensations: [] },
      "run-b": { results: { p: ok("p", "neon_create_project", { project_id: "bbb", name: "beta-db" }) }, compensations: [] },
      "run-empty": { results: null },
    };
    const ledger = { runs: async () => ["run-a", "run-empty", "run-b"].map((runId, i) => ({ runId, plan: "Neon", status: "succeeded", startedAt: i })) };
    const saver = { getTuple: async (config: { configurable?: { thread_id?: string } }) => ({ checkpoint: { channel_values: states[config.configurable?.thread_id ?? ""] } }) } as never;
    expect((await readRuns({ ledger, saver })).map((r) => r.runId)).toEqual(["run-a", "run-b"]);
    const inventory = runInventory({ ledger, saver });
    expect(await inventory.lookup("neon_project")).toEqual([
      { id: "bbb", name: "beta-db", run: "run-b" },
      { id: "aaa", name: "alpha-db", run: "run-a" },
    ]);
    expect(await inventory.lookup("redis_database")).toEqual([]);
  });
});

describe("the inventory checked against the providers' list tools", () => {
  it("marks what a provider no longer lists as missing, keeps deleted ones gone, and says why a kind was not checked", async () => {
    const calls: string[] = [];
    const listed: Record<string, unknown> = {
      neon_list_projects: { projects: [{ project_id: "radproj1", name: "rad-crawler-db" }] },
      vercel_list_projects: { projects: [{ project_id: "prj_rad", name: "rad-crawler" }] },
      vercel_list_deployments: { deployments: [{ deployment_id: "dpl_second", url: "http://x", state: "READY" }] },
      fly_list_apps: { apps: [] },
    };
    const checked = await checkInventory(inventoryOf(RUNS), async (tool) => {
      calls.push(tool);
      if (tool === "upstash_list_databases") throw new Error("redis is down");
      return listed[tool];
    });
    const status = Object.fromEntries(checked.map((e) => [e.id, e.status]));
    expect(status).toEqual({ radproj1: "exists", redis01: "unchecked", prj_rad: "exists", dpl_first: "gone", dpl_second: "exists", "rad-crawler": "unchecked", gateway: "missing", undone01: "gone", billing1: "missing" });
    expect(checked.find((e) => e.id === "redis01")?.detail).toBe("upstash_list_databases failed: redis is down");
    expect(checked.find((e) => e.id === "rad-crawler")?.detail).toBe("no list tool for this kind");
    // One list call per kind that has something to check.
    expect(calls.sort()).toEqual(["fly_list_apps", "neon_list_projects", "upstash_list_databases", "vercel_list_deployments", "vercel_list_projects"]);
    const text = renderResources(checked, true);
    expect(text.split("\n")[0]).toMatch(/^kind\s+name\s+id\s+run\s+status$/);
    expect(text).toMatch(/Fly\.io app\s+gateway\s+gateway\s+run-gw\s+gone at the provider/);
    expect(text).toMatch(/Neon project\s+orders-db\s+undone01\s+run-failed\s+deleted \(run-failed:rollback of create_project\)/);
    expect(text).toContain("5 existing, 4 gone (checked against the providers' list tools)");
  });
});

describe("requests that name what earlier runs made", () => {
  const lookup = async (kind: string) =>
    inventoryOf(RUNS)
      .filter((e) => e.kind === kind && !e.goneBy)
      .map(({ id, name, run }) => ({ id, name, run }));
  const plan = (request: string) => planOffline(request, { library, inventory: lookup as never });
  const value = (result: Awaited<ReturnType<typeof plan>>, name: string) => (result.kind === "none" ? undefined : result.params.find((p) => p.name === name));

  it("fills the health check's ids from \"my rad crawler\"", async () => {
    const result = await plan("Check the health of my rad crawler");
    expect(result.kind).toBe("plan");
    expect(value(result, "deployment_id")).toMatchObject({ value: "dpl_second", source: "inventory" });
    expect(value(result, "redis_id")).toMatchObject({ value: "redis01", source: "inventory" });
    expect(value(result, "project_id")).toMatchObject({ value: "radproj1", source: "inventory" });
  });

  it("redeploys a Fly.io app it finds by name on Fly, though the request names no provider", async () => {
    const result = await plan("redeploy the gateway");
    expect(result.kind).toBe("plan");
    expect(value(result, "provider")).toMatchObject({ value: "fly", source: "inventory" });
    expect(result.kind === "plan" && result.plan.steps.map((s) => s.tool)).toEqual(["toolkit.fly_deploy", "toolkit.fly_get_app"]);
  });

  it("says what exists when the name matches nothing", async () => {
    const result = await plan("back up the orders database");
    expect(result.kind).toBe("question");
    const q = result.kind === "question" ? result.questions[0] : undefined;
    expect(q).toMatchObject({ param: "project_id", why: "not_found" });
    expect(q?.choices.map((c) => c.value)).toEqual(["radproj1", "billing1"]);
  });

  it("asks, naming the candidates, when two fit as well", async () => {
    const two = async (kind: string) => (kind === "neon_project" ? [{ id: "shopstg1", name: "shop-staging-db" }, { id: "shopprd1", name: "shop-prod-db" }] : []);
    const result = await planOffline("back up the shop database", { library, inventory: two as never });
    expect(result.kind).toBe("question");
    const q = result.kind === "question" ? result.questions[0] : undefined;
    expect(q).toMatchObject({ param: "project_id", why: "ambiguous" });
    expect(q?.choices.map((c) => c.label)).toEqual(["shop-staging-db (shopstg1)", "shop-prod-db (shopprd1)"]);
  });
});
