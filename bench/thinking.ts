import { readFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { BIN_PATH } from "../src/mcp/config.ts";
import { createThinkingServer } from "../src/servers/thinking/server.ts";
import { ThinkingStore } from "../src/servers/thinking/store.ts";

const CALLS_PER_LEVEL = 4000;
const WARMUP_CALLS = 200;
const MEMORY_SESSIONS = 5000;
const THOUGHT = "Check whether the Neon branch exists before creating the Upstash database; ".repeat(3);

interface Throughput {
  sessions: number;
  calls: number;
  seconds: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

interface Server {
  client: Client;
  pid: number | null;
  close(): Promise<void>;
}

/**
 * `sequential_thinking` over stdio against `credit-optimizer serve thinking` (one server process,
 * SQLite file in WAL mode): throughput and latency with 1, 4 and 16 concurrent sessions. Memory
 * per 1,000 one-thought sessions: the stdio server's RSS growth and database size, and the memory
 * an in-process server with a `:memory:` database retains after garbage collection.
 */
export async function benchThinking(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-thinking-"));
  try {
    const throughput: Throughput[] = [];
    for (const sessions of [1, 4, 16]) throughput.push(await measureThroughput(sessions, path.join(dir, `throughput-${sessions}.db`)));
    return {
      throughputTransport: "stdio",
      callsPerLevel: CALLS_PER_LEVEL,
      thoughtChars: THOUGHT.length,
      throughput,
      memoryPer1000Sessions: {
        stdioFileDb: await measureServerMemory(path.join(dir, "memory.db")),
        inProcessMemoryDb: await measureRetainedMemory(),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function startServer(db: string): Promise<Server> {
  const args = [BIN_PATH, "serve", "thinking", "--db", db, "--max-thoughts", String(CALLS_PER_LEVEL)];
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: "ignore" });
  const client = new Client({ name: "bench-thinking", version: "1.0.0" });
  await client.connect(transport);
  return { client, pid: transport.pid, close: () => client.close() };
}

async function think(client: Client, sessionId: string, n: number): Promise<void> {
  const args = { sessionId, thought: THOUGHT, thoughtNumber: n, totalThoughts: n, nextThoughtNeeded: true };
  const result = (await client.callTool({ name: "sequential_thinking", arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`sequential_thinking failed: ${JSON.stringify(result.content)}`);
}

async function measureThroughput(sessions: number, db: string): Promise<Throughput> {
  const server = await startServer(db);
  try {
    for (let i = 1; i <= WARMUP_CALLS; i++) await think(server.client, "warmup", i);
    const perSession = Math.ceil(CALLS_PER_LEVEL / sessions);
    const latencies: number[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: sessions }, async (_, s) => {
        for (let n = 1; n <= perSession; n++) {
          const t0 = performance.now();
          await think(server.client, `session-${s}`, n);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      sessions,
      calls: latencies.length,
      seconds: round(seconds),
      callsPerSecond: Math.round(latencies.length / seconds),
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: round(percentile(latencies, 0.99)),
    };
  } finally {
    await server.close();
  }
}

/** Server RSS growth (garbage included) and database size from adding MEMORY_SESSIONS one-thought sessions. */
async function measureServerMemory(db: string): Promise<Record<string, number | null>> {
  const server = await startServer(db);
  let rssGrowth: number | null = null;
  try {
    await think(server.client, "warmup", 1);
    const before = rssBytes(server.pid);
    await addSessions(server.client);
    const after = rssBytes(server.pid);
    if (before !== null && after !== null) rssGrowth = after - before;
  } finally {
    await server.close();
  }
  const dbBytes = (await fileSize(db)) + (await fileSize(`${db}-wal`));
  return { rssBytes: rssGrowth === null ? null : per1000(rssGrowth), dbFileBytes: per1000(dbBytes) };
}

/** Heap and RSS still held, after a forced GC, by an in-process server whose sessions live in `:memory:`. */
async function measureRetainedMemory(): Promise<Record<string, number>> {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const store = new ThinkingStore({ file: ":memory:", ttlMs: 3_600_000, maxEntriesPerSession: 10 });
  const server = createThinkingServer({ store, maxThoughtLength: 20_000 });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "bench-thinking", version: "1.0.0" });
  await server.connect(serverTransport);
  await client.connect(clientTransport);
  try {
    await think(client, "warmup", 1);
    gc();
    const before = process.memoryUsage();
    await addSessions(client);
    gc();
    const after = process.memoryUsage();
    return { heapBytes: per1000(after.heapUsed - before.heapUsed), rssBytes: per1000(after.rss - before.rss) };
  } finally {
    await client.close();
    await server.close();
    store.close();
  }
}

async function addSessions(client: Client): Promise<void> {
  const batch = 50;
  for (let first = 0; first < MEMORY_SESSIONS; first += batch) {
    await Promise.all(Array.from({ length: batch }, (_, i) => think(client, `memory-${first + i}`, 1)));
  }
}

function per1000(bytes: number): number {
  return Math.round((bytes * 1000) / MEMORY_SESSIONS);
}

async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

/** Resident set size of a process (Linux /proc); null elsewhere. */
function rssBytes(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
