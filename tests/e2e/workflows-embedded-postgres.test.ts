import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import type { Report } from "../../agents/types.ts";
import type { RunContext } from "../../src/engine/run-step.ts";
import { openRoot, type Root } from "../../src/run/root.ts";
import { runWorkflow, undoRun } from "../helpers/pipeline.ts";
import { hostFile, readState } from "../../src/servers/toolkit/providers/local/embedded-neon.ts";
import { getWorkflow } from "../../src/workflows/index.ts";
import { expectSucceeded, failingAtTheEnd, stepOutput } from "../helpers/workflow-runs.ts";

/*
 * The seed's RAD Crawler setup with LOCAL_POSTGRES_URL=embedded: Neon on the embedded Postgres
 * (what a machine without a Postgres server gets), Upstash on the local Redis, the deploy a local
 * process. The deployed crawler must reach its database; a failed run must leave nothing.
 */

let home: string;
let root: Root;
let ctx: RunContext;
const succeeded: Report[] = [];
const toolkitDir = (): string => path.join(home, "toolkit");

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), "co-wf-embedded-"));
  const config = loadConfig(
    { CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), LOCAL_POSTGRES_URL: "embedded", PATH: process.env.PATH },
    home,
  );
  root = await openRoot(config);
  ctx = await root.context();
});

afterAll(async () => {
  for (const report of succeeded) await undoRun(report, ctx);
  await root?.close();
  rmSync(home, { recursive: true, force: true });
});

async function run(values: Record<string, unknown>, transform?: typeof failingAtTheEnd): Promise<Report> {
  const report = await runWorkflow(root, getWorkflow("rad-crawler-setup")!, values, { transform, scheduler: "asap" });
  if (report.status === "succeeded") succeeded.push(report);
  return report;
}

const output = (report: Report, stepId: string): Record<string, unknown> => stepOutput(report, stepId, ctx);

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

describe("rad-crawler-setup on the embedded Postgres", () => {
  it("provisions Neon on PGlite, and the deployed crawler reaches its database and cache", async () => {
    const report = await run({ app_name: `rad-${randomBytes(3).toString("hex")}` });
    expectSucceeded(report);
    const db = output(report, "create_database");
    const state = await readState(toolkitDir());
    expect(state.projects[String(db["project_id"])]).toBeDefined();
    expect(Number(new URL(String(db["connection_string"])).port)).toBe(
      state.databases[`co_${String(db["project_id"])}_${String(db["branch_id"])}_crawler`]?.port,
    );
    const res = await fetch(`${String(output(report, "deploy_app")["url"])}/health`, { signal: AbortSignal.timeout(10_000) });
    expect(await res.json()).toMatchObject({ status: "ok", db: "up", cache: "up" });

    // The role's password is derived when needed, never stored: not in the state, host files, log or data dirs.
    const password = Buffer.from(decodeURIComponent(new URL(String(db["connection_string"])).password));
    const files = readdirSync(path.join(toolkitDir(), "embedded-postgres"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.map((e) => e.name)).toEqual(expect.arrayContaining(["state.json", "host.json", "host.log", "blank.tar"]));
    for (const entry of files) expect(readFileSync(path.join(entry.parentPath, entry.name)).includes(password), entry.name).toBe(false);
  });

  it("with a failing last step rolls everything back: no embedded database, ACL user or process is left", async () => {
    const before = Object.keys((await readState(toolkitDir())).projects);
    const report = await run({ app_name: `radf-${randomBytes(3).toString("hex")}` }, failingAtTheEnd);
    expect(report.status).toBe("rolled_back");
    expect(report.leftBehind).toEqual([]);
    expect(report.compensations.map((c) => [c.step, c.status]).sort()).toEqual(
      ["create_database", "create_fly_app", "create_neon_project", "create_redis", "generate_code"].map((s) => [s, "succeeded"]),
    );
    const project = String(output(report, "create_neon_project")["project_id"]);
    const state = await readState(toolkitDir());
    expect(Object.keys(state.projects)).toEqual(before);
    expect(Object.keys(state.databases).filter((name) => name.startsWith(`co_${project}_`))).toEqual([]);
    expect(readdirSync(path.join(toolkitDir(), "embedded-postgres", "data")).filter((name) => name.startsWith(`co_${project}_`))).toEqual([]);
    const redis = createClient({ url: "redis://127.0.0.1:6379" });
    await redis.connect();
    try {
      expect(await redis.exists(`co:upstash:db:${String(output(report, "create_redis")["database_id"])}`)).toBe(0);
    } finally {
      redis.destroy();
    }
    expect(await reachable(String(output(report, "deploy_app")["url"]))).toBe(false);
  });

  it("once the succeeded run is undone, the embedded host has nothing left and exits", async () => {
    for (const report of succeeded.splice(0)) await undoRun(report, ctx);
    expect(await readState(toolkitDir())).toEqual({ projects: {}, databases: {} });
    const deadline = Date.now() + 20_000;
    while (existsSync(hostFile(toolkitDir())) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(hostFile(toolkitDir()))).toBe(false);
  });
});
