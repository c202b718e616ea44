import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Ajv } from "ajv";
import { z } from "zod";
import { createToolkitServer } from "../../src/servers/toolkit/server.ts";
import type { ToolkitEnv, ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { outputSchemaOf } from "../../src/servers/toolkit/tools/register.ts";

/** Test helpers for the toolkit server: a real MCP client over an in-memory transport. */

export const LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const LOCAL_REDIS_URL = "redis://127.0.0.1:6379";

export function localEnv(overrides: Partial<ToolkitEnv> = {}): ToolkitEnv {
  return {
    dataDir: mkdtempSync(path.join(tmpdir(), "co-toolkit-")),
    localPostgresUrl: LOCAL_POSTGRES_URL,
    localRedisUrl: LOCAL_REDIS_URL,
    ...overrides,
  };
}

/** A name no other test (or test file running in parallel) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export interface ToolkitConnection {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export async function connectToolkit(env: ToolkitEnv): Promise<ToolkitConnection> {
  const server = createToolkitServer(env);
  const client = new Client({ name: "toolkit-test", version: "1.0.0" });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  // Listing the tools makes the client check every result against its tool's outputSchema
  // (additional fields included): each server test is then also an output-schema test.
  await client.listTools();
  return {
    client,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

/** The structured output of a successful call; fails with the error text otherwise. */
export function output(result: CallToolResult): Record<string, unknown> {
  if (result.isError) throw new Error(`tool failed: ${errorText(result)}`);
  const text = result.content[0]?.type === "text" ? result.content[0].text : "";
  if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(result.structuredContent)) {
    throw new Error("text content differs from structuredContent");
  }
  return result.structuredContent as Record<string, unknown>;
}

/** The text of a failed call; fails when the call succeeded. */
export function errorText(result: CallToolResult): string {
  const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
  if (!result.isError) throw new Error(`expected an error, got ${text}`);
  return text;
}

/** Output fields of the Neon tools, the same for the cloud and the local backend. */
export const NEON_OUTPUT_KEYS = {
  neon_create_project: ["branch_id", "connection_string", "created", "database_name", "host", "name", "project_id", "role_name"],
  neon_create_database: ["branch_id", "connection_string", "created", "database_name", "owner_name", "project_id"],
  neon_create_branch: ["branch_id", "connection_string", "created", "database_name", "name", "parent_id", "project_id"],
  neon_get_connection_string: ["branch_id", "connection_string", "database_name", "host", "project_id", "role_name"],
} as const;

/** An output's field names without `rollback`, sorted. */
export function keysOf(value: Record<string, unknown>): string[] {
  return Object.keys(value)
    .filter((key) => key !== "rollback")
    .sort();
}

const ajv = new Ajv({ allErrors: true, strict: false });

/**
 * The tool named `name`, whose `run` also checks each output (with the `rollback` the server adds)
 * against the JSON Schema MCP clients are given for it: a field the outputSchema does not declare,
 * or a wrong type, fails the test that called it.
 */
export function checkedTool(tools: readonly ToolkitTool[], name: string): ToolkitTool {
  const found = tools.find((t) => t.name === name);
  if (!found) throw new Error(`no tool ${name}`);
  const validate = ajv.compile(z.toJSONSchema(outputSchemaOf(name), { io: "output", target: "draft-7", unrepresentable: "any" }));
  return {
    ...found,
    run: async (input, env, signal) => {
      const output = await found.run(input, env, signal);
      const rollback = found.rollback?.(input, output);
      const sent = rollback ? { ...output, rollback } : output;
      if (!validate(sent)) throw new Error(`${name}: output does not match its outputSchema: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(Object.keys(sent))}`);
      return output;
    },
  };
}
