/**
 * Every workflow template on the built-in servers (local provider, temporary home and workspace),
 * run once with the asap scheduler and once fully sequential (a copy of the plan where each step
 * depends on the previous one). Prints a table; `benchWorkflows()` returns it.
 *
 *   npx tsx bench/workflows.ts
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Report } from "../agents/types.ts";
import { describeWorkflow } from "../src/cli/workflows.ts";
import { loadConfig, type AppConfig } from "../src/config.ts";
import type { RunContext } from "../src/engine/run-step.ts";
import { openRoot, type Root } from "../src/run/root.ts";
import { DEFAULT_LOCAL_POSTGRES_URL } from "../src/servers/toolkit/env.ts";
import { workflows } from "../src/workflows/index.ts";
import { runWorkflow, sequentialPlan, undoRun } from "../tests/helpers/pipeline.ts";
import type { WorkflowTemplate } from "../src/workflows/types.ts";

export interface WorkflowBenchRow {
  id: string;
  category: string;
  steps: number;
  /** The DAG's critical path by declared estimates. */
  criticalPath: string;
  /** Measured: longest chain of step durations in the asap run. */
  criticalPathMs: number;
  asapMs: number;
  sequentialMs: number;
  speedup: number;
  /** From declared (cloud) estimates: critical path vs the sum of all steps. */
  estimatedMs: number;
  estimatedSequentialMs: number;
  status: string;
}

/** Parameter values for one run (`n` = 0 asap, 1 sequential), made with whatever the template needs first. */
type Values = (n: number) => Promise<Record<string, unknown>>;

interface Env {
  root: Root;
  ctx: RunContext;
  config: AppConfig;
  /** Undoes what the runs and the setup created, run last first at the end. */
  cleanup: (() => Promise<unknown>)[];
  neonProjectId: string;
  redisId: string;
  appProjectId: string;
  deploymentId: string;
}

const unique = (prefix: string): string => `${prefix}-${randomBytes(3).toString("hex")}`;
const FIXTURE = "bench-fixture";

export async function benchWorkflows(): Promise<Record<string, unknown>> {
  const home = mkdtempSync(path.join(tmpdir(), "co-bench-workflows-"));
  const config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), PATH: process.env.PATH }, home);
  const root = await openRoot(config);
  const cleanup: Env["cleanup"] = [];
  try {
    const env = await prepare(root, await root.context(), config, cleanup);
    const rows: WorkflowBenchRow[] = [];
    for (const template of workflows) {
      rows.push(await benchOne(template, valuesFor(template.id, env), env));
      process.stderr.write(`${template.id}: done\n`);
    }
    return { backend: "local (Postgres, Redis, process deploys)", rows, table: renderTable(rows) };
  } finally {
    for (const undo of cleanup.reverse()) await undo();
    await root.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function benchOne(template: WorkflowTemplate, values: Values, env: Env): Promise<WorkflowBenchRow> {
  const asap = await timed(template, await values(0), env, false);
  const sequential = await timed(template, await values(1), env, true);
  const shape = describeWorkflow(template);
  return {
    id: template.id,
    category: template.category,
    steps: asap.report.steps.length,
    criticalPath: shape.criticalPath.steps.join(" → "),
    criticalPathMs: asap.report.timing.criticalPathMs,
    asapMs: asap.ms,
    sequentialMs: sequential.ms,
    speedup: Math.round((sequential.ms / asap.ms) * 100) / 100,
    estimatedMs: shape.estimate.ms,
    estimatedSequentialMs: shape.estimate.sequentialMs,
    status: asap.report.status === sequential.report.status ? asap.report.status : `${asap.report.status}/${sequential.report.status}`,
  };
}

async function timed(template: WorkflowTemplate, values: Record<string, unknown>, env: Env, sequential: boolean): Promise<{ ms: number; report: Report }> {
  await settlePostgres(env.config);
  const started = performance.now();
  const report = await runWorkflow(env.root, template, values, { transform: sequential ? sequentialPlan : undefined });
  const ms = Math.round(performance.now() - started);
  env.cleanup.push(() => undoRun(report, env.ctx));
  return { ms, report };
}

/**
 * CHECKPOINT on the local Postgres before each timed run: DROP DATABASE waits for a checkpoint,
 * which would otherwise make whichever run drops first pay for the writes of the runs before it.
 */
async function settlePostgres(config: AppConfig): Promise<void> {
  const client = new pg.Client({ connectionString: config.env.LOCAL_POSTGRES_URL ?? DEFAULT_LOCAL_POSTGRES_URL });
  await client.connect();
  try {
    await client.query("CHECKPOINT");
  } finally {
    await client.end();
  }
}

/** What the templates that act on existing things need: a project folder, a database, a cache, a deployed app. */
async function prepare(root: Root, ctx: RunContext, config: AppConfig, cleanup: Env["cleanup"]): Promise<Env> {
  writeFixture(path.join(config.workspaceRoot, FIXTURE));
  await ctx.caller.call("workspace", "git_init", { project: FIXTURE });
  await ctx.caller.call("workspace", "git_commit", { project: FIXTURE, message: "fixture" });
  const base = { root, ctx, config, cleanup, neonProjectId: "", redisId: "", appProjectId: "", deploymentId: "" };
  const stack = await provision(base);
  return { ...base, ...stack };
}

/** A Neon project, a Redis database and a deployed app (creations undone at the end). */
async function provision(env: Pick<Env, "ctx" | "cleanup">): Promise<Pick<Env, "neonProjectId" | "redisId" | "appProjectId" | "deploymentId">> {
  const call = async (tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> =>
    (await env.ctx.caller.call("toolkit", tool, args)) as Record<string, unknown>;
  const [neon, redis, app] = await Promise.all([
    call("neon_create_project", { name: unique("bench-db") }),
    call("upstash_create_database", { database_name: unique("bench-cache") }),
    call("vercel_create_project", { name: unique("bench-app") }),
  ]);
  const deploy = await call("vercel_deploy", { project_id: String(app["project_id"]) });
  for (const created of [neon, redis, app]) {
    const rollback = created["rollback"] as { tool: string; arguments: Record<string, unknown> };
    env.cleanup.push(() => call(rollback.tool, rollback.arguments));
  }
  return {
    neonProjectId: String(neon["project_id"]),
    redisId: String(redis["database_id"]),
    appProjectId: String(app["project_id"]),
    deploymentId: String(deploy["deployment_id"]),
  };
}

function valuesFor(id: string, env: Env): Values {
  const fixed = (values: Record<string, unknown>): Values => async () => values;
  const quality = fixed({ project: FIXTURE });
  const table: Record<string, Values> = {
    "rad-crawler-setup": async () => ({ app_name: unique("rad") }),
    "neon-full-setup": async () => ({ project_name: unique("neon") }),
    "upstash-redis-setup": async () => ({ database_name: unique("cache") }),
    "vercel-deploy": async () => ({ project_name: unique("web") }),
    "multi-tenant-provision": async () => ({ name: unique("mt"), tenants: 5 }),
    "fly-deploy": async () => ({ app_name: unique("api") }),
    "fly-redis-worker": async () => ({ app_name: unique("worker") }),
    "preview-environment": async () => ({ app_name: unique("pv"), branch: unique("b"), project_id: env.neonProjectId }),
    "neon-environments": async () => ({ project_name: unique("envs") }),
    "redis-cache-suite": async () => ({ app_name: unique("suite") }),
    "lint-and-typecheck": quality,
    "quality-gate": quality,
    "test-report": quality,
    "dependency-audit": quality,
    "tech-debt-report": quality,
    "pre-commit-check": quality,
    "scaffold-service": async () => ({ project: unique("svc") }),
    "github-repo-bootstrap": async () => ({ repo_name: unique("repo") }),
    "feature-branch": async () => ({ project: FIXTURE, branch: `feature/${unique("f")}`, from: "main", project_id: env.neonProjectId }),
    "open-pull-request": async () => {
      const head = `feature/${unique("pr")}`;
      await env.ctx.caller.call("workspace", "git_branch", { project: FIXTURE, action: "create", name: head });
      return { project: FIXTURE, repo_name: unique("prrepo"), head };
    },
    "pr-database-branch": async (n) => ({ project_id: env.neonProjectId, pr_number: 100 + n }),
    "release-branch": async (n) => ({ project: FIXTURE, version: `1.0.${n}` }),
    "health-check": fixed({ deployment_id: env.deploymentId, redis_id: env.redisId, project_id: env.neonProjectId }),
    "sync-app-secrets": fixed({ app_project_id: env.appProjectId, neon_project_id: env.neonProjectId, redis_id: env.redisId }),
    "database-backup": async () => ({ project_id: env.neonProjectId, label: unique("l") }),
    "redeploy-app": fixed({ project_id: env.appProjectId }),
    "preview-teardown": async () => previewToTearDown(env),
    "teardown-environment": async () => {
      const stack = await provision(env);
      return { app_project_id: stack.appProjectId, redis_id: stack.redisId, neon_project_id: stack.neonProjectId };
    },
  };
  const values = table[id];
  if (!values) throw new Error(`bench/workflows.ts: no parameter values for workflow "${id}"`);
  return values;
}

/** A preview environment to tear down (made with preview-environment, not timed). */
async function previewToTearDown(env: Env): Promise<Record<string, unknown>> {
  const template = workflows.find((w) => w.id === "preview-environment")!;
  const report = await runWorkflow(env.root, template, { app_name: unique("pvt"), branch: "x", project_id: env.neonProjectId });
  env.cleanup.push(() => undoRun(report, env.ctx));
  const out = (id: string, field: string): string => String((report.steps.find((s) => s.id === id)?.output as Record<string, unknown>)[field]);
  return {
    project_id: env.neonProjectId,
    branch_id: out("database_branch", "branch_id"),
    redis_id: out("create_cache", "database_id"),
    app_project_id: out("create_project", "project_id"),
  };
}

/** A small TypeScript project with lint findings, a type error, a failing test and a TODO. */
function writeFixture(dir: string): void {
  mkdirSync(path.join(dir, "src"), { recursive: true });
  mkdirSync(path.join(dir, "test"), { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: FIXTURE, type: "module", scripts: { test: "node --test test/math.test.js" }, dependencies: { "left-pad": "*" } }));
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "NodeNext", types: [] }, include: ["src"] }));
  writeFileSync(path.join(dir, "src", "math.ts"), "export function double(n: number): number {\n  const unused = 1; // TODO: remove\n  return n * 2;\n}\nexport const wrong: number = \"two\";\n");
  writeFileSync(path.join(dir, "test", "math.test.js"), 'import { test } from "node:test";\nimport assert from "node:assert/strict";\ntest("adds", () => assert.equal(1 + 1, 2));\ntest("fails", () => assert.equal(2 * 2, 5));\n');
}

function renderTable(rows: WorkflowBenchRow[]): string {
  const header =
    "| workflow | category | steps | critical path (by estimates) | measured critical path ms | asap ms | sequential ms | speedup | cloud estimate: parallel / sequential s | status |";
  const lines = rows.map(
    (r) =>
      `| ${r.id} | ${r.category} | ${r.steps} | ${r.criticalPath} | ${r.criticalPathMs} | ${r.asapMs} | ${r.sequentialMs} | ${r.speedup}× | ` +
      `${r.estimatedMs / 1000} / ${r.estimatedSequentialMs / 1000} | ${r.status} |`,
  );
  return [header, "|---|---|---|---|---|---|---|---|---|---|", ...lines].join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await benchWorkflows();
  process.stdout.write(`${String(result["table"])}\n`);
  process.exit(0);
}
