import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { compileOutputSchemasOnUse } from "../../src/mcp/client.ts";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

/**
 * A low-level server (it does not check its own results) with two tools that declare an
 * outputSchema; `bad` answers with content that breaks it.
 */
async function connected(): Promise<Client> {
  const server = new Server({ name: "validators", version: "1.0.0" }, { capabilities: { tools: {} } });
  const outputSchema = { type: "object" as const, properties: { count: { type: "number" } }, required: ["count"] };
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: ["good", "bad"].map((name) => ({ name, inputSchema: { type: "object" as const, properties: {} }, outputSchema })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({ content: [], structuredContent: { count: request.params.name === "good" ? 1 : "one" } }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(clientSide);
  open.push(client, server);
  return client;
}

describe("output validators compiled on a tool's first result", () => {
  it("listing compiles nothing; a call compiles its tool's schema once and still refuses content that breaks it", async () => {
    await compileOutputSchemasOnUse();
    const client = await connected();
    // The SDK's default provider is an AjvJsonSchemaValidator (the class deferred above); its Ajv compiles.
    const provider = (client as unknown as { _jsonSchemaValidator: { _ajv: { compile(schema: unknown): unknown } } })._jsonSchemaValidator;
    expect(provider).toBeInstanceOf(AjvJsonSchemaValidator);
    const compile = vi.spyOn(provider._ajv, "compile");
    await client.listTools();
    expect(compile).toHaveBeenCalledTimes(0);

    expect((await client.callTool({ name: "good", arguments: {} })).structuredContent).toEqual({ count: 1 });
    await client.callTool({ name: "good", arguments: {} });
    expect(compile).toHaveBeenCalledTimes(1);

    await expect(client.callTool({ name: "bad", arguments: {} })).rejects.toThrow(/does not match the tool's output schema/);
    expect(compile).toHaveBeenCalledTimes(2);
  });
});
