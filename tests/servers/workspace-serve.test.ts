import { mkdtemp, readdir, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { BIN_PATH } from "../../src/mcp/config.ts";
import { serveFromArgs } from "../../src/servers/workspace/index.ts";

const TOOLS = [
  "audit_dependencies",
  "count_lines",
  "delegate_code_generation",
  "delete_generated_files",
  "find_todos",
  "git_branch",
  "git_commit",
  "git_delete_remote_branches",
  "git_diff",
  "git_init",
  "git_push",
  "git_status",
  "run_lint",
  "run_tests",
  "run_typecheck",
  "workspace_preflight",
];

let base: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), "ws-serve-")));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("serveFromArgs", () => {
  it("serves Streamable HTTP with --http, creating the --root folder", async () => {
    const root = path.join(base, "http-root");
    const server = await serveFromArgs(["--http", "0", "--root", root], loadConfig({}, base));
    const client = new Client({ name: "test", version: "1.0.0" });
    try {
      expect((await stat(root)).isDirectory()).toBe(true);
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url ?? "")));
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(TOOLS);
      const annotations = Object.fromEntries(tools.map((tool) => [tool.name, tool.annotations]));
      expect(annotations.run_lint).toMatchObject({ readOnlyHint: true, destructiveHint: false });
      expect(annotations.git_diff).toMatchObject({ readOnlyHint: true });
      expect(annotations.git_status).toMatchObject({ readOnlyHint: true });
      expect(annotations.delegate_code_generation).toMatchObject({ readOnlyHint: false, destructiveHint: false });
      const result = (await client.callTool({ name: "delegate_code_generation", arguments: { task: "web crawler" } })) as CallToolResult;
      expect(result.structuredContent).toMatchObject({ mode: "template", template: "crawler", project_dir: path.join(root, "web-crawler") });
    } finally {
      await client.close();
      await server.close();
    }
  });

  it("defaults the root to config.workspaceRoot", async () => {
    const config = loadConfig({ CREDIT_OPTIMIZER_WORKSPACE: "configured-root" }, base);
    const server = await serveFromArgs(["--http", "0"], config);
    const client = new Client({ name: "test", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url ?? "")));
      await client.callTool({ name: "git_init", arguments: { project: "repo" } });
      expect(await readdir(path.join(base, "configured-root"))).toEqual(["repo"]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it("rejects a bad --http value and unknown flags", async () => {
    await expect(serveFromArgs(["--http", "port"], loadConfig({}, base))).rejects.toThrow(/^--http: expected a port number/);
    await expect(serveFromArgs(["--nope"], loadConfig({}, base))).rejects.toThrow(/nope/);
  });

  it("serves over stdio through `credit-optimizer serve workspace`", async () => {
    const root = path.join(base, "stdio-root");
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN_PATH, "serve", "workspace", "--root", root], stderr: "pipe" });
    const client = new Client({ name: "test", version: "1.0.0" });
    try {
      await client.connect(transport);
      expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
      const result = (await client.callTool({ name: "delegate_code_generation", arguments: { task: "HTTP service", project: "svc" } })) as CallToolResult;
      expect(result.structuredContent).toMatchObject({ mode: "template", template: "node-http", project_dir: path.join(root, "svc") });
      const lines = (await client.callTool({ name: "count_lines", arguments: { project: "svc" } })) as CallToolResult;
      expect(lines.structuredContent).toMatchObject({ total: { files: 5 } });
    } finally {
      await client.close();
    }
  });
});
