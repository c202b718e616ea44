import { describe, expect, it } from "vitest";
import { describeWorkflow, paramInfo } from "../../src/cli/workflows.ts";
import { runMain } from "../helpers/cli.ts";
import { loadConfig } from "../../src/config.ts";
import { getWorkflow, workflows } from "../../src/workflows/index.ts";

const config = loadConfig({ CREDIT_OPTIMIZER_HOME: "/tmp/co-workflows-cli-unit" }, "/tmp");

const workflowsCli = (...args: string[]) => runMain(["workflows", ...args], config);

/** A command line that is refused before anything connects: exit 2, and the message. */
async function usageError(argv: string[]): Promise<string> {
  const result = await runMain(argv, config);
  expect(result.code).toBe(2);
  return result.stderr;
}

describe("credit-optimizer workflows", () => {
  it("lists every template under its category with its step count", async () => {
    const result = await workflowsCli();
    expect(result.code).toBe(0);
    const text = result.stdout;
    for (const category of ["infrastructure (10)", "code-quality (6)", "development (6)", "operations (6)"]) expect(text).toContain(category);
    for (const w of workflows) expect(text).toMatch(new RegExp(`${w.id}\\s+${w.plan.steps.length} steps\\s+${w.name.replace(/[()]/g, "\\$&")}`));
    expect(text).toContain(`${workflows.length} workflows.`);
  });

  it("--json lists ids, categories and step counts", async () => {
    const list = JSON.parse((await workflowsCli("--json")).stdout) as { id: string; category: string; steps: number }[];
    expect(list).toHaveLength(workflows.length);
    expect(list[0]).toMatchObject({ id: "rad-crawler-setup", category: "infrastructure", steps: 6 });
  });

  it("show prints the parameters, the DAG levels, the critical path and the estimate", async () => {
    const result = await workflowsCli("show", "rad-crawler-setup");
    expect(result.code).toBe(0);
    const text = result.stdout;
    expect(text).toContain('--param app_name=<string>  default "rad-crawler"');
    expect(text).toContain("0: generate_code, create_neon_project, create_redis");
    expect(text).toContain("1: create_database");
    expect(text).toContain("3: deploy_app");
    expect(text).toContain("Critical path: generate_code → create_fly_app → deploy_app (~136.5 s)");
    expect(text).toMatch(/Estimate: ~136.5 s in parallel vs ~149.5 s one step at a time, ~\$0.61/);
  });

  it("show marks required parameters and parameter-shaped plans", async () => {
    expect((await workflowsCli("show", "pr-database-branch")).stdout).toContain("--param pr_number=<number>  required — Pull request number");
    expect((await workflowsCli("show", "fly-deploy")).stdout).toContain("--param image=<string>  optional — Container image");
    expect((await workflowsCli("show", "multi-tenant-provision")).stdout).toContain("The steps depend on the parameters; shown for the defaults.");
  });

  it("refuses an unknown workflow, naming the known ones, and a missing id", async () => {
    expect(await usageError(["workflows", "show", "nope"])).toMatch(/no workflow "nope" \(known: rad-crawler-setup, neon-full-setup/);
    expect(await usageError(["workflows", "show"])).toMatch(/needs a workflow id/);
    expect(await usageError(["workflows", "list"])).toMatch(/unknown workflows command "list"/);
  });
});

describe("describeWorkflow", () => {
  it("multi-tenant-provision: every cache and the project in level 0, the databases in level 1", () => {
    const d = describeWorkflow(getWorkflow("multi-tenant-provision")!);
    expect(d.levels).toEqual([
      ["create_project", "cache_t1", "cache_t2", "cache_t3"],
      ["database_t1", "database_t2", "database_t3"],
    ]);
    expect(d.criticalPath).toEqual({ steps: ["create_project", "database_t1"], ms: 8000 });
    expect(d.estimate.sequentialMs).toBe(27_000);
  });

  it("paramInfo reads types, defaults and descriptions from the schema", () => {
    expect(paramInfo(getWorkflow("vercel-deploy")!)).toEqual([
      expect.objectContaining({ name: "project_name", type: "string", required: false, default: "web-app" }),
      expect.objectContaining({ name: "task", type: "string", required: false }),
      expect.objectContaining({ name: "target", type: "production|preview", required: false, default: "production" }),
    ]);
  });
});

describe("credit-optimizer run --workflow (argument errors, before anything connects)", () => {
  it("needs --workflow and a known id", async () => {
    expect(await usageError(["run"])).toMatch(/run needs a request in quotes, --plan <plan.json> or --workflow <id>/);
    expect(await usageError(["run", "--workflow", "nope"])).toMatch(/no workflow "nope"/);
  });

  it("names an unknown or invalid parameter", async () => {
    const unknown = await usageError(["run", "--workflow", "neon-full-setup", "--param", "size=3"]);
    expect(unknown).toBe('workflow "neon-full-setup": unknown parameter "size" (parameters: project_name, database_name, branch_name)');
    const bad = await usageError(["run", "--workflow", "multi-tenant-provision", "--param", "tenants=50"]);
    expect(bad).toMatch(/workflow "multi-tenant-provision": parameter "tenants"/);
  });

  it("refuses a bad scheduler", async () => {
    expect(await usageError(["run", "--workflow", "neon-full-setup", "--scheduler", "fast"])).toMatch(/--scheduler.*Allowed choices are asap, graph/);
  });
});
