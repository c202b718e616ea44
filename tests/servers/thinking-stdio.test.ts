import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DynamicStructuredTool } from "@langchain/core/tools";
import { MultiServerMCPClient } from "@langchain/mcp-adapters";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN_PATH } from "../../src/mcp/config.ts";
import { multiInstanceConfig, thinkingInstanceName } from "../../src/mcp/instances.ts";
import { barrier, thought } from "../helpers/thinking.ts";

// The real thing: `credit-optimizer serve thinking` child processes over stdio, driven by
// @langchain/mcp-adapters the way the executor drives them.

const AGENTS = ["coding", "db", "deploy", "redis"];
const THOUGHTS = 4;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "thinking-stdio-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type StdioServers = Record<string, { command: string; args: string[]; env?: Record<string, string> }>;

/** The generated per-agent instances, all keeping their sessions in one database under `home`. */
function agentServers(agents: string[], home: string): StdioServers {
  const servers: StdioServers = {};
  for (const [name, server] of Object.entries(multiInstanceConfig(agents, { CREDIT_OPTIMIZER_HOME: home }).mcpServers)) {
    if (name.startsWith("thinking-tools-") && "command" in server) servers[name] = server;
  }
  return servers;
}

async function withClient<T>(mcpServers: StdioServers, body: (client: MultiServerMCPClient) => Promise<T>): Promise<T> {
  const client = new MultiServerMCPClient({ mcpServers, throwOnLoadError: true, onConnectionError: "throw" });
  try {
    // Connect (and list) every server once before the body asks for tools: the adapter's
    // getTools connects on first use, and concurrent first calls race (a second caller sees the
    // connection before its tools are listed and gets none).
    await client.initializeConnections();
    return await body(client);
  } finally {
    await client.close();
  }
}

async function toolOf(client: MultiServerMCPClient, server: string, name: string): Promise<DynamicStructuredTool> {
  const tool = (await client.getTools(server)).find((t) => t.name === name);
  if (!tool) throw new Error(`${server} has no tool ${name}`);
  return tool;
}

/** Invokes an MCP tool through the adapter and returns the server's structured content. */
async function invoke(tool: DynamicStructuredTool, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const output = (await tool.invoke(args)) as { structuredContent?: Record<string, unknown> };
  if (!output.structuredContent) throw new Error(`no structured content from ${tool.name}: ${JSON.stringify(output)}`);
  return output.structuredContent;
}

describe("thinking server over stdio", () => {
  it("runs one instance per AGENT_ID: concurrent agents in lockstep, each history its own", async () => {
    await withClient(agentServers(AGENTS, path.join(dir, "agents")), async (client) => {
      const tools = await Promise.all(AGENTS.map((agent) => toolOf(client, thinkingInstanceName(agent), "sequential_thinking")));
      const sync = barrier(AGENTS.length);
      const told = await Promise.all(
        AGENTS.map(async (agent, i) => {
          const results: Array<Record<string, unknown>> = [];
          for (let n = 1; n <= THOUGHTS; n++) {
            await sync();
            results.push(await invoke(tools[i] as DynamicStructuredTool, thought(`${agent} ${n}`, n, THOUGHTS)));
          }
          return results;
        }),
      );
      told.forEach((results, i) => {
        expect(results.map((r) => r.sessionId)).toEqual(Array(THOUGHTS).fill(`${AGENTS[i]}-agent`));
        expect(results.map((r) => r.thoughtHistoryLength)).toEqual([1, 2, 3, 4]);
      });

      // The instances share one database: any of them can read every agent's session.
      const get = await toolOf(client, thinkingInstanceName("coding"), "thinking_session_get");
      const positions: number[][] = [];
      for (const agent of AGENTS) {
        const session = await invoke(get, { sessionId: `${agent}-agent` });
        const thoughts = session.thoughts as Array<{ thought: string; position: number }>;
        expect(thoughts.map((t) => t.thought)).toEqual([1, 2, 3, 4].map((n) => `${agent} ${n}`));
        positions.push(thoughts.map((t) => t.position));
      }
      for (let round = 0; round + 1 < THOUGHTS; round++) {
        expect(Math.max(...positions.map((p) => p[round] ?? Infinity))).toBeLessThan(Math.min(...positions.map((p) => p[round + 1] ?? -Infinity)));
      }
    });
  });

  it("keeps the sessions when an instance restarts", async () => {
    const servers = agentServers(["db"], path.join(dir, "restart"));
    const sequential = (client: MultiServerMCPClient): Promise<DynamicStructuredTool> => toolOf(client, "thinking-tools-db", "sequential_thinking");
    await withClient(servers, async (client) => {
      expect(await invoke(await sequential(client), thought("before", 1, 2))).toMatchObject({ sessionId: "db-agent", thoughtHistoryLength: 1 });
    });
    await withClient(servers, async (client) => {
      expect(await invoke(await sequential(client), thought("after", 2, 2))).toMatchObject({ sessionId: "db-agent", thoughtHistoryLength: 2 });
      const session = await invoke(await toolOf(client, "thinking-tools-db", "thinking_session_get"), {});
      expect((session.thoughts as Array<{ thought: string }>).map((t) => t.thought)).toEqual(["before", "after"]);
    });
  });

  it("serves several sessionIds concurrently through one process without cross-talk", async () => {
    const servers = { thinking: { command: process.execPath, args: [BIN_PATH, "serve", "thinking", "--db", ":memory:"] } };
    await withClient(servers, async (client) => {
      const sequential = await toolOf(client, "thinking", "sequential_thinking");
      const get = await toolOf(client, "thinking", "thinking_session_get");
      const sessions = ["s1", "s2", "s3", "s4", "s5", "s6"];
      await Promise.all(
        sessions.map(async (sessionId) => {
          for (let n = 1; n <= THOUGHTS; n++) await invoke(sequential, thought(`${sessionId}/${n}`, n, THOUGHTS, { sessionId }));
        }),
      );
      const positions: number[][] = [];
      for (const sessionId of sessions) {
        const thoughts = (await invoke(get, { sessionId })).thoughts as Array<{ thought: string; position: number }>;
        expect(thoughts.map((t) => t.thought)).toEqual([1, 2, 3, 4].map((n) => `${sessionId}/${n}`));
        positions.push(thoughts.map((t) => t.position));
      }
      // Every session's first thought arrived before every other session's last: they overlapped.
      for (const mine of positions) for (const theirs of positions) expect(mine[0]).toBeLessThan(theirs[THOUGHTS - 1] ?? 0);
    });
  });

  it("surfaces bad inputs and limits as tool errors that name the field", async () => {
    const servers = {
      thinking: { command: process.execPath, args: [BIN_PATH, "serve", "thinking", "--db", ":memory:", "--max-thought-length", "5"] },
    };
    await withClient(servers, async (client) => {
      const sequential = await toolOf(client, "thinking", "sequential_thinking");
      await expect(invoke(sequential, thought("far too long", 1, 1))).rejects.toThrow(/THOUGHT_TOO_LONG: thought is 12 characters long; the limit is 5/);
      const reflective = await toolOf(client, "thinking", "reflective_thinking");
      await expect(invoke(reflective, { thoughtNumber: 3, critique: "c" })).rejects.toThrow(/THOUGHT_NOT_FOUND: thoughtNumber/);
    });
  });
});
