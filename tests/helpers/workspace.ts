import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { expect } from "vitest";
import { createWorkspaceServer } from "../../src/servers/workspace/server.ts";

export interface WorkspaceClient {
  client: Client;
  /** Calls a tool that must succeed; returns its structured content (checked against its JSON text). */
  call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Calls a tool that must fail; returns its error text. */
  callError(name: string, args: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** A real MCP client connected to a workspace server on `root` over an in-memory transport pair. */
export async function connectWorkspace(root: string): Promise<WorkspaceClient> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await createWorkspaceServer({ root }).connect(serverTransport);
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(clientTransport);
  // Listing the tools makes the client check every result against its tool's outputSchema
  // (additional fields included): each workspace test is then also an output-schema test.
  await client.listTools();
  return {
    client,
    async call(name, args) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      const [first] = result.content;
      if (result.isError) throw new Error(first?.type === "text" ? first.text : "tool failed");
      expect(first?.type === "text" ? JSON.parse(first.text) : undefined).toEqual(result.structuredContent);
      return result.structuredContent ?? {};
    },
    async callError(name, args) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(result.isError).toBe(true);
      const [first] = result.content;
      return first?.type === "text" ? first.text : "";
    },
    close: () => client.close(),
  };
}
