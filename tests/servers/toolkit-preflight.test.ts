import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, describe, expect, it } from "vitest";
import { PREFLIGHT_META_KEY } from "../../src/servers/preflight.ts";
import { readPrivateServer } from "../../src/servers/toolkit/providers/local/private-redis.ts";
import type { ToolkitEnv } from "../../src/servers/toolkit/tool.ts";
import { createWorkspaceServer } from "../../src/servers/workspace/server.ts";
import { connectToolkit, localEnv, output } from "./toolkit-core-client.ts";
import { freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";

/*
 * toolkit_preflight and workspace_preflight: what stops a plan's tools, each with its fix, found
 * without creating anything.
 */

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});


/** A PATH with only the named programs of /usr/bin. */
function pathWith(...programs: string[]): string {
  const bin = mkdtempSync(path.join(tmpdir(), "co-bin-"));
  temp.push(bin);
  for (const program of programs) symlinkSync(path.join("/usr/bin", program), path.join(bin, program));
  return bin;
}

async function ask(env: ToolkitEnv, tools: string[]): Promise<{ ok: boolean; problems: { tools: string[]; problem: string; fix: string }[] }> {
  temp.push(env.dataDir);
  const toolkit = await connectToolkit(env);
  try {
    return output(await toolkit.call("toolkit_preflight", { tools })) as never;
  } finally {
    await toolkit.close();
  }
}

const UPSTASH = ["upstash_create_database", "upstash_delete_database"];

describe("toolkit_preflight", () => {
  it("is read-only and marked as the server's preflight", async () => {
    const toolkit = await connectToolkit(localEnv());
    try {
      const tool = (await toolkit.client.listTools()).tools.find((t) => t.name === "toolkit_preflight");
      expect(tool?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
      expect(tool?._meta?.[PREFLIGHT_META_KEY]).toBe(true);
    } finally {
      await toolkit.close();
    }
  });

  it("with no Redis at the default address and no redis-server, says to install it, set LOCAL_REDIS_URL or the Upstash token", async () => {
    const env = localEnv({ localRedisUrl: `redis://127.0.0.1:${await freePort()}`, localRedisFallback: true, localPostgresFallback: true, searchPath: pathWith("git") });
    const answer = await ask(env, [...UPSTASH, "neon_create_project", "vercel_deploy"]);
    expect(answer.ok).toBe(false);
    expect(answer.problems).toHaveLength(1);
    const [problem] = answer.problems;
    expect(problem!.tools).toEqual(UPSTASH);
    expect(problem!.problem).toMatch(/^no Redis answers at redis:\/\/127\.0\.0\.1:\d+, and redis-server is not installed/);
    for (const text of ["sudo apt-get install -y redis-server", "brew install redis", "LOCAL_REDIS_URL=redis://", "UPSTASH_EMAIL and UPSTASH_API_KEY"]) {
      expect(problem!.fix).toContain(text);
    }
    expect(await readPrivateServer(env.dataDir)).toBeUndefined();
  });

  it("with redis-server on the PATH counts the private Redis as startable, and starts nothing", async () => {
    const env = localEnv({ localRedisUrl: `redis://127.0.0.1:${await freePort()}`, localRedisFallback: true, searchPath: pathWith("redis-server") });
    expect(await ask(env, UPSTASH)).toEqual({ ok: true, problems: [] });
    expect(await readPrivateServer(env.dataDir)).toBeUndefined();
  });

  it("with LOCAL_REDIS_URL set and nothing there, names it and never falls back", async () => {
    const env = localEnv({ localRedisUrl: `redis://:hunter2secret@127.0.0.1:${await freePort()}`, searchPath: pathWith("redis-server") });
    const [problem] = (await ask(env, UPSTASH)).problems;
    expect(problem!.problem).toMatch(/^no Redis answers at redis:\/\/:\[redacted\]@127\.0\.0\.1:\d+ \(LOCAL_REDIS_URL\)$/);
    expect(problem!.fix).toContain("unset LOCAL_REDIS_URL");
    expect(JSON.stringify(problem)).not.toContain("hunter2secret");
  });

  it("a cloud token is enough; a Postgres URL that does not answer without the fallback is a problem; local GitHub needs git", async () => {
    const env = localEnv({
      localRedisUrl: `redis://127.0.0.1:${await freePort()}`,
      localPostgresUrl: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      upstash: { email: "a@b.c", apiKey: "k", baseUrl: "http://127.0.0.1:1" },
      searchPath: pathWith("redis-server"),
    });
    const answer = await ask(env, [...UPSTASH, "neon_create_project", "github_create_repo"]);
    expect(answer.problems.map((p) => [p.tools, p.problem.replace(/\d{4,5}/, "PORT")])).toEqual([
      [["neon_create_project"], "no Postgres answers at postgres://postgres@127.0.0.1:PORT/postgres (LOCAL_POSTGRES_URL)"],
      [["github_create_repo"], "git is not installed (not on the PATH)"],
    ]);
    expect(answer.problems[1]!.fix).toContain("GITHUB_TOKEN");
  });
});

describe("workspace_preflight", () => {
  async function askWorkspace(root: string, searchPath: string, tools: string[]): Promise<{ tools: string[]; problem: string; fix: string }[]> {
    const server = createWorkspaceServer({ root, searchPath });
    const client = new Client({ name: "test", version: "1.0.0" });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(b), client.connect(a)]);
    try {
      const result = (await client.callTool({ name: "workspace_preflight", arguments: { tools } })) as CallToolResult;
      return (result.structuredContent as { problems: never[] }).problems;
    } finally {
      await client.close();
    }
  }

  it("needs git for git tools only, and a workspace it can write to", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "co-ws-"));
    temp.push(root);
    expect(await askWorkspace(root, pathWith("redis-server"), ["delegate_code_generation", "find_todos"])).toEqual([]);
    const [git] = await askWorkspace(root, pathWith("redis-server"), ["delegate_code_generation", "git_init", "git_commit"]);
    expect(git).toMatchObject({ tools: ["git_init", "git_commit"], problem: "git is not installed (not on the PATH)" });
    expect(await askWorkspace(root, pathWith("git"), ["git_init"])).toEqual([]);
    const [unwritable] = await askWorkspace(path.join(root, "missing"), pathWith("git"), ["find_todos"]);
    expect(unwritable?.problem).toBe(`the workspace ${path.join(root, "missing")} is not writable`);
    expect(unwritable?.fix).toContain("CREDIT_OPTIMIZER_WORKSPACE");
  });
});
