import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isProviderError } from "../../src/servers/toolkit/http.ts";
import { isVercelError, vercelTools } from "../../src/servers/toolkit/providers/vercel.ts";
import type { ToolkitEnv, ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { startVercelFake, type VercelFake, type VercelFakeOptions } from "../fixtures/fakes/vercel.ts";
import { checkedTool } from "./toolkit-core-client.ts";

const TOKEN = "vercel-test-token-0123456789";

function tool(name: string): ToolkitTool {
  return checkedTool(vercelTools, name);
}

let fake: VercelFake | undefined;
let root: string | undefined;

async function setup(options: Partial<VercelFakeOptions> = {}, extra: Partial<NonNullable<ToolkitEnv["vercel"]>> = {}): Promise<{ fake: VercelFake; env: ToolkitEnv }> {
  fake = await startVercelFake({ token: TOKEN, teamId: "team_42", ...options });
  root = await mkdtemp(path.join(os.tmpdir(), "toolkit-vercel-"));
  const env: ToolkitEnv = {
    dataDir: path.join(root, "data"),
    workspaceRoot: path.join(root, "workspace"),
    localPostgresUrl: "postgres://127.0.0.1:1/none",
    localRedisUrl: "redis://127.0.0.1:1",
    vercel: {
      token: TOKEN,
      baseUrl: fake.url,
      teamId: "team_42",
      pollIntervalMs: 10,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...extra,
    },
  };
  return { fake, env };
}

async function writeApp(env: ToolkitEnv, name: string): Promise<string> {
  const dir = path.join(env.workspaceRoot as string, name);
  await mkdir(path.join(dir, "src"), { recursive: true });
  await mkdir(path.join(dir, "node_modules", "pg"), { recursive: true });
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name, scripts: { start: "node src/server.js" } }));
  await writeFile(path.join(dir, "src", "server.js"), "console.log('hi')\n");
  await writeFile(path.join(dir, "node_modules", "pg", "index.js"), "module.exports = {}\n");
  return dir;
}

afterEach(async () => {
  await fake?.close();
  if (root) await rm(root, { recursive: true, force: true });
  fake = undefined;
  root = undefined;
});

describe("vercel cloud backend", () => {
  it("creates a project with bearer auth and teamId, and declares its rollback", async () => {
    const { fake, env } = await setup();
    const output = await tool("vercel_create_project").run({ name: "rad-crawler" }, env);
    expect(output).toEqual({ project_id: expect.stringMatching(/^prj_/), name: "rad-crawler", created: true });
    const request = fake.requests[0];
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/v11/projects");
    expect(request?.query.get("teamId")).toBe("team_42");
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(tool("vercel_create_project").rollback?.({ name: "rad-crawler" }, output)).toEqual({
      tool: "vercel_delete_project",
      arguments: { project_id: output.project_id },
    });
  });

  it("treats a 409 as the existing project of that name (idempotent, nothing to roll back)", async () => {
    const { fake, env } = await setup();
    const first = await tool("vercel_create_project").run({ name: "rad-crawler" }, env);
    const second = await tool("vercel_create_project").run({ name: "rad-crawler" }, env);
    expect(second).toEqual({ ...first, created: false });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /v11/projects",
      "POST /v11/projects",
      "GET /v9/projects/rad-crawler",
    ]);
    expect(tool("vercel_create_project").rollback?.({ name: "rad-crawler" }, second)).toBeUndefined();
  });

  it("upserts env vars as encrypted for every target", async () => {
    const { fake, env } = await setup();
    const { project_id } = await tool("vercel_create_project").run({ name: "app" }, env);
    const output = await tool("vercel_set_env").run({ project_id, env: { DATABASE_URL: "postgres://u:p@h/db", MODE: "x" } }, env);
    expect(output).toEqual({ project_id, keys: ["DATABASE_URL", "MODE"] });
    const stored = fake.projects.get(project_id as string)?.env;
    expect(stored?.get("DATABASE_URL")).toEqual({ value: "postgres://u:p@h/db", type: "encrypted", target: ["production", "preview", "development"] });
  });

  it("fails on failed[] entries of a 201, naming the key and never the value", async () => {
    const { env } = await setup({ rejectKeys: ["REDIS_URL"] });
    const { project_id } = await tool("vercel_create_project").run({ name: "app" }, env);
    const failure = await tool("vercel_set_env")
      .run({ project_id, env: { REDIS_URL: "redis://default:hunter2-secret@cache:6379", OK: "1" } }, env)
      .catch((error: unknown) => error);
    expect(isVercelError(failure) && failure.code).toBe("ENV_FAILED");
    expect((failure as Error).message).toMatch(/REDIS_URL: A variable with the name `REDIS_URL` already exists/);
    expect((failure as Error).message).not.toContain("hunter2-secret");
  });

  it("removes env values from provider errors", async () => {
    const { fake, env } = await setup();
    const { project_id } = await tool("vercel_create_project").run({ name: "app" }, env);
    fake.inject({ method: "POST", path: /\/env$/, times: 1, reply: { status: 400, body: { error: { code: "bad", message: "value redis://:pa55w0rd-xyz@cache is too long" } } } });
    const failure = await tool("vercel_set_env").run({ project_id, env: { REDIS_URL: "redis://:pa55w0rd-xyz@cache" } }, env).catch((e: unknown) => e);
    expect(isProviderError(failure) && failure.status).toBe(400);
    expect((failure as Error).message).toMatch(/is too long/);
    expect((failure as Error).message).not.toContain("pa55w0rd-xyz");
  });

  it("deploys: sets env first, uploads the workspace app without node_modules, polls to READY", async () => {
    const { fake, env } = await setup();
    const { project_id } = await tool("vercel_create_project").run({ name: "rad-crawler" }, env);
    const dir = await writeApp(env, "rad-crawler");
    const output = await tool("vercel_deploy").run({ project_id, env: { DATABASE_URL: "postgres://x", REDIS_URL: "redis://y" } }, env);
    expect(output).toEqual({
      deployment_id: expect.stringMatching(/^dpl_/),
      project_id,
      url: "https://rad-crawler.vercel.app",
      deployment_url: expect.stringMatching(/^https:\/\/rad-crawler-[0-9a-f]+\.vercel\.app$/),
      state: "READY",
      source: "source_dir",
      source_dir: dir,
    });
    const order = fake.requests.map((r) => `${r.method} ${r.path.replace(/(prj|dpl)_[0-9a-f]+/, "$1")}`);
    expect(order).toEqual([
      "POST /v11/projects",
      "POST /v10/projects/prj/env",
      "GET /v9/projects/prj",
      "POST /v13/deployments",
      "GET /v13/deployments/dpl",
      "GET /v13/deployments/dpl",
    ]);
    const deployment = fake.deployments.get(output.deployment_id as string);
    expect(deployment?.target).toBe("production");
    expect(deployment?.files.map((f) => f.file).sort()).toEqual(["package.json", "src/server.js"]);
    expect(Buffer.from(deployment?.files.find((f) => f.file === "src/server.js")?.data ?? "", "base64").toString()).toBe("console.log('hi')\n");
    expect(await tool("vercel_get_deployment").run({ deployment_id: output.deployment_id }, env)).toEqual({
      deployment_id: output.deployment_id,
      project_id,
      url: output.url,
      deployment_url: output.deployment_url,
      state: "READY",
    });
  });

  it("deploys a preview without a target (\"preview\" is not a documented value), returning its own URL", async () => {
    const { fake, env } = await setup();
    const { project_id } = await tool("vercel_create_project").run({ name: "preview-app" }, env);
    await writeApp(env, "preview-app");
    const output = await tool("vercel_deploy").run({ project_id, target: "preview" }, env);
    const post = fake.requests.find((r) => r.method === "POST" && r.path === "/v13/deployments");
    expect(post?.body).not.toHaveProperty("target");
    expect(output.state).toBe("READY");
    expect(output.url).toBe(output.deployment_url);
  });

  it("stops at BLOCKED instead of polling until the timeout", async () => {
    const { fake, env } = await setup({ states: ["BLOCKED"] }, { deployTimeoutMs: 60_000 });
    const { project_id } = await tool("vercel_create_project").run({ name: "blocked" }, env);
    await writeApp(env, "blocked");
    const failure = await tool("vercel_deploy").run({ project_id }, env).catch((error: unknown) => error);
    expect(isVercelError(failure) && failure.code).toBe("DEPLOY_FAILED");
    expect((failure as Error).message).toMatch(/ended in BLOCKED/);
    expect(fake.requests.filter((r) => r.method === "GET" && r.path.startsWith("/v13/deployments/"))).toHaveLength(1);
  });

  it("adopts a project created before its 500, instead of reporting the 409 of a retry as \"not created\"", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "POST", path: /^\/v11\/projects$/, times: 1, afterRoute: true, reply: { status: 500, body: { error: { code: "internal", message: "oops" } } } });
    const output = await tool("vercel_create_project").run({ name: "adopted" }, env);
    expect(output).toEqual({ project_id: [...fake.projects.values()][0]?.id, name: "adopted", created: true });
    expect(tool("vercel_create_project").rollback?.({ name: "adopted" }, output)).toMatchObject({ tool: "vercel_delete_project" });
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("never repeats a deployment create that failed with a 5xx", async () => {
    const { fake, env } = await setup();
    const { project_id } = await tool("vercel_create_project").run({ name: "once" }, env);
    await writeApp(env, "once");
    fake.inject({ method: "POST", path: /^\/v13\/deployments$/, times: 1, afterRoute: true, reply: { status: 502, body: { error: { code: "bad_gateway", message: "bad gateway" } } } });
    const failure = await tool("vercel_deploy").run({ project_id }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(502);
    expect((failure as Error).message).toContain("a deployment of project once may have been created all the same");
    expect(fake.deployments.size).toBe(1);
    expect(fake.requests.filter((r) => r.method === "POST" && r.path === "/v13/deployments")).toHaveLength(1);
  });

  it("fails when the deployment ends in ERROR, with Vercel's error message", async () => {
    const { env } = await setup({ states: ["BUILDING", "ERROR"] });
    const { project_id } = await tool("vercel_create_project").run({ name: "broken" }, env);
    await writeApp(env, "broken");
    const failure = await tool("vercel_deploy").run({ project_id }, env).catch((error: unknown) => error);
    expect(isVercelError(failure) && failure.code).toBe("DEPLOY_FAILED");
    expect((failure as Error).message).toMatch(/ended in ERROR: Command "npm run build" exited with 1/);
  });

  it("gives up polling after deployTimeoutMs", async () => {
    const { env } = await setup({ states: ["BUILDING"] }, { deployTimeoutMs: 200 });
    const { project_id } = await tool("vercel_create_project").run({ name: "slow" }, env);
    await writeApp(env, "slow");
    const failure = await tool("vercel_deploy").run({ project_id }, env).catch((error: unknown) => error);
    expect(isVercelError(failure) && failure.code).toBe("DEPLOY_TIMEOUT");
    expect((failure as Error).message).toMatch(/still BUILDING after 200 ms/);
  });

  it("refuses to deploy when there is no app directory", async () => {
    const { fake, env } = await setup();
    const { project_id } = await tool("vercel_create_project").run({ name: "empty" }, env);
    const failure = await tool("vercel_deploy").run({ project_id }, env).catch((error: unknown) => error);
    expect(isVercelError(failure) && failure.code).toBe("NO_SOURCE");
    expect(fake.deployments.size).toBe(0);
  });

  it("retries 429 (retry-after) and 5xx, then succeeds", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "POST", path: /^\/v11\/projects$/, times: 1, reply: { status: 429, headers: { "retry-after": "0" }, body: { error: { code: "rate_limited", message: "slow down" } } } });
    fake.inject({ method: "POST", path: /^\/v11\/projects$/, times: 1, reply: { status: 503, body: { error: { code: "unavailable", message: "try later" } } } });
    const output = await tool("vercel_create_project").run({ name: "retried" }, env);
    expect(output.created).toBe(true);
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(3);
  });

  it("surfaces provider errors with their status, the token scrubbed", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "POST", path: /^\/v11\/projects$/, times: 1, reply: { status: 400, body: { error: { code: "bad_request", message: `invalid token ${TOKEN} for this request` } } } });
    const failure = await tool("vercel_create_project").run({ name: "nope" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(400);
    expect((failure as Error).message).toContain("invalid token");
    expect((failure as Error).message).not.toContain(TOKEN);
    const wrongTeam = await tool("vercel_create_project")
      .run({ name: "nope" }, { ...env, vercel: { ...(env.vercel as NonNullable<ToolkitEnv["vercel"]>), teamId: "team_other" } })
      .catch((error: unknown) => error);
    expect(isProviderError(wrongTeam) && wrongTeam.status).toBe(403);
  });

  it("deletes a project (204), and reports an already-deleted one as not existing", async () => {
    const { fake, env } = await setup();
    const { project_id } = await tool("vercel_create_project").run({ name: "gone" }, env);
    expect(tool("vercel_delete_project").destructive).toBe(true);
    expect(await tool("vercel_delete_project").run({ project_id }, env)).toEqual({ project_id, deleted: true, existed: true });
    expect(fake.projects.size).toBe(0);
    expect(await tool("vercel_delete_project").run({ project_id }, env)).toEqual({ project_id, deleted: true, existed: false });
  });
});
