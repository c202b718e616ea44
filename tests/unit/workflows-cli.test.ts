import { describe, expect, it } from "vitest";
import { isUsageError } from "../../src/cli/args.ts";
import type { Io } from "../../src/cli/run.ts";
import { describeWorkflow, paramInfo, runWorkflowCommand, workflowsCommand } from "../../src/cli/workflows.ts";
import { loadConfig } from "../../src/config.ts";
import { getWorkflow, workflows } from "../../src/workflows/index.ts";

const config = loadConfig({ CREDIT_OPTIMIZER_HOME: "/tmp/co-workflows-cli-unit" }, "/tmp");

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

async function usageError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isUsageError(error)).toBe(true);
  return (error as Error).message;
}

describe("credit-optimizer workflows", () => {
  it("lists every template under its category with its step count", async () => {
    const io = capture();
    expect(await workflowsCommand([], config, io)).toBe(0);
    const text = io.stdout.join("\n");
    for (const category of ["infrastructure (10)", "code-quality (6)", "development (6)", "operations (6)"]) expect(text).toContain(category);
    for (const w of workflows) expect(text).toMatch(new RegExp(`${w.id}\\s+${w.plan.steps.length} steps\\s+${w.name.replace(/[()]/g, "\\$&")}`));
    expect(text).toContain(`${workflows.length} workflows.`);
  });

  it("--json lists ids, categories and step counts", async () => {
    const io = capture();
    await workflowsCommand(["--json"], config, io);
    const list = JSON.parse(io.stdout.join("")) as { id: string; category: string; steps: number }[];
    expect(list).toHaveLength(workflows.length);
    expect(list[0]).toMatchObject({ id: "rad-crawler-setup", category: "infrastructure", steps: 6 });
  });

  it("show prints the parameters, the DAG levels, the critical path and the estimate", async () => {
    const io = capture();
    expect(await workflowsCommand(["show", "rad-crawler-setup"], config, io)).toBe(0);
    const text = io.stdout.join("\n");
    expect(text).toContain('--param app_name=<string>  default "rad-crawler"');
    expect(text).toContain("0: generate_code, create_neon_project, create_redis");
    expect(text).toContain("1: create_database");
    expect(text).toContain("3: deploy_app");
    expect(text).toContain("Critical path: generate_code → create_fly_app → deploy_app (~136.5 s)");
    expect(text).toMatch(/Estimate: ~136.5 s in parallel vs ~149.5 s one step at a time, ~\$0.61/);
  });

  it("show marks required parameters and parameter-shaped plans", async () => {
    const io = capture();
    await workflowsCommand(["show", "pr-database-branch"], config, io);
    expect(io.stdout.join("\n")).toContain("--param pr_number=<number>  required — Pull request number");
    const fly = capture();
    await workflowsCommand(["show", "fly-deploy"], config, fly);
    expect(fly.stdout.join("\n")).toContain("--param image=<string>  optional — Container image");
    const tenants = capture();
    await workflowsCommand(["show", "multi-tenant-provision"], config, tenants);
    expect(tenants.stdout.join("\n")).toContain("The steps depend on the parameters; shown for the defaults.");
  });

  it("refuses an unknown workflow, naming the known ones, and a missing id", async () => {
    expect(await usageError(workflowsCommand(["show", "nope"], config, capture()))).toMatch(/no workflow "nope" \(known: rad-crawler-setup, neon-full-setup/);
    expect(await usageError(workflowsCommand(["show"], config, capture()))).toMatch(/needs a workflow id/);
    expect(await usageError(workflowsCommand(["list"], config, capture()))).toMatch(/unknown workflows command "list"/);
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
    expect(await usageError(runWorkflowCommand([], config, capture()))).toMatch(/run needs --workflow <id>/);
    expect(await usageError(runWorkflowCommand(["--workflow", "nope"], config, capture()))).toMatch(/no workflow "nope"/);
  });

  it("names an unknown or invalid parameter", async () => {
    const unknown = await usageError(runWorkflowCommand(["--workflow", "neon-full-setup", "--param", "size=3"], config, capture()));
    expect(unknown).toBe('workflow "neon-full-setup": unknown parameter "size" (parameters: project_name, database_name, branch_name)');
    const bad = await usageError(runWorkflowCommand(["--workflow", "multi-tenant-provision", "--param", "tenants=50"], config, capture()));
    expect(bad).toMatch(/workflow "multi-tenant-provision": parameter "tenants"/);
  });

  it("refuses a bad scheduler", async () => {
    expect(await usageError(runWorkflowCommand(["--workflow", "neon-full-setup", "--scheduler", "fast"], config, capture()))).toMatch(/--scheduler must be asap or waves/);
  });
});
