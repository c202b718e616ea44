import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctorCommand } from "../../src/cli/doctor.ts";
import { loadConfig, type AppConfig } from "../../src/config.ts";
import type { DoctorReport } from "../../src/doctor/checks.ts";
import type { Report } from "../../agents/types.ts";
import { openRoot, type Root } from "../../src/run/root.ts";
import { readState } from "../../src/servers/toolkit/providers/local/embedded-state.ts";
import { isRunning, freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";
import { readPrivateServer, stopPrivateRedis } from "../../src/servers/toolkit/providers/local/private-redis.ts";
import { getWorkflow } from "../../src/workflows/index.ts";
import { runMain } from "../helpers/cli.ts";
import { runWorkflow, undoRun } from "../helpers/pipeline.ts";
import { expectSucceeded, stepOutput } from "../helpers/workflow-runs.ts";

/*
 * A machine where nothing answers at the default Redis address (LOCAL_REDIS_DEFAULT_URL points at
 * a closed port; LOCAL_REDIS_URL unset). With redis-server on the PATH, the RAD request runs on a
 * private redis-server and a second CLI run (a new runtime, new server processes) reuses it.
 * Without redis-server on the PATH, the preflight names the problem and its fixes before anything
 * is created. `doctor --json` tells the two apart.
 */

const RAD = getWorkflow("rad-crawler-setup")!;
const homes: string[] = [];
const temp: string[] = [];
let closedRedis: string;


function newConfig(extra: Record<string, string> = {}): AppConfig {
  const home = mkdtempSync(path.join(os.tmpdir(), "co-wf-private-redis-"));
  homes.push(home);
  return loadConfig(
    { CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), LOCAL_REDIS_DEFAULT_URL: closedRedis, PATH: process.env.PATH, ...extra },
    home,
  );
}

async function doctorJson(config: AppConfig): Promise<DoctorReport> {
  const out: string[] = [];
  const code = await doctorCommand({ json: true }, config, { out: (t) => out.push(t), err: () => {} });
  const report = JSON.parse(out.join("\n")) as DoctorReport;
  expect(code).toBe(report.ok ? 0 : 1);
  return report;
}

const row = (report: DoctorReport, check: string) => report.rows.find((r) => r.check === check);

async function health(url: string): Promise<unknown> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
  return res.json();
}

beforeAll(async () => {
  closedRedis = `redis://127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  // No private redis-server outlives the tests, whatever happened above.
  for (const home of homes) {
    await stopPrivateRedis(path.join(home, "toolkit"));
    rmSync(home, { recursive: true, force: true });
  }
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe("with redis-server on the PATH and no Redis at the default address", () => {
  let config: AppConfig;
  const reports: Report[] = [];
  let root: Root | undefined;

  beforeAll(() => {
    config = newConfig();
  });
  afterAll(async () => {
    await root?.close();
  });

  it("runs the RAD request on a private redis-server, and a second run reuses it", async () => {
    const toolkitDir = path.join(config.home, "toolkit");
    root = await openRoot(config);
    let ctx = await root.context();
    const first = await runWorkflow(root, RAD, { app_name: `radp-${randomBytes(3).toString("hex")}` });
    reports.push(first);
    expectSucceeded(first);
    const server = await readPrivateServer(toolkitDir);
    expect(server).toBeDefined();
    expect(await isRunning(server!.pid, server!.started)).toBe(true);
    const redis = stepOutput(first, "create_redis", ctx);
    expect(redis).toMatchObject({ endpoint: "127.0.0.1", port: server!.port });
    const firstUrl = String(stepOutput(first, "deploy_app", ctx)["url"]);
    expect(await health(firstUrl)).toMatchObject({ status: "ok", db: "up", cache: "up" });
    await root.close();

    // Another CLI run: new server processes, the same private redis-server.
    root = await openRoot(config);
    ctx = await root.context();
    const second = await runWorkflow(root, RAD, { app_name: `radp-${randomBytes(3).toString("hex")}` });
    reports.push(second);
    expectSucceeded(second);
    expect(await readPrivateServer(toolkitDir)).toEqual(server);
    expect(stepOutput(second, "create_redis", ctx)["port"]).toBe(server!.port);
    // The app deployed by the first run still reaches its cache.
    expect(await health(firstUrl)).toMatchObject({ cache: "up" });

    const report = await doctorJson(config);
    expect(row(report, "redis")).toMatchObject({ status: "ok", value: `private: databases live on the private redis-server: the private redis-server runs on 127.0.0.1:${server!.port}` });
  }, 240_000);

  it("stops the private redis-server once both runs are undone", async () => {
    const server = await readPrivateServer(path.join(config.home, "toolkit"));
    expect(server).toBeDefined();
    for (const report of reports.splice(0).reverse()) expect(await undoRun(report, await root!.context())).toEqual([]);
    const deadline = Date.now() + 10_000;
    while ((await isRunning(server!.pid, server!.started)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await isRunning(server!.pid, server!.started)).toBe(false);
    expect(await readPrivateServer(path.join(config.home, "toolkit"))).toBeUndefined();
    // Without a server and with redis-server installed, doctor says one is started on first use.
    expect(row(await doctorJson(config), "redis")?.value).toMatch(/^private: no Redis answers at redis:\/\/127\.0\.0\.1:\d+: a private redis-server \(.*redis-server\) is started on first use$/);
  });
});

describe("without redis-server on the PATH", () => {
  it("the preflight names the problem and its fixes before anything is created, and doctor agrees", async () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), "co-bin-"));
    temp.push(bin);
    symlinkSync("/usr/bin/git", path.join(bin, "git"));
    const config = newConfig({ PATH: bin });
    const appName = `radn-${randomBytes(3).toString("hex")}`;
    // The one pipeline: the credit-validator's preflight refuses the plan before the executor starts.
    const run = await runMain(["run", "--workflow", "rad-crawler-setup", "--param", `app_name=${appName}`, "--yes", "--json"], config);
    expect(run.code).toBe(2);
    const runReport = JSON.parse(run.stdout) as Report;
    expect(runReport.outcome).toBe("preflight_failed");
    expect(runReport.steps).toEqual([]);
    expect(runReport.problems).toHaveLength(1);
    const line = runReport.problems[0]!;
    expect(line).toMatch(/^step create_redis \(toolkit\.upstash_create_database\): no Redis answers at redis:\/\/127\.0\.0\.1:\d+, and redis-server is not installed/);
    for (const text of ["sudo apt-get install -y redis-server", "brew install redis", "LOCAL_REDIS_URL=redis://", "UPSTASH_EMAIL and UPSTASH_API_KEY"]) expect(line).toContain(text);

    // Nothing was made: no Neon project on the Postgres server nor the embedded one, no private Redis.
    const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    await admin.connect();
    try {
      const { rows } = await admin.query("SELECT rolname FROM pg_roles WHERE starts_with(rolname, 'co_') AND shobj_description(oid, 'pg_authid') LIKE $1", [`%${appName}%`]);
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
    expect((await readState(path.join(config.home, "toolkit"))).projects).toEqual({});
    expect(existsSync(path.join(config.home, "toolkit", "private-redis", "server.json"))).toBe(false);

    const report = await doctorJson(config);
    expect(report.ok).toBe(false);
    expect(row(report, "redis")).toMatchObject({ status: "fail" });
    expect(row(report, "redis")?.value).toMatch(/^none: no Redis answers at redis:\/\/127\.0\.0\.1:\d+, and redis-server is not installed/);
    expect(row(report, "redis")?.fix).toContain("sudo apt-get install -y redis-server");
    expect(row(report, "git")).toMatchObject({ status: "ok", value: `installed: ${path.join(bin, "git")}` });
  });
});
