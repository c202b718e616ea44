import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWorkspace, type WorkspaceClient } from "../helpers/workspace.ts";
import { projectNameFromTask } from "../../src/servers/workspace/tools/delegate-code-generation.ts";
import { freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";

const NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));
const DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = "redis://127.0.0.1:6379";

let root: string;
let ws: WorkspaceClient;
const call = (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => ws.call(name, args);
const callError = (name: string, args: Record<string, unknown>): Promise<string> => ws.callError(name, args);
const started: ChildProcess[] = [];

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), "ws-codegen-")));
  ws = await connectWorkspace(root);
});

afterAll(async () => {
  for (const child of started) child.kill("SIGKILL");
  await ws.close();
  await rm(root, { recursive: true, force: true });
});


/** Starts `scripts.start` of a generated project the way the local deployer does (node or tsx). */
async function startApp(dir: string, env: Record<string, string>): Promise<{ port: number; output: () => string }> {
  const manifest = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as { scripts: { start: string } };
  const [runner, file = ""] = manifest.scripts.start.split(" ");
  const port = await freePort();
  const args = runner === "tsx" ? ["--import", "tsx", file] : [file];
  const child = spawn(process.execPath, args, { cwd: dir, env: { PATH: process.env["PATH"] ?? "", PORT: String(port), ...env }, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { port, output: () => output };
}

/** Polls GET /health until `accept(body)` holds (status 200) or 20 s pass. */
async function waitForHealth(port: number, accept: (body: Record<string, unknown>) => boolean, output: () => string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  let last: unknown = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      const body = (await response.json()) as Record<string, unknown>;
      last = { status: response.status, body };
      if (response.status === 200 && accept(body)) return body;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`health never became ready: ${JSON.stringify(last)}\n${output()}`);
}

describe("delegate_code_generation without a model", () => {
  it("derives folder names from the task", () => {
    expect(projectNameFromTask("Create RAD Crawler with Playwright, Neon DB client, Redis caching")).toBe("rad-crawler");
    expect(projectNameFromTask("Build a status page for our API")).toBe("status-page");
    expect(projectNameFromTask("!!!")).toBe("project");
  });

  it("scaffolds the crawler for the seed's task, and it type-checks, lints clean and passes its tests", async () => {
    const result = await call("delegate_code_generation", {
      task: "Create RAD Crawler with Playwright, Neon DB client, Redis caching",
      context: "TypeScript, Neon PostgreSQL, Upstash Redis, Fly.io deployment",
      complexity: "complex",
    });
    const dir = path.join(root, "rad-crawler");
    expect(result).toMatchObject({ mode: "template", template: "crawler", project: "rad-crawler", project_dir: dir, complexity: "complex" });
    expect([...(result.files as string[])].sort()).toEqual([".gitignore", "README.md", "package.json", "src/extract.ts", "src/index.ts", "test/extract.test.ts", "tsconfig.json"]);
    const manifest = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as Record<string, Record<string, string>>;
    expect(manifest.type).toBe("module");
    expect(manifest.scripts).toMatchObject({ start: "tsx src/index.ts", typecheck: "tsc --noEmit" });
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(expect.arrayContaining(["pg", "redis"]));

    const withoutDependencies = await call("run_typecheck", { project: "rad-crawler", timeoutMs: 120_000 });
    expect(withoutDependencies).toMatchObject({ ok: false, hint: expect.stringContaining("no node_modules") });
    await symlink(NODE_MODULES, path.join(dir, "node_modules"));
    const typecheck = await call("run_typecheck", { project: "rad-crawler", timeoutMs: 120_000 });
    expect(typecheck).toMatchObject({ ok: true, error_count: 0, errors: [] });
    expect(typecheck).not.toHaveProperty("hint");
    expect(await call("run_lint", { project: "rad-crawler" })).toMatchObject({ finding_count: 0 });
    expect(await call("run_tests", { project: "rad-crawler" })).toMatchObject({ runner: "node", total: 2, passed: 2, failed: 0, ok: true });
  });

  it("runs the crawler: /health reports db and cache, POST /crawl stores the page in Postgres and Redis", async () => {
    const dir = path.join(root, "rad-crawler");
    const page = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end('<html><head><title>Test Page</title></head><body><a href="/a">a</a> <a href="https://example.org/b">b</a></body></html>');
    });
    await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve));
    const pageUrl = `http://127.0.0.1:${(page.address() as net.AddressInfo).port}/start`;
    const db = new pg.Client({ connectionString: DATABASE_URL });
    const redis = createClient({ url: REDIS_URL });
    try {
      await db.connect();
      await redis.connect();
      const app = await startApp(dir, { DATABASE_URL, REDIS_URL });
      const health = await waitForHealth(app.port, (body) => body.db === "up" && body.cache === "up", app.output);
      expect(health).toMatchObject({ status: "ok", db: "up", cache: "up" });

      const response = await fetch(`http://127.0.0.1:${app.port}/crawl`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: pageUrl }),
      });
      expect(response.status).toBe(200);
      const crawled = (await response.json()) as Record<string, unknown>;
      const links = [new URL("/a", pageUrl).toString(), "https://example.org/b"];
      expect(crawled).toMatchObject({ url: pageUrl, status: 200, title: "Test Page", links, fromCache: false, stored: true, cached: true });

      const rows = await db.query("SELECT title, link_count, links FROM crawled_pages WHERE url = $1", [pageUrl]);
      expect(rows.rows).toEqual([{ title: "Test Page", link_count: 2, links }]);
      expect(JSON.parse((await redis.get(`page:${pageUrl}`)) ?? "null")).toMatchObject({ url: pageUrl, title: "Test Page" });

      const again = await fetch(`http://127.0.0.1:${app.port}/crawl`, { method: "POST", body: JSON.stringify({ url: pageUrl }) });
      expect(await again.json()).toMatchObject({ fromCache: true, title: "Test Page" });
      const bad = await fetch(`http://127.0.0.1:${app.port}/crawl`, { method: "POST", body: JSON.stringify({ url: "ftp://x" }) });
      expect(bad.status).toBe(400);
    } finally {
      await db.query("DELETE FROM crawled_pages WHERE url = $1", [pageUrl]).catch(() => undefined);
      await db.end();
      if (redis.isOpen) {
        await redis.del(`page:${pageUrl}`);
        redis.destroy();
      }
      page.close();
    }
  });

  it("answers /health with 200 while Postgres and Redis are unreachable, reporting them down", async () => {
    const dir = path.join(root, "rad-crawler");
    const app = await startApp(dir, { DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres", REDIS_URL: "redis://127.0.0.1:1" });
    expect(await waitForHealth(app.port, () => true, app.output)).toMatchObject({ status: "ok", db: "down", cache: "down" });
    const unconfigured = await startApp(dir, {});
    expect(await waitForHealth(unconfigured.port, () => true, unconfigured.output)).toMatchObject({ db: "not configured", cache: "not configured" });
  });

  it("scaffolds the Node HTTP service for other tasks; it starts with `node <file>` and passes its tests", async () => {
    const result = await call("delegate_code_generation", { task: "Build a status page service", context: "Node.js", complexity: "simple" });
    expect(result).toMatchObject({ mode: "template", template: "node-http", project: "status-page-service" });
    const dir = result.project_dir as string;
    const manifest = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as { scripts: { start: string }; dependencies?: unknown };
    expect(manifest.scripts.start).toBe("node src/server.js");
    expect(manifest.dependencies).toBeUndefined();
    const app = await startApp(dir, {});
    expect(await waitForHealth(app.port, () => true, app.output)).toMatchObject({ status: "ok" });
    expect(await call("run_tests", { project: "status-page-service" })).toMatchObject({ passed: 1, failed: 0, ok: true });
  });

  it("uses an explicit template and project folder", async () => {
    const result = await call("delegate_code_generation", { task: "anything", template: "crawler", project: "my-crawler" });
    expect(result).toMatchObject({ template: "crawler", project: "my-crawler", project_dir: path.join(root, "my-crawler") });
    expect(await call("delegate_code_generation", { task: "scrape news sites", project: "news" })).toMatchObject({ template: "crawler" });
  });

  it("keeps identical files, refuses to replace changed ones unless overwrite is set", async () => {
    await call("delegate_code_generation", { task: "anything", template: "node-http", project: "my-crawler-2" });
    await call("delegate_code_generation", { task: "anything", template: "node-http", project: "my-crawler-2" });
    const message = await callError("delegate_code_generation", { task: "anything else", template: "node-http", project: "my-crawler-2" });
    expect(message).toMatch(/README.md" exists with other content \(set overwrite: true/);
    const replaced = await call("delegate_code_generation", { task: "anything else", template: "node-http", project: "my-crawler-2", overwrite: true });
    expect(replaced.files).toContain("README.md");
    expect(await readFile(path.join(root, "my-crawler-2", "README.md"), "utf8")).toContain("anything else");
  });

  it("returns a rollback that removes the folder it created, and only the files it created in a folder that was there", async () => {
    const first = await call("delegate_code_generation", { task: "anything", template: "node-http", project: "undo-me" });
    expect(first.rollback).toEqual({ tool: "delete_generated_files", arguments: { project: "undo-me" } });
    const undo = first.rollback as { tool: string; arguments: Record<string, unknown> };
    expect(await call(undo.tool, undo.arguments)).toEqual({ project: "undo-me", deleted: ["."], missing: [] });
    expect(await readdir(root)).not.toContain("undo-me");

    await mkdir(path.join(root, "mine"));
    await writeFile(path.join(root, "mine", "notes.txt"), "my own file\n");
    const second = await call("delegate_code_generation", { task: "anything", template: "node-http", project: "mine" });
    const created = (second.files as string[]).slice().sort();
    expect((second.rollback as { arguments: { files: string[] } }).arguments.files.slice().sort()).toEqual(created);
    const again = await call("delegate_code_generation", { task: "anything", template: "node-http", project: "mine" });
    expect(again.rollback).toBeUndefined();
    const back = second.rollback as { tool: string; arguments: Record<string, unknown> };
    expect(await call(back.tool, back.arguments)).toMatchObject({ project: "mine", missing: [] });
    expect(await readdir(path.join(root, "mine"))).toEqual(["notes.txt"]);
  });

  it("names the field of bad inputs", async () => {
    expect(await callError("delegate_code_generation", { task: "x", complexity: "huge" })).toContain("complexity");
    expect(await callError("delegate_code_generation", { context: "x" })).toContain("task");
    expect(await callError("delegate_code_generation", { task: "x", template: "django" })).toContain("template");
    expect(await callError("delegate_code_generation", { task: "x", project: "../up" })).toContain("project");
  });
});
