import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createThinkingServer } from "../../src/servers/thinking/server.ts";
import { ThinkingStore } from "../../src/servers/thinking/store.ts";
import { createToolkitServer } from "../../src/servers/toolkit/server.ts";
import { createWorkspaceServer } from "../../src/servers/workspace/server.ts";
import { checkedTool, localEnv } from "./toolkit-core-client.ts";

async function listed(server: McpServer): Promise<{ client: Client; tools: Awaited<ReturnType<Client["listTools"]>>["tools"] }> {
  const client = new Client({ name: "schemas", version: "1.0.0" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(b), client.connect(a)]);
  return { client, tools: (await client.listTools()).tools };
}

describe("every built-in tool declares an outputSchema that lists its fields", () => {
  const servers = {
    toolkit: () => createToolkitServer(localEnv()),
    workspace: () => createWorkspaceServer({ root: mkdtempSync(path.join(tmpdir(), "co-ws-schema-")) }),
    thinking: () => createThinkingServer({ store: new ThinkingStore({ file: ":memory:", ttlMs: 60_000, maxEntriesPerSession: 100 }), maxThoughtLength: 1000 }),
  };

  it.each(Object.keys(servers))("%s", async (name) => {
    const { client, tools } = await listed(servers[name as keyof typeof servers]());
    try {
      expect(tools.length).toBeGreaterThan(4);
      const missing = tools.filter((t) => t.outputSchema === undefined).map((t) => t.name);
      expect(missing).toEqual([]);
      // Declared fields are what validate checks `${step.field}` against; only the broker is open.
      const open = tools.filter((t) => Object.keys((t.outputSchema as { properties?: object }).properties ?? {}).length === 0).map((t) => t.name);
      expect(open).toEqual(name === "toolkit" ? ["toolkit_call"] : []);
    } finally {
      await client.close();
    }
  });
});

describe("the check the server tests rely on catches an output that drifts from its schema", () => {
  it("an MCP client that listed the tools refuses a result with an undeclared field", async () => {
    const server = new McpServer({ name: "drift", version: "1.0.0" });
    server.registerTool("t", { outputSchema: { a: z.string() } }, () => ({ content: [], structuredContent: { a: "x", b: 1 } }));
    const { client } = await listed(server);
    try {
      await expect(client.callTool({ name: "t", arguments: {} })).rejects.toThrow(/does not match the tool's output schema/);
    } finally {
      await client.close();
    }
  });

  it("checkedTool refuses an output with an undeclared field or a wrong type", async () => {
    const base = { name: "neon_delete_project", category: "neon" as const, description: "d", input: z.object({}) };
    const extra = checkedTool([{ ...base, run: async () => ({ project_id: "p", deleted: true, surprise: 1 }) }], "neon_delete_project");
    await expect(extra.run({}, localEnv())).rejects.toThrow(/does not match its outputSchema/);
    const wrong = checkedTool([{ ...base, run: async () => ({ project_id: "p", deleted: "yes" }) }], "neon_delete_project");
    await expect(wrong.run({}, localEnv())).rejects.toThrow(/does not match its outputSchema/);
    const right = checkedTool([{ ...base, run: async () => ({ project_id: "p", deleted: true }) }], "neon_delete_project");
    await expect(right.run({}, localEnv())).resolves.toEqual({ project_id: "p", deleted: true });
  });
});
