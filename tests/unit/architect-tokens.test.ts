import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { architect } from "../../agents/architect.ts";
import type { RunState } from "../../graphs/state.ts";
import type { ToolInfo } from "../../src/mcp/catalog.ts";
import { planOffline } from "../../src/planner/index.ts";
import { configuredChatModel } from "../../src/run/chat-models.ts";
import { loadWorkflowLibrary } from "../../src/run/root.ts";
import { createToolkitServer } from "../../src/servers/toolkit/server.ts";
import { createWorkspaceServer } from "../../src/servers/workspace/server.ts";
import { CASES, INVENTORY } from "../fixtures/planner/eval-set.ts";
import { testDeps } from "../graphs/helpers.ts";
import { FakeCaller } from "../helpers/fake-caller.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { connectThinking, type ThinkingHarness } from "../helpers/thinking.ts";
import { promptTokensOf, startOpenAIStub, type OpenAIStub } from "../helpers/openai-stub.ts";

const RAD = "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis";
const clients: Client[] = [];
let thinking: ThinkingHarness | undefined;
let stub: OpenAIStub | undefined;
const tools: ToolInfo[] = [];

/** The tools a real MCP client lists from a built-in server, as the runtime's catalog keeps them. */
async function toolsOf(name: string, server: McpServer | Client): Promise<ToolInfo[]> {
  let client = server as Client;
  if (!(server instanceof Client)) {
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await server.connect(serverTransport);
    client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(clientTransport);
    clients.push(client);
  }
  const listed = await client.listTools();
  return listed.tools.map((t) => ({ server: name, name: t.name, description: t.description ?? "", inputSchema: t.inputSchema as Record<string, unknown>, ...(t.outputSchema ? { outputSchema: t.outputSchema as Record<string, unknown> } : {}), annotations: t.annotations, meta: t._meta }));
}

beforeAll(async () => {
  thinking = await connectThinking();
  const env = { dataDir: tempDir("co-tokens-"), localPostgresUrl: "postgres://postgres@127.0.0.1:5432/postgres", localRedisUrl: "redis://127.0.0.1:6379" };
  tools.push(...(await toolsOf("toolkit", createToolkitServer(env))), ...(await toolsOf("workspace", createWorkspaceServer({ root: tempDir("co-tokens-ws-") }))), ...(await toolsOf("thinking", thinking.client)));
});
afterAll(async () => {
  for (const c of clients.splice(0)) await c.close();
  await thinking?.close();
  await stub?.close();
});

describe("the architect's token diet, counted with o200k on the built-in servers' real catalogs", () => {
  it("sends at most 2,000 prompt tokens for the RAD request, and every one of 16 requests (RAD and 15 more) gets its plan valid on the first try", async () => {
    const library = await loadWorkflowLibrary();
    const inventory = async (kind: keyof typeof INVENTORY) => INVENTORY[kind];
    // RAD and the planner evaluation's first requests that plan something (15 of them).
    const plans = new Map<string, unknown>();
    for (const request of [RAD, ...CASES.filter((c) => c.expect.length > 0).map((c) => c.request)]) {
      if (plans.size >= 16) break;
      const offline = await planOffline(request, { library, inventory });
      if (offline.kind === "plan") plans.set(request, offline.plan);
    }
    const requests = [...plans.keys()];
    let current = "";
    // The scripted model answers each request with the offline planner's plan for it: valid only if the tools it needs were sent.
    stub = await startOpenAIStub(() => ({ toolCalls: [{ name: "plan", arguments: plans.get(current) ?? { name: "none", steps: [] } }] }), { countTokens: true });
    const caller = new FakeCaller();
    caller.tools.push(...tools);
    const base = testDeps(caller, { maxRepairs: 0 }, { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" });
    const deps = { ...base, library: async () => library, chatModel: configuredChatModel(base.config, { routing: {} }, 0) };
    const rows: { request: string; tokens: number; firstTry: boolean }[] = [];
    for (const request of requests) {
      current = request;
      const seen = stub.requests.length;
      const update = await architect({ request, params: {} } as unknown as RunState, deps);
      rows.push({ request, tokens: promptTokensOf(stub.requests[seen]!.body), firstTry: update.plan !== undefined && update.planner.attempts === 1 });
    }
    expect(rows.length).toBe(16);
    expect(rows[0]!.request).toBe(RAD);
    expect(rows[0]!.tokens).toBeLessThanOrEqual(2_000);
    // Far below the whole catalog: the diet is what keeps it there, not a small catalog.
    expect(tools.length).toBeGreaterThan(40);
    expect(rows.filter((r) => !r.firstTry).map((r) => r.request)).toEqual([]);
  });
});
