import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type AppConfig } from "../../src/config.ts";
import type { Report } from "../../agents/types.ts";
import type { RunContext } from "../../src/engine/run-step.ts";
import type { Scheduler } from "../../src/engine/schedule.ts";
import { openRoot, type Root } from "../../src/run/root.ts";
import { runWorkflow, undoRun } from "../helpers/pipeline.ts";
import type { Plan } from "../../src/plan/schema.ts";
import { ProcessRegistry, type LocalProject } from "../../src/servers/toolkit/providers/local/processes-registry.ts";
import { getWorkflow } from "../../src/workflows/index.ts";
import { expectSucceeded, failingAtTheEnd, stepOutput } from "../helpers/workflow-runs.ts";

/*
 * Every template that touches the toolkit runs end to end on the built-in servers (local
 * backend: the real Postgres and Redis, local process deploys) in a temporary home and
 * workspace. Outcomes are checked on the services themselves; templates that create things are
 * also run with a failing last step and must leave nothing behind.
 */

const ADMIN_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres";
const ADMIN_REDIS = "redis://127.0.0.1:6379";

let home: string;
let config: AppConfig;
let root: Root;
let ctx: RunContext;
const succeeded: Report[] = [];

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), "co-wf-services-"));
  config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), PATH: process.env.PATH }, home);
  root = await openRoot(config);
  ctx = await root.context();
});

afterAll(async () => {
  for (const report of succeeded.reverse()) await undoRun(report, ctx);
  await root?.close();
  rmSync(home, { recursive: true, force: true });
});

const unique = (prefix: string): string => `${prefix}-${randomBytes(3).toString("hex")}`;

/** Runs a template; a successful run is undone after all tests. */
async function run(id: string, values: Record<string, unknown>, transform?: (plan: Plan) => Plan, scheduler: Scheduler = "asap"): Promise<Report> {
  const report = await runWorkflow(root, getWorkflow(id)!, values, { transform, scheduler });
  if (report.status === "succeeded") succeeded.push(report);
  return report;
}

/** A step's output with its secret handles revealed. */
const output = (report: Report, stepId: string): Record<string, unknown> => stepOutput(report, stepId, ctx);

function str(report: Report, stepId: string, field: string): string {
  return String(output(report, stepId)[field]);
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Physical databases of a local Neon project (or of one branch of it). */
async function localDatabases(projectId: string, branchId?: string): Promise<string[]> {
  const prefix = branchId ? `co_${projectId}_${branchId}_` : `co_${projectId}_`;
  const rows = await sql<{ datname: string }>(ADMIN_POSTGRES, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [prefix]);
  return rows.map((r) => r.datname);
}

async function projectRoleExists(projectId: string): Promise<boolean> {
  return (await sql(ADMIN_POSTGRES, "SELECT 1 FROM pg_roles WHERE rolname = $1", [`co_${projectId}`])).length > 0;
}

async function redisDatabaseExists(id: string): Promise<boolean> {
  const admin = createClient({ url: ADMIN_REDIS });
  await admin.connect();
  try {
    return (await admin.exists(`co:upstash:db:${id}`)) === 1;
  } finally {
    admin.destroy();
  }
}

/** SET then GET a key through the database's own credentials. */
async function redisRoundTrip(url: string, prefix: string): Promise<string | null> {
  const client = createClient({ url });
  await client.connect();
  try {
    await client.set(`${prefix}probe`, "ok", { EX: 60 });
    return await client.get(`${prefix}probe`);
  } finally {
    client.destroy();
  }
}

async function health(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function unreachable(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) });
    return false;
  } catch {
    return true;
  }
}

/** The local deploy backend's projects (Vercel projects or Fly apps) by name, with their env and running deployment. */
async function localProjects(kind: "vercel" | "fly"): Promise<Record<string, LocalProject>> {
  const projects = await new ProcessRegistry(path.join(config.home, "toolkit"), kind).list();
  return Object.fromEntries(projects.map((p) => [p.name, p]));
}

/** After a rolled-back run: each thing a step created is gone from the service that held it. */
async function expectNothingLeft(report: Report): Promise<void> {
  expect(report.status).toBe("rolled_back");
  expect(report.leftBehind).toEqual([]);
  const created = report.steps.filter((s) => s.status === "succeeded" && /\.(\w+_create_|delegate_code_generation$)/.test(s.tool)).map((s) => s.id);
  expect(created.length).toBeGreaterThan(0);
  expect(report.compensations.map((c) => c.step).sort()).toEqual(created.sort());
  for (const c of report.compensations) expect(c.status, `rollback of ${c.step}`).toBe("succeeded");
  for (const step of report.steps.filter((s) => s.status === "succeeded")) {
    const out = output(report, step.id);
    const tool = step.tool.split(".")[1];
    if (tool === "neon_create_project") {
      expect(await projectRoleExists(String(out["project_id"]))).toBe(false);
      expect(await localDatabases(String(out["project_id"]))).toEqual([]);
    } else if (tool === "neon_create_branch") {
      expect(await localDatabases(String(out["project_id"]), String(out["branch_id"]))).toEqual([]);
    } else if (tool === "neon_create_database") {
      const names = await localDatabases(String(out["project_id"]), String(out["branch_id"]));
      expect(names.filter((d) => d.endsWith(`_${String(out["database_name"])}`))).toEqual([]);
    } else if (tool === "upstash_create_database") {
      expect(await redisDatabaseExists(String(out["database_id"]))).toBe(false);
    } else if (tool === "vercel_create_project" || tool === "fly_create_app") {
      expect(Object.keys(await localProjects(tool === "fly_create_app" ? "fly" : "vercel"))).not.toContain(String(out["name"] ?? out["app_name"]));
    } else if (tool === "vercel_deploy" || tool === "fly_deploy") {
      expect(await unreachable(String(out["url"]))).toBe(true);
    } else if (tool === "delegate_code_generation") {
      expect(existsSync(String(out["project_dir"]))).toBe(false);
    }
  }
}

describe("rad-crawler-setup (the seed's DAG)", () => {
  it("generates the crawler, provisions Neon and Upstash, deploys it, and the deployed app reaches both", async () => {
    const app = unique("rad");
    const report = await run("rad-crawler-setup", { app_name: app });
    expectSucceeded(report);
    expect(report.steps.map((s) => s.id)).toEqual(["generate_code", "create_neon_project", "create_redis", "create_database", "create_fly_app", "deploy_app"]);
    expect(output(report, "generate_code")["template"]).toBe("crawler");
    expect(existsSync(path.join(config.workspaceRoot, app, "src", "index.ts"))).toBe(true);
    const db = await sql<{ current_database: string }>(str(report, "create_database", "connection_string"), "SELECT current_database()");
    expect(db[0]!.current_database).toMatch(/_crawler$/);
    const redis = output(report, "create_redis");
    expect(await redisRoundTrip(String(redis["url"]), String(redis["key_prefix"]))).toBe("ok");
    expect(await health(str(report, "deploy_app", "url"))).toMatchObject({ status: "ok", db: "up", cache: "up" });
  });

  it("with a failing last step rolls back the deploy, project, cache and database", async () => {
    const report = await run("rad-crawler-setup", { app_name: unique("radf") }, failingAtTheEnd);
    expect(report.steps.filter((s) => s.status === "succeeded")).toHaveLength(6);
    await expectNothingLeft(report);
  });
});

describe("neon-full-setup", () => {
  it("creates a project, a database and a dev branch that holds a copy of it, with a working connection string", async () => {
    const report = await run("neon-full-setup", { project_name: unique("neon"), database_name: "shop", branch_name: "dev" });
    expectSucceeded(report);
    const branch = output(report, "create_branch");
    expect(branch["name"]).toBe("dev");
    const conn = str(report, "branch_connection", "connection_string");
    const rows = await sql<{ current_database: string }>(conn, "SELECT current_database()");
    expect(rows[0]!.current_database).toBe(`co_${String(branch["project_id"])}_${String(branch["branch_id"])}_shop`);
  });

  it("with a failing last step deletes the branch, the database and the project", async () => {
    await expectNothingLeft(await run("neon-full-setup", { project_name: unique("neonf") }, failingAtTheEnd));
  });
});

describe("upstash-redis-setup", () => {
  it("creates a Redis database that is active and accepts its own credentials", async () => {
    const report = await run("upstash-redis-setup", { database_name: unique("cache"), region: "eu-west-1" });
    expectSucceeded(report);
    const db = output(report, "verify_redis");
    expect(db).toMatchObject({ state: "active", primary_region: "eu-west-1" });
    expect(await redisRoundTrip(String(db["url"]), String(db["key_prefix"]))).toBe("ok");
  });

  it("with a failing last step deletes the database", async () => {
    await expectNothingLeft(await run("upstash-redis-setup", { database_name: unique("cachef") }, failingAtTheEnd));
  });
});

describe("vercel-deploy", () => {
  it("generates the app, sets its env, deploys it and reads back a READY deployment that answers", async () => {
    const name = unique("web");
    const report = await run("vercel-deploy", { project_name: name });
    expectSucceeded(report);
    expect(output(report, "verify_deployment")["state"]).toBe("READY");
    expect((await localProjects("vercel"))[name]!.env).toMatchObject({ SERVICE_NAME: name, NODE_ENV: "production" });
    const url = str(report, "deploy", "url");
    expect(await health(url)).toMatchObject({ status: "ok" });
    expect(await (await fetch(url)).json()).toMatchObject({ service: name });
  });

  it("with a failing last step stops the app and deletes the project", async () => {
    await expectNothingLeft(await run("vercel-deploy", { project_name: unique("webf") }, failingAtTheEnd));
  });
});

describe("multi-tenant-provision", () => {
  it("gives each of N tenants its own database and its own cache", async () => {
    const report = await run("multi-tenant-provision", { name: unique("mt"), tenants: 4 });
    expectSucceeded(report);
    expect(report.steps).toHaveLength(9);
    const urls = new Set<string>();
    for (const tenant of ["t1", "t2", "t3", "t4"]) {
      const rows = await sql<{ current_database: string }>(str(report, `database_${tenant}`, "connection_string"), "SELECT current_database()");
      expect(rows[0]!.current_database).toMatch(new RegExp(`_tenant_${tenant}$`));
      const cache = output(report, `cache_${tenant}`);
      expect(await redisRoundTrip(String(cache["url"]), String(cache["key_prefix"]))).toBe("ok");
      urls.add(String(cache["url"]));
    }
    expect(urls.size).toBe(4);
  });

  it("runs the same way as the plan's own graph (the graph scheduler)", async () => {
    const report = await run("multi-tenant-provision", { name: unique("mtw"), tenants: 2 }, undefined, "graph");
    expectSucceeded(report);
    const project = report.steps.find((s) => s.id === "create_project")!;
    for (const id of ["database_t1", "database_t2"]) expect(report.steps.find((s) => s.id === id)!.startedAtMs).toBeGreaterThanOrEqual(project.endedAtMs);
    expect(await localDatabases(str(report, "create_project", "project_id"))).toHaveLength(3);
  });

  it("with a failing last step deletes every tenant's database and cache", async () => {
    await expectNothingLeft(await run("multi-tenant-provision", { name: unique("mtf"), tenants: ["acme", "globex"] }, failingAtTheEnd));
  });
});

describe("fly-deploy and fly-redis-worker", () => {
  it("fly-deploy: creates the app, sets its secrets and starts a machine that answers", async () => {
    const app = unique("api");
    const report = await run("fly-deploy", { app_name: app });
    expectSucceeded(report);
    expect((await localProjects("fly"))[app]!.env).toMatchObject({ SERVICE_NAME: app });
    expect(await health(str(report, "deploy", "url"))).toMatchObject({ status: "ok" });
  });

  it("fly-deploy with a failing last step stops the machine and deletes the app", async () => {
    await expectNothingLeft(await run("fly-deploy", { app_name: unique("apif") }, failingAtTheEnd));
  });

  it("fly-redis-worker: the worker runs with REDIS_URL of its own queue", async () => {
    const app = unique("worker");
    const report = await run("fly-redis-worker", { app_name: app });
    expectSucceeded(report);
    const queue = output(report, "create_queue");
    expect((await localProjects("fly"))[app]!.env["REDIS_URL"]).toBe(queue["url"]);
    expect(await redisRoundTrip(String(queue["url"]), String(queue["key_prefix"]))).toBe("ok");
    expect(await health(str(report, "deploy", "url"))).toMatchObject({ status: "ok" });
  });

  it("fly-redis-worker with a failing last step deletes the queue and the app", async () => {
    await expectNothingLeft(await run("fly-redis-worker", { app_name: unique("workerf") }, failingAtTheEnd));
  });
});

describe("neon-environments and redis-cache-suite", () => {
  it("neon-environments: staging and dev branches each hold a copy of the database", async () => {
    const report = await run("neon-environments", { project_name: unique("envs"), database_name: "app" });
    expectSucceeded(report);
    for (const id of ["staging_branch", "dev_branch"]) {
      const branch = output(report, id);
      const dbs = await localDatabases(String(branch["project_id"]), String(branch["branch_id"]));
      expect(dbs.some((d) => d.endsWith("_app"))).toBe(true);
    }
    expect(output(report, "staging_branch")["branch_id"]).not.toBe(output(report, "dev_branch")["branch_id"]);
  });

  it("neon-environments with a failing last step deletes the branches and the project", async () => {
    await expectNothingLeft(await run("neon-environments", { project_name: unique("envsf") }, failingAtTheEnd));
  });

  it("redis-cache-suite: three separate databases whose keys do not see each other", async () => {
    const report = await run("redis-cache-suite", { app_name: unique("suite") });
    expectSucceeded(report);
    const [cache, sessions] = [output(report, "create_cache"), output(report, "create_sessions")];
    expect(await redisRoundTrip(String(cache["url"]), String(cache["key_prefix"]))).toBe("ok");
    const intruder = createClient({ url: String(sessions["url"]) });
    await intruder.connect();
    try {
      await expect(intruder.get(`${String(cache["key_prefix"])}probe`)).rejects.toThrow(/NOPERM/);
    } finally {
      intruder.destroy();
    }
  });

  it("redis-cache-suite with a failing last step deletes all three", async () => {
    await expectNothingLeft(await run("redis-cache-suite", { app_name: unique("suitef") }, failingAtTheEnd));
  });
});

describe("development and operations on a running environment", () => {
  let neon: Report;
  let redis: Report;
  let app: Report;
  let projectId: string;

  beforeAll(async () => {
    [neon, redis, app] = await Promise.all([
      run("neon-full-setup", { project_name: unique("ops"), database_name: "neondb" }),
      run("upstash-redis-setup", { database_name: unique("opscache") }),
      run("vercel-deploy", { project_name: unique("opsweb") }),
    ]);
    for (const r of [neon, redis, app]) expectSucceeded(r);
    projectId = str(neon, "create_project", "project_id");
    await sql(str(neon, "create_project", "connection_string"), "CREATE TABLE orders (id int); INSERT INTO orders VALUES (42)");
  });

  it("pr-database-branch: the pull request's branch has a copy of the data", async () => {
    const report = await run("pr-database-branch", { project_id: projectId, pr_number: 42 });
    expectSucceeded(report);
    expect(output(report, "create_branch")["name"]).toBe("pr-42");
    expect(await sql(str(report, "connection", "connection_string"), "SELECT id FROM orders")).toEqual([{ id: 42 }]);
  });

  it("pr-database-branch with a failing last step deletes the branch", async () => {
    await expectNothingLeft(await run("pr-database-branch", { project_id: projectId, pr_number: 43 }, failingAtTheEnd));
  });

  it("database-backup: backs up into a branch and restores it into another that holds the data", async () => {
    const report = await run("database-backup", { project_id: projectId, label: "nightly" });
    expectSucceeded(report);
    expect(output(report, "restore")["parent_id"]).toBe(output(report, "backup")["branch_id"]);
    expect(await sql(str(report, "restore", "connection_string"), "SELECT id FROM orders")).toEqual([{ id: 42 }]);
  });

  it("database-backup with a failing last step deletes the restore and the backup branches", async () => {
    await expectNothingLeft(await run("database-backup", { project_id: projectId, label: "weekly" }, failingAtTheEnd));
  });

  it("health-check: reports the deployment READY, the cache active and the database reachable", async () => {
    const report = await run("health-check", {
      deployment_id: str(app, "deploy", "deployment_id"),
      redis_id: str(redis, "create_redis", "database_id"),
      project_id: projectId,
    });
    expectSucceeded(report);
    expect(output(report, "deployment")["state"]).toBe("READY");
    expect(output(report, "cache")["state"]).toBe("active");
    expect(await sql(str(report, "database", "connection_string"), "SELECT 1 AS ok")).toEqual([{ ok: 1 }]);
  });

  it("sync-app-secrets: writes the current DATABASE_URL and REDIS_URL into the app and redeploys it", async () => {
    const appProject = str(app, "create_project", "project_id");
    const report = await run("sync-app-secrets", {
      app_project_id: appProject,
      neon_project_id: projectId,
      database_name: "neondb",
      redis_id: str(redis, "create_redis", "database_id"),
    });
    expectSucceeded(report);
    const env = Object.values(await localProjects("vercel")).find((p) => p.deployment?.id === str(report, "redeploy", "deployment_id"))!.env;
    expect(env["DATABASE_URL"]).toBe(str(report, "database", "connection_string"));
    expect(env["REDIS_URL"]).toBe(str(report, "cache", "url"));
    expect(output(report, "verify")["state"]).toBe("READY");
    expect(await health(str(report, "redeploy", "url"))).toMatchObject({ status: "ok" });
  });

  it("redeploy-app: a new deployment replaces the running one", async () => {
    const appProject = str(app, "create_project", "project_id");
    const before = Object.values(await localProjects("vercel")).find((p) => p.deployment && p.env["SERVICE_NAME"] === str(app, "create_project", "name"))!.deployment!;
    const report = await run("redeploy-app", { project_id: appProject });
    expectSucceeded(report);
    expect(str(report, "deploy", "deployment_id")).not.toBe(before.id);
    expect(output(report, "verify")["state"]).toBe("READY");
    expect(await health(str(report, "deploy", "url"))).toMatchObject({ status: "ok" });
    expect(await unreachable(before.url)).toBe(true);
  });

  it("preview-environment then preview-teardown: a branch's preview runs on a copy of the data, then is removed", async () => {
    const preview = await run("preview-environment", { app_name: unique("pv"), branch: "login", project_id: projectId });
    expectSucceeded(preview);
    const branch = output(preview, "database_branch");
    expect(branch["name"]).toBe("preview-login");
    expect(await sql(String(branch["connection_string"]), "SELECT id FROM orders")).toEqual([{ id: 42 }]);
    const url = str(preview, "deploy_preview", "url");
    expect(await health(url)).toMatchObject({ status: "ok" });

    const teardown = await run("preview-teardown", {
      project_id: projectId,
      branch_id: String(branch["branch_id"]),
      redis_id: str(preview, "create_cache", "database_id"),
      app_project_id: str(preview, "create_project", "project_id"),
    });
    expectSucceeded(teardown);
    expect(await unreachable(url)).toBe(true);
    expect(await localDatabases(projectId, String(branch["branch_id"]))).toEqual([]);
    expect(await redisDatabaseExists(str(preview, "create_cache", "database_id"))).toBe(false);
  });

  it("preview-environment with a failing last step removes the preview", async () => {
    await expectNothingLeft(await run("preview-environment", { app_name: unique("pvf"), branch: "signup", project_id: projectId }, failingAtTheEnd));
  });

  it("teardown-environment: deletes the app, the cache and the database project", async () => {
    const url = str(app, "deploy", "url");
    const report = await run("teardown-environment", {
      app_project_id: str(app, "create_project", "project_id"),
      redis_id: str(redis, "create_redis", "database_id"),
      neon_project_id: projectId,
    });
    expectSucceeded(report);
    expect(await projectRoleExists(projectId)).toBe(false);
    expect(await localDatabases(projectId)).toEqual([]);
    expect(await redisDatabaseExists(str(redis, "create_redis", "database_id"))).toBe(false);
    expect(Object.keys(await localProjects("vercel"))).not.toContain(str(app, "create_project", "name"));
    expect(await unreachable(url)).toBe(true);
  });
});
