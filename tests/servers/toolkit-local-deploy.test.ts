import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flyTools } from "../../src/servers/toolkit/providers/fly.ts";
import { vercelTools } from "../../src/servers/toolkit/providers/vercel.ts";
import { isLocalDeployError } from "../../src/servers/toolkit/providers/local/processes.ts";
import { waitForHealth } from "../../src/servers/toolkit/providers/local/processes-launch.ts";
import { isToolInputError, type ToolkitEnv, type ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { crawlerTemplate } from "../../src/servers/workspace/templates/crawler.ts";
import { checkedTool } from "./toolkit-core-client.ts";
import { processAlive } from "../helpers/cli.ts";

const tools = [...vercelTools, ...flyTools];
function tool(name: string): ToolkitTool {
  return checkedTool(tools, name);
}

let root: string;
let env: ToolkitEnv;

function freshEnv(): ToolkitEnv {
  return {
    dataDir: path.join(root, "data"),
    workspaceRoot: path.join(root, "workspace"),
    localPostgresUrl: "postgres://127.0.0.1:1/none",
    localRedisUrl: "redis://127.0.0.1:1",
    localDeployTimeoutMs: 45_000,
  };
}

/** Writes an app under the workspace: package.json with `start`, plus the given files. */
async function writeApp(name: string, start: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(root, "workspace", name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name, type: "module", scripts: { start } }));
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  return dir;
}

const ECHO_APP = `
import http from "node:http";
http.createServer((req, res) => {
  if (req.url === "/health") { res.writeHead(200); res.end("ok"); return; }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ greeting: process.env.GREETING ?? null, port: process.env.PORT, secret: process.env.API_SECRET ?? null }));
}).listen(Number(process.env.PORT), "127.0.0.1");
`;

interface Registry {
  projects: Record<string, { deployment?: { pid: number; port: number; logFile: string } }>;
}

async function registry(kind: "vercel" | "fly"): Promise<Registry> {
  return JSON.parse(await readFile(path.join(root, "data", "deploys", `${kind}.json`), "utf8")) as Registry;
}

async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
    return false;
  } catch {
    return true;
  }
}

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "toolkit-local-deploy-"));
  env = freshEnv();
});

afterEach(async () => {
  for (const kind of ["vercel", "fly"] as const) {
    const file = await registry(kind).catch(() => undefined);
    for (const project of Object.values(file?.projects ?? {})) {
      if (project.deployment) {
        try {
          process.kill(-project.deployment.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }
  await rm(root, { recursive: true, force: true });
});

describe("local Vercel-like deploys", () => {
  it("deploys the workspace app with its env, answers on its URL, and is gone after delete", async () => {
    await writeApp("demo", "node server.mjs", { "server.mjs": ECHO_APP });
    const project = await tool("vercel_create_project").run({ name: "demo" }, env);
    expect(project).toMatchObject({ name: "demo", created: true });
    expect(tool("vercel_create_project").rollback?.({ name: "demo" }, project)).toEqual({
      tool: "vercel_delete_project",
      arguments: { project_id: project.project_id },
    });

    const deployed = await tool("vercel_deploy").run({ project_id: project.project_id, env: { GREETING: "hello" } }, env);
    expect(deployed).toMatchObject({ project_id: project.project_id, state: "READY", source: "source_dir" });
    const url = deployed.url as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const body = (await (await fetch(`${url}/`)).json()) as { greeting: string; port: string };
    expect(body).toEqual({ greeting: "hello", port: url.split(":")[2], secret: null });

    const link = path.join(root, "workspace", "demo", "node_modules");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(path.resolve("node_modules"));

    const status = await tool("vercel_get_deployment").run({ deployment_id: deployed.deployment_id }, env);
    expect(status).toMatchObject({ deployment_id: deployed.deployment_id, url, state: "READY" });

    const { pid, logFile } = (await registry("vercel")).projects.demo!.deployment!;
    expect(processAlive(pid)).toBe(true);
    expect(existsSync(logFile)).toBe(true);
    const deleted = await tool("vercel_delete_project").run({ project_id: project.project_id }, env);
    expect(deleted).toEqual({ project_id: project.project_id, deleted: true, existed: true });
    expect(processAlive(pid)).toBe(false);
    expect(await refuses(url)).toBe(true);
    expect((await registry("vercel")).projects).toEqual({});
    expect(existsSync(logFile)).toBe(false);
  });

  it("runs `tsx <file>` apps with this installation's packages resolvable", async () => {
    await writeApp("typed", "tsx server.ts", {
      "server.ts": `
import http from "node:http";
import pg from "pg";
const kind: string = typeof pg.Client;
http.createServer((req, res) => { res.writeHead(200); res.end(req.url === "/health" ? "ok" : kind); })
  .listen(Number(process.env.PORT), "127.0.0.1");
`,
    });
    const project = await tool("vercel_create_project").run({ name: "typed" }, env);
    const deployed = await tool("vercel_deploy").run({ project_id: "typed" }, env);
    expect(deployed.source).toBe("source_dir");
    expect(await (await fetch(`${deployed.url as string}/`)).text()).toBe("function");
    await tool("vercel_delete_project").run({ project_id: project.project_id }, env);
  });

  it("deploys the built-in health-check app when the project has no source directory", async () => {
    const project = await tool("vercel_create_project").run({ name: "nothing-here" }, env);
    const deployed = await tool("vercel_deploy").run({ project_id: project.project_id }, env);
    expect(deployed).toMatchObject({ state: "READY", source: "default-app" });
    const health = await fetch(`${deployed.url as string}/health`);
    expect(health.status).toBe(200);
    await tool("vercel_delete_project").run({ project_id: project.project_id }, env);
    expect(await refuses(deployed.url as string)).toBe(true);
  });

  it("keeps its registry on disk: a later process reads, redeploys and deletes what an earlier one started", async () => {
    await writeApp("kept", "node server.mjs", { "server.mjs": ECHO_APP });
    const project = await tool("vercel_create_project").run({ name: "kept" }, env);
    const first = await tool("vercel_deploy").run({ project_id: project.project_id, env: { GREETING: "one" } }, env);
    const firstPid = (await registry("vercel")).projects.kept?.deployment?.pid as number;

    const restarted = freshEnv();
    expect(await tool("vercel_create_project").run({ name: "kept" }, restarted)).toEqual({ ...project, created: false });
    expect(tool("vercel_create_project").rollback?.({ name: "kept" }, { ...project, created: false })).toBeUndefined();
    expect(await tool("vercel_get_deployment").run({ deployment_id: first.deployment_id }, restarted)).toMatchObject({ state: "READY" });

    const second = await tool("vercel_deploy").run({ project_id: "kept" }, restarted);
    expect(processAlive(firstPid)).toBe(false);
    expect(await refuses(first.url as string)).toBe(true);
    expect(((await (await fetch(`${second.url as string}/`)).json()) as { greeting: string }).greeting).toBe("one");

    const secondPid = (await registry("vercel")).projects.kept?.deployment?.pid as number;
    await tool("vercel_delete_project").run({ project_id: project.project_id }, freshEnv());
    expect(processAlive(secondPid)).toBe(false);
    expect(await refuses(second.url as string)).toBe(true);
  });

  it("fails with the app's last output (secrets removed) when it exits, and leaves nothing running", async () => {
    await writeApp("crashy", "node server.mjs", {
      "server.mjs": `console.log("connecting with " + process.env.API_SECRET); console.error("boom: cannot start"); process.exit(3);`,
    });
    await tool("vercel_create_project").run({ name: "crashy" }, env);
    const failure = await tool("vercel_deploy")
      .run({ project_id: "crashy", env: { API_SECRET: "s3cr3t-value" } }, env)
      .catch((error: unknown) => error);
    expect(isLocalDeployError(failure) && failure.code).toBe("START_FAILED");
    expect((failure as Error).message).toContain("boom: cannot start");
    expect((failure as Error).message).toContain("exited with code 3");
    expect((failure as Error).message).not.toContain("s3cr3t-value");
    expect((await registry("vercel")).projects.crashy?.deployment).toBeUndefined();
  });

  it("sees an app that had already exited when the health wait began", async () => {
    const child = spawn(process.execPath, ["-e", "process.exit(3)"], { stdio: "ignore" });
    await new Promise((resolve) => child.once("exit", resolve));
    await expect(waitForHealth({ url: "http://127.0.0.1:1", child, timeoutMs: 20_000 })).rejects.toThrow("the app exited with code 3 before GET /health answered 200");
  });

  it("kills an app that never gets healthy within the timeout", async () => {
    // 8 s: node must start the app and print before the timeout, on a loaded machine too.
    await writeApp("sick", "node server.mjs", {
      "server.mjs": `import http from "node:http";
console.log("sick app up");
http.createServer((req, res) => { res.writeHead(503); res.end(); }).listen(Number(process.env.PORT), "127.0.0.1");`,
    });
    await tool("vercel_create_project").run({ name: "sick" }, env);
    let pid = 0;
    const watcher = setInterval(() => {
      void registry("vercel").then((r) => (pid = r.projects.sick?.deployment?.pid ?? pid), () => undefined);
    }, 100);
    const failure = await tool("vercel_deploy")
      .run({ project_id: "sick" }, { ...env, localDeployTimeoutMs: 8_000 })
      .catch((error: unknown) => error);
    clearInterval(watcher);
    expect((failure as Error).message).toMatch(/did not answer 200 within 8000 ms[\s\S]*sick app up/);
    expect(pid).toBeGreaterThan(0);
    expect(processAlive(pid)).toBe(false);
  });

  it("rejects start scripts other than `node <file>` / `tsx <file>`", async () => {
    await writeApp("shelly", "node server.mjs && rm -rf /", { "server.mjs": ECHO_APP });
    await tool("vercel_create_project").run({ name: "shelly" }, env);
    await expect(tool("vercel_deploy").run({ project_id: "shelly" }, env)).rejects.toThrow(
      /scripts\.start must be "node <file>" or "tsx <file>", got "node server\.mjs && rm -rf \/"/,
    );
  });

  it("errors on an unknown project, a missing explicit source_dir and bad input, naming what is wrong", async () => {
    await expect(tool("vercel_deploy").run({ project_id: "ghost" }, env)).rejects.toThrow(/project "ghost" does not exist/);
    await tool("vercel_create_project").run({ name: "real" }, env);
    await expect(tool("vercel_deploy").run({ project_id: "real", source_dir: path.join(root, "nope") }, env)).rejects.toThrow(
      /source_dir .*nope is not a directory/,
    );
    const bad = await tool("vercel_create_project").run({ name: "Not Valid" }, env).catch((error: unknown) => error);
    expect(isToolInputError(bad)).toBe(true);
    expect((bad as Error).message).toMatch(/^vercel_create_project: invalid input: name: /);
    await expect(tool("vercel_set_env").run({ project_id: "real", env: { "BAD-KEY": "x" } }, env)).rejects.toThrow(/env\.BAD-KEY/);
  });
});

describe("local deploys: process identity and the scaffolder contract", () => {
  it("never signals a process that merely has the recorded pid", async () => {
    const stranger = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" });
    const pid = stranger.pid as number;
    try {
      await tool("vercel_create_project").run({ name: "reused" }, env);
      const file = path.join(root, "data", "deploys", "vercel.json");
      const registryFile = JSON.parse(await readFile(file, "utf8")) as { projects: Record<string, Record<string, unknown>> };
      const deployment = { id: "dpl_old", pid, started: "1", port: 1, url: "http://127.0.0.1:1", sourceDir: root, source: "source_dir", logFile: "", ready: true, startedAt: "" };
      (registryFile.projects.reused as Record<string, unknown>).deployment = deployment;
      await writeFile(file, JSON.stringify(registryFile));

      expect(await tool("vercel_get_deployment").run({ deployment_id: "dpl_old" }, env)).toMatchObject({ state: "ERROR" });
      expect(await tool("vercel_delete_project").run({ project_id: "reused" }, env)).toMatchObject({ existed: true });
      expect(processAlive(pid)).toBe(true);
    } finally {
      stranger.kill("SIGKILL");
    }
  });

  it("stops the whole process group, with SIGKILL when the app ignores SIGTERM", async () => {
    await writeApp("stubborn", "node server.mjs", {
      "server.mjs": `import http from "node:http";
import { spawn } from "node:child_process";
const helper = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: "ignore" });
process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
http.createServer((req, res) => { res.writeHead(200); res.end(String(helper.pid)); }).listen(Number(process.env.PORT), "127.0.0.1");`,
    });
    await tool("vercel_create_project").run({ name: "stubborn" }, env);
    const deployed = await tool("vercel_deploy").run({ project_id: "stubborn" }, env);
    const helperPid = Number(await (await fetch(`${deployed.url as string}/`)).text());
    const appPid = (await registry("vercel")).projects.stubborn?.deployment?.pid as number;
    expect(processAlive(helperPid)).toBe(true);
    await tool("vercel_delete_project").run({ project_id: "stubborn" }, env);
    expect(processAlive(appPid)).toBe(false);
    expect(processAlive(helperPid)).toBe(false);
  });
  it("deploys the workspace scaffolder's crawler app (tsx start script) with its DATABASE_URL and REDIS_URL", async () => {
    const dir = path.join(root, "workspace", "rad-crawler");
    for (const file of await crawlerTemplate.render({ name: "rad-crawler", task: "crawl", context: "" })) {
      await mkdir(path.dirname(path.join(dir, file.path)), { recursive: true });
      await writeFile(path.join(dir, file.path), file.content);
    }
    const project = await tool("vercel_create_project").run({ name: "rad-crawler" }, env);
    const deployed = await tool("vercel_deploy").run(
      { project_id: project.project_id, env: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", REDIS_URL: "redis://127.0.0.1:1" } },
      env,
    );
    expect(deployed).toMatchObject({ state: "READY", source: "source_dir", source_dir: dir });
    const health = (await (await fetch(`${deployed.url as string}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", db: "down", cache: "down" });
    await tool("vercel_delete_project").run({ project_id: project.project_id }, env);
    expect(await refuses(deployed.url as string)).toBe(true);
  });
});

describe("local Fly-like deploys", () => {
  it("creates an app, sets secrets, deploys with env, and deletes it", async () => {
    await writeApp("flyer", "node server.mjs", { "server.mjs": ECHO_APP });
    const app = await tool("fly_create_app").run({ app_name: "flyer" }, env);
    expect(app).toEqual({ app_name: "flyer", project_id: "flyer", created: true });
    expect(tool("fly_create_app").rollback?.({ app_name: "flyer" }, app)).toEqual({ tool: "fly_delete_app", arguments: { app_name: "flyer" } });

    expect(await tool("fly_set_secrets").run({ app_name: "flyer", secrets: { API_SECRET: "first" } }, env)).toEqual({
      app_name: "flyer",
      keys: ["API_SECRET"],
      version: 1,
    });
    const deployed = await tool("fly_deploy").run(
      { app_name: "flyer", env: { GREETING: "from fly" }, secrets: { API_SECRET: "second" } },
      env,
    );
    expect(deployed).toMatchObject({ app_name: "flyer", state: "started", source: "source_dir" });
    expect(deployed.machine_id).toEqual(expect.any(String));
    const body = (await (await fetch(`${deployed.url as string}/`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ greeting: "from fly", secret: "second" });

    const pid = (await registry("fly")).projects.flyer?.deployment?.pid as number;
    expect(await tool("fly_delete_app").run({ app_name: "flyer" }, freshEnv())).toEqual({ app_name: "flyer", deleted: true, existed: true });
    expect(processAlive(pid)).toBe(false);
    expect(await refuses(deployed.url as string)).toBe(true);
    expect(await tool("fly_delete_app").run({ app_name: "flyer" }, env)).toEqual({ app_name: "flyer", deleted: true, existed: false });
  });

  it("deploys the built-in app for an app without sources", async () => {
    await tool("fly_create_app").run({ app_name: "bare" }, env);
    const deployed = await tool("fly_deploy").run({ app_name: "bare" }, env);
    expect(deployed).toMatchObject({ state: "started", source: "default-app" });
    expect((await fetch(`${deployed.url as string}/health`)).status).toBe(200);
    await tool("fly_delete_app").run({ app_name: "bare" }, env);
  });
});
