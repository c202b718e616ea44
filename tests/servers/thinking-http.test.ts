import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { serveFromArgs } from "../../src/servers/thinking/index.ts";
import type { RunningServer } from "../../src/servers/transport.ts";
import { callOk, thought } from "../helpers/thinking.ts";

describe("thinking server over Streamable HTTP", () => {
  let dir: string;
  let running: RunningServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "thinking-http-"));
    const config = loadConfig({ CREDIT_OPTIMIZER_HOME: dir, AGENT_ID: "env-agent" }, dir);
    running = await serveFromArgs(["--http", "0"], config);
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function connect(): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(running.url ?? ""));
    const client = new Client({ name: "thinking-http-test", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  it("gives each HTTP session its own thinking session, ahead of AGENT_ID", async () => {
    const a = await connect();
    const b = await connect();
    expect(a.transport.sessionId).toBeDefined();
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);

    const fromA = await callOk(a.client, "sequential_thinking", thought("a1", 1, 2));
    const fromB = await callOk(b.client, "sequential_thinking", thought("b1", 1, 1));
    await callOk(a.client, "sequential_thinking", thought("a2", 2, 2));
    expect(fromA.sessionId).toBe(a.transport.sessionId);
    expect(fromB.sessionId).toBe(b.transport.sessionId);

    const sessionA = await callOk(a.client, "thinking_session_get", {});
    expect((sessionA.thoughts as Array<{ thought: string }>).map((t) => t.thought)).toEqual(["a1", "a2"]);
    const sessionB = await callOk(b.client, "thinking_session_get", {});
    expect((sessionB.thoughts as Array<{ thought: string }>).map((t) => t.thought)).toEqual(["b1"]);
  });

  it("shares one store between HTTP sessions: an explicit sessionId reaches the same history", async () => {
    const a = await connect();
    const b = await connect();
    await callOk(a.client, "sequential_thinking", thought("from a", 1, 2, { sessionId: "shared" }));
    const second = await callOk(b.client, "sequential_thinking", thought("from b", 2, 2, { sessionId: "shared" }));
    expect(second).toMatchObject({ sessionId: "shared", thoughtHistoryLength: 2 });
  });

  it("stores sessions in <home>/thinking.db by default", async () => {
    expect(existsSync(path.join(dir, "thinking.db"))).toBe(true);
  });
});
