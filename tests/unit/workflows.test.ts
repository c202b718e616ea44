import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { loadConfig } from "../../src/config.ts";
import { openRoot, type Root } from "../../src/run/root.ts";
import type { ToolInfo } from "../../src/mcp/catalog.ts";
import { findReferences } from "../../src/plan/interpolate.ts";
import type { Plan } from "../../src/plan/schema.ts";
import { formatProblem, validatePlan } from "../../src/plan/validate.ts";
import {
  getWorkflow,
  instantiate,
  isWorkflowParamsError,
  REQUIRED_WORKFLOW_IDS,
  WORKFLOW_CATEGORIES,
  workflows,
} from "../../src/workflows/index.ts";
import { tenantNames } from "../../src/workflows/multi-tenant-provision.ts";
import { sequentialPlan } from "../helpers/pipeline.ts";
import type { WorkflowTemplate } from "../../src/workflows/types.ts";

/** A value each required parameter accepts (ids, folders, numbers), found by trying candidates. */
function sampleValues(template: WorkflowTemplate): Record<string, unknown> {
  const candidates = ["abc123", "demo-project", 7];
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(template.params.shape as Record<string, z.ZodType>)) {
    if (schema.safeParse(undefined).success) continue;
    const value = candidates.find((c) => schema.safeParse(c).success);
    if (value === undefined) throw new Error(`${template.id}: no sample value for required parameter "${name}"`);
    values[name] = value;
  }
  return values;
}

/** The plan with its `${param}` references replaced (step references stay), as the engine would call the tools. */
function withParams(plan: Plan): Plan {
  const params = plan.params ?? {};
  const sub = (value: unknown): unknown => {
    if (typeof value === "string") {
      const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
      if (whole && Object.hasOwn(params, whole[1]!)) return params[whole[1]!];
      return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (text, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : text));
    }
    if (Array.isArray(value)) return value.map(sub);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sub(v)]));
    return value;
  };
  return { ...plan, steps: plan.steps.map((s) => ({ ...s, params: sub(s.params) as Record<string, unknown> })) };
}

describe("workflow registry", () => {
  it("has 25+ templates: 10 infrastructure, 5+ code quality, 5 development, 5+ operations, with unique ids", () => {
    expect(workflows.length).toBeGreaterThanOrEqual(25);
    expect(new Set(workflows.map((w) => w.id)).size).toBe(workflows.length);
    const count = (c: string): number => workflows.filter((w) => w.category === c).length;
    expect(count("infrastructure")).toBeGreaterThanOrEqual(10);
    expect(count("code-quality")).toBeGreaterThanOrEqual(5);
    expect(count("development")).toBeGreaterThanOrEqual(5);
    expect(count("operations")).toBeGreaterThanOrEqual(5);
    for (const w of workflows) expect(WORKFLOW_CATEGORIES).toContain(w.category);
  });

  it("has every required id, and getWorkflow finds each template", () => {
    for (const id of REQUIRED_WORKFLOW_IDS) expect(getWorkflow(id)?.id).toBe(id);
    expect(getWorkflow("no-such-workflow")).toBeUndefined();
  });
});

describe.each(workflows.map((w) => [w.id, w] as const))("template %s", (_id, template) => {
  it("describes itself for the catalog planner: name, description, tags, 3+ distinct example requests", () => {
    expect(template.name.length).toBeGreaterThan(3);
    expect(template.description.length).toBeGreaterThan(40);
    expect(template.tags.length).toBeGreaterThanOrEqual(3);
    expect(template.examples.length).toBeGreaterThanOrEqual(3);
    expect(new Set(template.examples.map((e) => e.toLowerCase())).size).toBe(template.examples.length);
  });

  it("instantiates with defaults (plus a value for each required parameter) into a valid plan on the built-in servers", () => {
    const plan = instantiate(template, sampleValues(template));
    const result = validatePlan(withParams(plan), { tools: builtinTools });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
    expect(validatePlan(plan, { tools: builtinTools }).ok).toBe(true);
  });

  it("declares every dependency it reads, and every step has an estimate", () => {
    const plan = instantiate(template, sampleValues(template));
    const ids = new Set(plan.steps.map((s) => s.id));
    for (const step of plan.steps) {
      const read = findReferences(step.params).map((r) => r.root).filter((root) => ids.has(root));
      for (const root of read) expect(step.dependencies, `${step.id} reads ${root}`).toContain(root);
      expect(step.estimate?.ms, `${step.id} estimate`).toBeGreaterThan(0);
    }
  });

  it("uses each of its parameters, and references only declared ones", () => {
    const declared = Object.keys(template.params.shape);
    const plan = instantiate(template, sampleValues(template));
    const used = new Set(plan.steps.flatMap((s) => findReferences(s.params).map((r) => r.root)));
    const ids = new Set(plan.steps.map((s) => s.id));
    for (const root of used) if (!ids.has(root)) expect(declared).toContain(root);
    const shaping = template.build ? declared.filter((name) => !used.has(name)) : [];
    for (const name of declared.filter((n) => !shaping.includes(n))) expect([...used], `parameter ${name}`).toContain(name);
  });
});

describe.each(workflows.filter((w) => w.build).map((w) => [w.id, w] as const))("template %s (built from its parameters)", (_id, template) => {
  it("shows as `plan` the plan its defaults build", () => {
    const plan = instantiate(template, sampleValues(template));
    expect(plan.steps.map((s) => s.id)).toEqual(template.plan.steps.map((s) => s.id));
  });
});

let builtinTools: readonly ToolInfo[] = [];
let root: Root | undefined;
let home: string;
beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), "co-workflows-unit-"));
  const config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), PATH: process.env.PATH }, home);
  root = await openRoot(config);
  builtinTools = (await root.context()).caller.tools;
});
afterAll(async () => {
  await root?.close();
  rmSync(home, { recursive: true, force: true });
});

describe("instantiate", () => {
  const neon = getWorkflow("neon-full-setup")!;

  it("fills defaults into the plan's params, and the given values over them", () => {
    const plan = instantiate(neon, { project_name: "shop-db" });
    expect(plan.params).toEqual({ project_name: "shop-db", database_name: "app", branch_name: "dev" });
    expect(plan.steps[0]!.params).toEqual({ name: "${project_name}" });
  });

  it("names an unknown parameter and lists the known ones", () => {
    const attempt = (): unknown => instantiate(neon, { projct_name: "x" });
    expect(attempt).toThrow(/workflow "neon-full-setup": unknown parameter "projct_name" \(parameters: project_name, database_name, branch_name\)/);
  });

  it("names a parameter with a bad value", () => {
    let error: unknown;
    try {
      instantiate(neon, { project_name: "Bad Name!" });
    } catch (e) {
      error = e;
    }
    expect(isWorkflowParamsError(error)).toBe(true);
    expect((error as Error).message).toMatch(/parameter "project_name": expected lowercase letters/);
  });

  it("names a missing required parameter", () => {
    expect(() => instantiate(getWorkflow("pr-database-branch")!, { project_id: "abc" })).toThrow(/parameter "pr_number"/);
  });

  it("takes a number or boolean from the command line as text where the parameter is text", () => {
    const plan = instantiate(getWorkflow("upstash-redis-setup")!, { database_name: 2024 });
    expect(plan.params?.["database_name"]).toBe("2024");
    expect(() => instantiate(getWorkflow("pr-database-branch")!, { project_id: "abc", pr_number: "x" })).toThrow(/parameter "pr_number"/);
  });

  it("does not share state between instantiations", () => {
    const a = instantiate(neon, {});
    a.steps[0]!.params["name"] = "changed";
    expect(instantiate(neon, {}).steps[0]!.params["name"]).toBe("${project_name}");
  });
});

describe("multi-tenant-provision expands to N tenants", () => {
  const template = getWorkflow("multi-tenant-provision")!;

  it("one project plus a database and a cache per tenant; every cache starts at once, every database right after the project", () => {
    const plan = instantiate(template, { tenants: 5 });
    expect(plan.steps).toHaveLength(11);
    const databases = plan.steps.filter((s) => s.id.startsWith("database_"));
    const caches = plan.steps.filter((s) => s.id.startsWith("cache_"));
    expect(databases.map((s) => s.params["database_name"])).toEqual(["tenant_t1", "tenant_t2", "tenant_t3", "tenant_t4", "tenant_t5"]);
    for (const s of databases) expect(s.dependencies).toEqual(["create_project"]);
    for (const s of caches) expect(s.dependencies).toEqual([]);
  });

  it("takes tenant names as a list, and refuses duplicates and bad counts", () => {
    const plan = instantiate(template, { tenants: ["acme", "globex"] });
    expect(plan.steps.map((s) => s.id)).toEqual(["create_project", "database_acme", "cache_acme", "database_globex", "cache_globex"]);
    expect(tenantNames(2)).toEqual(["t1", "t2"]);
    expect(() => instantiate(template, { tenants: ["acme", "acme"] })).toThrow(/tenant names must be distinct/);
    expect(() => instantiate(template, { tenants: 0 })).toThrow(/parameter "tenants"/);
    expect(() => instantiate(template, { tenants: 21 })).toThrow(/parameter "tenants"/);
  });
});

describe("database-backup", () => {
  it("restores the backup into a second branch unless restore=false", () => {
    const template = getWorkflow("database-backup")!;
    expect(instantiate(template, { project_id: "abc" }).steps.map((s) => s.id)).toEqual(["backup", "restore"]);
    expect(instantiate(template, { project_id: "abc", restore: false }).steps.map((s) => s.id)).toEqual(["backup"]);
  });
});

describe("fly templates", () => {
  it.each(["fly-deploy", "fly-redis-worker"])("%s passes an image to fly_deploy only when one is given", (id) => {
    const deploy = (values: Record<string, unknown>): Record<string, unknown> => instantiate(getWorkflow(id)!, values).steps.find((s) => s.id === "deploy")!.params;
    expect(deploy({})).not.toHaveProperty("image");
    expect(deploy({ image: "registry.fly.io/app:1" })).toMatchObject({ image: "${image}" });
    expect(instantiate(getWorkflow(id)!, { image: "registry.fly.io/app:1" }).params).toMatchObject({ image: "registry.fly.io/app:1" });
  });
});

describe("operations templates take the provider as a parameter", () => {
  const tools = (id: string, provider: string): string[] => instantiate(getWorkflow(id)!, { ...sampleValues(getWorkflow(id)!), provider }).steps.map((s) => s.tool);
  it.each([
    ["redeploy-app", ["toolkit.vercel_deploy", "toolkit.vercel_get_deployment"], ["toolkit.fly_deploy", "toolkit.fly_get_app"]],
    ["health-check", ["toolkit.vercel_get_deployment", "toolkit.upstash_get_database", "toolkit.neon_get_connection_string"], ["toolkit.fly_get_app", "toolkit.upstash_get_database", "toolkit.neon_get_connection_string"]],
    ["sync-app-secrets", ["toolkit.neon_get_connection_string", "toolkit.upstash_get_database", "toolkit.vercel_set_env", "toolkit.vercel_deploy", "toolkit.vercel_get_deployment"], ["toolkit.neon_get_connection_string", "toolkit.upstash_get_database", "toolkit.fly_deploy", "toolkit.fly_get_app"]],
    ["teardown-environment", ["toolkit.vercel_delete_project", "toolkit.upstash_delete_database", "toolkit.neon_delete_project"], ["toolkit.fly_delete_app", "toolkit.upstash_delete_database", "toolkit.neon_delete_project"]],
  ])("%s: Vercel by default, Fly.io with provider=fly, one template, each a valid plan", (id, vercel, fly) => {
    expect(tools(id, "vercel")).toEqual(vercel);
    expect(tools(id, "fly")).toEqual(fly);
    const plan = instantiate(getWorkflow(id)!, { ...sampleValues(getWorkflow(id)!), provider: "fly" });
    const result = validatePlan(withParams(plan), { tools: builtinTools });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
    expect(() => instantiate(getWorkflow(id)!, { ...sampleValues(getWorkflow(id)!), provider: "heroku" })).toThrow(/parameter "provider"/);
  });

  it("sync-app-secrets on Fly.io sets DATABASE_URL and REDIS_URL as the app's secrets in the redeploy", () => {
    const plan = instantiate(getWorkflow("sync-app-secrets")!, { ...sampleValues(getWorkflow("sync-app-secrets")!), provider: "fly" });
    expect(plan.steps.find((s) => s.id === "redeploy")?.params).toMatchObject({ secrets: { DATABASE_URL: "${database.connection_string}", REDIS_URL: "${cache.url}" } });
  });
});

describe("every template has an end-to-end test", () => {
  const e2e = readdirSync(new URL("../e2e/", import.meta.url))
    .filter((f) => /^workflows.*\.test\.ts$/.test(f))
    .map((f) => readFileSync(new URL(`../e2e/${f}`, import.meta.url), "utf8"))
    .join("\n");
  it.each(workflows.map((w) => w.id))("%s is run in tests/e2e/workflows*.test.ts", (id) => {
    expect(e2e).toMatch(new RegExp(`run(?:WorkflowCommand)?\\(\\[?\\s*(?:"--workflow",\\s*)?"${id}"`));
  });
});

describe("sequentialPlan", () => {
  it("chains every step after the previous one in topological order, keeping declared dependencies", () => {
    const plan = sequentialPlan(instantiate(getWorkflow("rad-crawler-setup")!, {}));
    const result = validatePlan(plan);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const order = result.prepared.order;
    expect(order).toHaveLength(6);
    order.slice(1).forEach((id, i) => expect(result.prepared.deps[id]).toContain(order[i]));
    expect(plan.steps.find((s) => s.id === "deploy_app")!.dependencies).toEqual(expect.arrayContaining(["create_fly_app", "create_redis"]));
  });
});
