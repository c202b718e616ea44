import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../../src/config.ts";
import { toolkitEnvFromConfig } from "../../src/servers/toolkit/env.ts";
import { parseServeArgs, serveFromArgs } from "../../src/servers/toolkit/index.ts";
import { SECRET_FIELDS_META_KEY } from "../../src/servers/toolkit/tools/register.ts";
import { connectToolkit, errorText, LOCAL_REDIS_URL, localEnv, output, uniqueName, type ToolkitConnection } from "./toolkit-core-client.ts";

const NEON_TOOLS = [
  "neon_create_project",
  "neon_create_database",
  "neon_create_branch",
  "neon_get_connection_string",
  "neon_list_projects",
  "neon_delete_project",
  "neon_delete_database",
  "neon_delete_branch",
];
const UPSTASH_TOOLS = ["upstash_create_database", "upstash_get_database", "upstash_list_databases", "upstash_delete_database"];
const BROKER_TOOLS = ["toolkit_list_categories", "toolkit_list_tools", "toolkit_get_tool_schema", "toolkit_call", "toolkit_preflight"];

describe("toolkit server over an in-memory MCP transport", () => {
  let toolkit: ToolkitConnection;
  beforeAll(async () => {
    toolkit = await connectToolkit(localEnv());
  });
  afterAll(async () => {
    await toolkit.close();
  });

  it("lists every Neon, Upstash and broker tool with annotations and secret fields", async () => {
    const { tools } = await toolkit.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of [...NEON_TOOLS, ...UPSTASH_TOOLS, ...BROKER_TOOLS]) expect(byName.has(name), name).toBe(true);
    for (const name of ["neon_delete_project", "neon_delete_database", "neon_delete_branch", "upstash_delete_database"]) {
      expect(byName.get(name)?.annotations?.destructiveHint, name).toBe(true);
    }
    for (const name of ["neon_create_project", "neon_create_database", "neon_create_branch", "upstash_create_database"]) {
      expect(byName.get(name)?.annotations?.destructiveHint, name).toBe(false);
    }
    expect(byName.get("toolkit_list_tools")?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get("toolkit_call")?.annotations?.destructiveHint).toBe(false);
    expect(byName.get("neon_create_project")?._meta?.[SECRET_FIELDS_META_KEY]).toEqual(["connection_string"]);
    expect(byName.get("upstash_create_database")?._meta?.[SECRET_FIELDS_META_KEY]).toEqual(["password", "url", "rest_token"]);
    expect(byName.get("neon_create_database")?.inputSchema.properties).toHaveProperty("project_id");
  });

  it("lists categories with their backend", async () => {
    const local = output(await toolkit.call("toolkit_list_categories"));
    expect(local.categories).toEqual(
      expect.arrayContaining([
        { name: "neon", tools: 8, backend: "local" },
        { name: "upstash", tools: 4, backend: "local" },
      ]),
    );
    const cloud = await connectToolkit(localEnv({ neon: { apiKey: "k", baseUrl: "http://127.0.0.1:9" } }));
    try {
      const categories = output(await cloud.call("toolkit_list_categories")).categories as { name: string; backend: string }[];
      expect(categories.find((c) => c.name === "neon")?.backend).toBe("cloud");
      expect(categories.find((c) => c.name === "upstash")?.backend).toBe("local");
    } finally {
      await cloud.close();
    }
  });

  it("lists the tools of one category and rejects an unknown category by name", async () => {
    const tools = output(await toolkit.call("toolkit_list_tools", { category: "upstash" })).tools as { name: string; destructive: boolean }[];
    expect(tools.map((t) => t.name)).toEqual(UPSTASH_TOOLS);
    expect(tools.find((t) => t.name === "upstash_delete_database")?.destructive).toBe(true);
    expect(errorText(await toolkit.call("toolkit_list_tools", { category: "nope" }))).toMatch(/^category: unknown category "nope"/);
  });

  it("returns a tool's JSON Schema and names a bad tool_name or category", async () => {
    const schema = output(await toolkit.call("toolkit_get_tool_schema", { category: "neon", tool_name: "neon_create_database" }));
    expect(schema.destructive).toBe(false);
    expect(schema.secret_fields).toEqual(["connection_string"]);
    expect((schema.input_schema as { properties: Record<string, unknown> }).properties).toHaveProperty("project_id");
    expect(errorText(await toolkit.call("toolkit_get_tool_schema", { tool_name: "neon_frobnicate" }))).toMatch(/^tool_name: unknown tool/);
    expect(errorText(await toolkit.call("toolkit_get_tool_schema", { category: "upstash", tool_name: "neon_create_project" }))).toMatch(
      /^category: tool "neon_create_project" belongs to category "neon"/,
    );
  });

  it("runs an inner tool through toolkit_call and returns its output with the rollback call", async () => {
    const name = uniqueName("core-cache");
    const created = output(
      await toolkit.call("toolkit_call", { category: "upstash", tool_name: "upstash_create_database", arguments: { name, region: "us-east-1" } }),
    );
    expect(created.database_name).toBe(name);
    expect(created.url).toMatch(/^redis:\/\/co_[0-9a-f]{12}:[^@]+@127\.0\.0\.1:6379$/);
    expect(created.rollback).toEqual({ tool: "upstash_delete_database", arguments: { database_id: created.database_id } });

    const redis = createClient({ url: created.url as string });
    await redis.connect();
    try {
      await redis.set(`${created.key_prefix as string}hello`, "world");
      expect(await redis.get(`${created.key_prefix as string}hello`)).toBe("world");
    } finally {
      redis.destroy();
    }

    const rollback = created.rollback as { tool: string; arguments: Record<string, unknown> };
    expect(output(await toolkit.call(rollback.tool, rollback.arguments))).toEqual({ database_id: created.database_id, deleted: true });
  });

  it("answers bad input with isError naming the field, directly and through the broker", async () => {
    const direct = errorText(await toolkit.call("neon_create_database", { name: "crawler" }));
    expect(direct).toContain("project_id");
    const brokered = errorText(
      await toolkit.call("toolkit_call", { category: "neon", tool_name: "neon_create_database", arguments: { name: "crawler" } }),
    );
    expect(brokered).toMatch(/^neon_create_database: invalid arguments: arguments\.project_id: /);
    const noName = errorText(
      await toolkit.call("toolkit_call", { category: "neon", tool_name: "neon_create_database", arguments: { project_id: "abc" } }),
    );
    expect(noName).toContain("arguments.name: name or database_name is required");
    const injected = errorText(
      await toolkit.call("toolkit_call", { category: "upstash", tool_name: "upstash_create_database", arguments: { name: "x'; DEL *" } }),
    );
    expect(injected).toContain("arguments.name: expected a database name");
    expect(errorText(await toolkit.call("toolkit_call", { category: "neon", arguments: {} }))).toContain("tool_name");
  });
});

describe("toolkit entry", () => {
  it("builds the environment from the config: local backends without tokens (the embedded Postgres only as a fallback for the default URL), cloud with them", () => {
    const local = toolkitEnvFromConfig(loadConfig({ CREDIT_OPTIMIZER_HOME: "/tmp/co-home" }, "/"));
    expect(local).toMatchObject({
      dataDir: "/tmp/co-home/toolkit",
      localPostgresUrl: "postgres://postgres@127.0.0.1:5432/postgres",
      localRedisUrl: "redis://127.0.0.1:6379",
      localPostgresFallback: true,
    });
    expect(toolkitEnvFromConfig(loadConfig({ LOCAL_POSTGRES_URL: "postgres://me@db:5432/postgres" }, "/"))).toMatchObject({
      localPostgresUrl: "postgres://me@db:5432/postgres",
      localPostgresFallback: false,
    });
    expect(local.neon).toBeUndefined();
    expect(local.upstash).toBeUndefined();
    const cloud = toolkitEnvFromConfig(
      loadConfig({ NEON_API_KEY: "nk", UPSTASH_EMAIL: "a@b.c", UPSTASH_API_KEY: "uk", UPSTASH_API_URL: "http://127.0.0.1:1/v2" }, "/"),
    );
    expect(cloud.neon).toEqual({ apiKey: "nk", baseUrl: "https://console.neon.tech/api/v2" });
    expect(cloud.upstash).toEqual({ email: "a@b.c", apiKey: "uk", baseUrl: "http://127.0.0.1:1/v2" });
    expect(toolkitEnvFromConfig(loadConfig({ NEON_API_KEY: "nk", NEON_ORG_ID: " org-x-1 " }, "/")).neon?.orgId).toBe("org-x-1");
  });

  it("parses --http PORT and rejects anything else", () => {
    expect(parseServeArgs([])).toEqual({});
    expect(parseServeArgs(["--http", "0"])).toEqual({ http: 0 });
    expect(parseServeArgs(["--http=8123"])).toEqual({ http: 8123 });
    expect(() => parseServeArgs(["--http"])).toThrow("--http: expected a port number");
    expect(() => parseServeArgs(["--http", "x"])).toThrow('got "x"');
    expect(() => parseServeArgs(["--stdio"])).toThrow('unknown argument "--stdio"');
  });

  it("serves Streamable HTTP and runs a tool through it", async () => {
    const config = loadConfig({ CREDIT_OPTIMIZER_HOME: localEnv().dataDir, LOCAL_REDIS_URL }, "/");
    const running = await serveFromArgs(["--http", "0"], config);
    const client = new Client({ name: "toolkit-http-test", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(running.url as string)));
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("toolkit_call");
      const result = await client.callTool({ name: "upstash_get_database", arguments: { database_id: "000000000000" } });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain('database_id: no local Redis database \\"000000000000\\"');
    } finally {
      await client.close();
      await running.close();
    }
  });
});

describe("toolkit over stdio", () => {
  it("serves `credit-optimizer serve toolkit` to a stdio client and runs a brokered call", async () => {
    const home = localEnv().dataDir;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [fileURLToPath(new URL("../../bin/credit-optimizer.js", import.meta.url)), "serve", "toolkit"],
      env: { PATH: process.env.PATH ?? "", CREDIT_OPTIMIZER_HOME: home, LOCAL_REDIS_URL },
      stderr: "pipe",
    });
    const client = new Client({ name: "toolkit-stdio-test", version: "1.0.0" });
    await client.connect(transport);
    try {
      const name = uniqueName("stdio");
      const created = (await client.callTool({
        name: "toolkit_call",
        arguments: { category: "upstash", tool_name: "upstash_create_database", arguments: { name } },
      })) as CallToolResult;
      const db = output(created);
      expect(db.database_name).toBe(name);
      expect(output((await client.callTool({ name: "upstash_delete_database", arguments: { database_id: db.database_id } })) as CallToolResult).deleted).toBe(true);
    } finally {
      await client.close();
    }
  });
});
