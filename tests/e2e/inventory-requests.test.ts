import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../agents/types.ts";
import { loadConfig, type AppConfig } from "../../src/config.ts";
import type { CheckedEntry } from "../../src/planner/run-inventory.ts";
import { openRoot } from "../../src/run/root.ts";
import { runMain } from "../helpers/cli.ts";

/*
 * Inventory references end to end on the local provider, each request through the one pipeline
 * (`run "<request>"`): the README's RAD request creates the crawler on Fly.io; later requests name
 * it ("my rad crawler") instead of typing ids, and the planner fills them from what the first run
 * made — health check, backup, redeploy, teardown — and `resources` says what exists after each.
 */

const ADMIN_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres";
const RAD = "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis";

let home: string;
let config: AppConfig;

beforeAll(() => {
  home = mkdtempSync(path.join(os.tmpdir(), "co-inventory-"));
  config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), PATH: process.env.PATH }, home);
});

/** Whatever a failed test left behind is deleted with the toolkit's own delete calls. */
afterAll(async () => {
  const left = await resources();
  const root = await openRoot(config);
  try {
    const { caller } = await root.context();
    const calls: Record<string, [string, string]> = { neon_project: ["neon_delete_project", "project_id"], redis_database: ["upstash_delete_database", "database_id"], fly_app: ["fly_delete_app", "app_name"] };
    for (const e of left.filter((r) => r.status === "exists")) {
      const call = calls[e.kind];
      if (call) await caller.call("toolkit", call[0], { [call[1]]: e.id }).catch(() => {});
    }
  } finally {
    await root.close();
    rmSync(home, { recursive: true, force: true });
  }
});

async function run(request: string, ...flags: string[]): Promise<Report> {
  const result = await runMain(["run", request, "--json", "--yes", ...flags], config);
  expect(result.stderr).not.toContain("error:");
  const report = JSON.parse(result.stdout) as Report;
  if (report.status !== "succeeded") throw new Error(`${request}: ${report.status}\n${result.stderr}\n${JSON.stringify(report.planner)}`);
  expect(result.code).toBe(0);
  return report;
}

async function resources(...flags: string[]): Promise<CheckedEntry[]> {
  const result = await runMain(["resources", "--json", ...flags], config);
  return (JSON.parse(result.stdout) as { resources: CheckedEntry[] }).resources;
}

const param = (report: Report, name: string) => report.planner?.params?.find((p) => p.name === name);
const output = (report: Report, step: string) => report.steps.find((s) => s.id === step)?.output as Record<string, unknown> | undefined;

async function projectRoleExists(projectId: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_POSTGRES });
  await client.connect();
  try {
    return (await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [`co_${projectId}`])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe("requests that name what an earlier request made (local provider, one pipeline)", () => {
  it("creates the RAD crawler, then checks, backs up, redeploys and tears it down by name", async () => {
    const created = await run(RAD);
    const projectId = String(output(created, "create_neon_project")?.["project_id"]);
    const redisId = String(output(created, "create_redis")?.["database_id"]);
    expect(output(created, "create_fly_app")?.["app_name"]).toBe("rad-crawler");

    const made = await resources();
    expect(made.filter((r) => r.status === "exists").map((r) => [r.kind, r.name, r.id, r.run])).toEqual(
      expect.arrayContaining([
        ["neon_project", "rad-crawler-db", projectId, created.threadId],
        ["redis_database", "rad-crawler-cache", redisId, created.threadId],
        ["fly_app", "rad-crawler", "rad-crawler", created.threadId],
      ]),
    );
    // Every one the runs made is there at the provider too.
    const checked = await resources("--check");
    expect(checked.filter((r) => ["neon_project", "redis_database", "fly_app"].includes(r.kind)).map((r) => r.status)).toEqual(["exists", "exists", "exists"]);

    const health = await run("Check the health of my rad crawler");
    expect(health.planner?.workflow?.id).toBe("health-check");
    expect(param(health, "project_id")).toMatchObject({ value: projectId, source: "inventory" });
    expect(param(health, "redis_id")).toMatchObject({ value: redisId, source: "inventory" });
    expect(param(health, "deployment_id")).toMatchObject({ value: "rad-crawler", source: "inventory" });
    expect(param(health, "provider")).toMatchObject({ value: "fly", source: "inventory" });
    expect(output(health, "deployment")).toMatchObject({ app_name: "rad-crawler", state: "started" });
    expect(output(health, "cache")?.["state"]).toBe("active");

    const backup = await run("back up the rad crawler database");
    expect(backup.planner?.workflow?.id).toBe("database-backup");
    expect(param(backup, "project_id")).toMatchObject({ value: projectId, source: "inventory" });
    expect(output(backup, "backup")).toMatchObject({ project_id: projectId, name: "backup-nightly" });

    const before = output(created, "deploy_app")?.["machine_id"];
    const redeploy = await run("redeploy the rad crawler");
    expect(redeploy.planner?.workflow?.id).toBe("redeploy-app");
    expect(redeploy.steps.map((s) => s.tool)).toEqual(["toolkit.fly_deploy", "toolkit.fly_get_app"]);
    expect(output(redeploy, "deploy")?.["machine_id"]).not.toBe(before);
    expect(output(redeploy, "verify")?.["state"]).toBe("started");

    const down = await run("tear down the rad crawler environment", "--allow-destructive");
    expect(down.planner?.workflow?.id).toBe("teardown-environment");
    expect(Object.fromEntries(["app_project_id", "redis_id", "neon_project_id"].map((n) => [n, param(down, n)?.value]))).toEqual({
      app_project_id: "rad-crawler",
      redis_id: redisId,
      neon_project_id: projectId,
    });
    expect(down.steps.map((s) => s.tool).sort()).toEqual(["toolkit.fly_delete_app", "toolkit.neon_delete_project", "toolkit.upstash_delete_database"]);
    expect(await projectRoleExists(projectId)).toBe(false);

    // What the teardown deleted (the backup branches with their project) is marked so; nothing is left at the providers.
    const after = await resources("--check");
    const byId = Object.fromEntries(after.map((r) => [`${r.kind}:${r.id}`, r]));
    expect(byId[`neon_project:${projectId}`]?.goneBy).toBe(`${down.threadId}:delete_database`);
    expect(byId[`redis_database:${redisId}`]?.status).toBe("gone");
    expect(byId["fly_app:rad-crawler"]?.status).toBe("gone");
    expect(after.filter((r) => r.kind === "neon_branch").map((r) => r.status)).toEqual(["gone", "gone"]);

    // Named again, it is gone: the planner says so and what exists instead of planning.
    const again = await runMain(["run", "Check the health of my rad crawler", "--json"], config);
    expect(again.code).toBe(2);
    expect(again.stdout + again.stderr).toMatch(/no (Upstash Redis database|Neon project|Fly\.io app) matches the request|names no/);
  }, 600_000);
});
