import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createThinkingServer } from "../../src/servers/thinking/server.ts";
import { ThinkingStore } from "../../src/servers/thinking/store.ts";

export interface ThinkingHarness {
  client: Client;
  store: ThinkingStore;
  /** Moves the injected clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface HarnessOptions {
  file?: string;
  ttlMs?: number;
  maxThoughts?: number;
  maxThoughtLength?: number;
  agentId?: string;
  /** Reuse a store (several clients over one store); not closed by the harness. */
  store?: ThinkingStore;
}

/** A real MCP client connected to a thinking server over an in-memory linked pair, with a manual clock. */
export async function connectThinking(options: HarnessOptions = {}): Promise<ThinkingHarness> {
  let now = Date.UTC(2026, 0, 1);
  const store =
    options.store ??
    new ThinkingStore({
      file: options.file ?? ":memory:",
      ttlMs: options.ttlMs ?? 60_000,
      maxEntriesPerSession: options.maxThoughts ?? 1000,
      now: () => now,
    });
  const server = createThinkingServer({ store, agentId: options.agentId, maxThoughtLength: options.maxThoughtLength ?? 1000 });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "thinking-test", version: "1.0.0" });
  await server.connect(serverTransport);
  await client.connect(clientTransport);
  return {
    client,
    store,
    advance(ms) {
      now += ms;
    },
    async close() {
      await client.close();
      await server.close();
      if (!options.store) store.close();
    },
  };
}

/** Calls a tool and returns its structured result; fails when the tool reports an error. */
export async function callOk(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${errorText(result)}`);
  return result.structuredContent as Record<string, unknown>;
}

/** Calls a tool that must fail and returns its error text. */
export async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (!result.isError) throw new Error(`${name} succeeded but was expected to fail: ${JSON.stringify(result.structuredContent)}`);
  return errorText(result);
}

function errorText(result: CallToolResult): string {
  return result.content.map((part) => (part.type === "text" ? part.text : `[${part.type}]`)).join("\n");
}

/** A sequential_thinking argument object for thought `n` of `total`. */
export function thought(text: string, n: number, total: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { thought: text, thoughtNumber: n, totalThoughts: total, nextThoughtNeeded: n < total, ...extra };
}

/** Resolves once `parties` callers have arrived; reusable round after round. */
export function barrier(parties: number): () => Promise<void> {
  let waiting: Array<() => void> = [];
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === parties) {
        const release = waiting;
        waiting = [];
        for (const r of release) r();
      }
    });
}
