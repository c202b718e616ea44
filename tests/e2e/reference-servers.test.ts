import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { mcpListCommand } from "../../src/cli/mcp.ts";
import { loadConfig } from "../../src/config.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { RunContext } from "../../src/engine/run-step.ts";
import type { ExecState } from "../../src/engine/state.ts";
import type { StepEvent } from "../../src/engine/step-event.ts";
import { McpRuntime } from "../../src/mcp/client.ts";
import type { McpConfig } from "../../src/mcp/config.ts";
import { checkPins } from "../../src/mcp/pinning.ts";
import { formatProblem } from "../../src/plan/validate.ts";
import { waitFor } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import {
  EVERYTHING,
  EVERYTHING_2025_01,
  EVERYTHING_2025_01_DIR,
  EVERYTHING_DIR,
  FILESYSTEM,
  MEMORY,
  readTap,
  startEverythingHttp,
  stdio,
  tapped,
} from "../helpers/reference-servers.ts";

/**
 * The MCP reference servers from the registry, as a user would bring them: filesystem and memory
 * over stdio, everything over stdio (behind a tap that logs the JSON-RPC traffic) and over
 * Streamable HTTP on a free port. Plans run through the executor graph.
 */
const dir = tempDir("co-ref-");
const root = path.join(dir, "files");
const tapLog = path.join(dir, "everything.tap.jsonl");
let http: Awaited<ReturnType<typeof startEverythingHttp>>;
let runtime: McpRuntime;
let mcpConfig: McpConfig;

beforeAll(async () => {
  mkdirSync(root, { recursive: true });
  http = await startEverythingHttp();
  mcpConfig = {
    mcpServers: {
      fs: stdio(FILESYSTEM, [root]),
      memory: stdio(MEMORY, [], { MEMORY_FILE_PATH: path.join(dir, "memory.jsonl") }),
      everything: tapped(tapLog, stdio(EVERYTHING, ["stdio"])),
      "everything-http": { url: http.url },
    },
  };
  runtime = await McpRuntime.connect(mcpConfig);
});

afterAll(async () => {
  await runtime?.close();
  await http?.stop();
});

async function run(plan: unknown, options: { params?: Record<string, unknown>; stop?: AbortSignal; allowDestructive?: boolean } = {}) {
  const events: StepEvent[] = [];
  const ctx: RunContext = { caller: runtime, limits: new ServerLimits(8), defaultRetry: { maxAttempts: 1 } };
  const graph = compileExecutor({ context: async () => ctx, onEvent: (e) => events.push(e), stopSignal: options.stop }, new MemorySaver());
  const state = (await graph.invoke(
    { plan, params: options.params ?? {}, allowDestructive: options.allowDestructive ?? true },
    { configurable: { thread_id: `ref-${Math.random()}` } },
  )) as ExecState;
  return { state, events };
}

const toolCalls = (): { id: number; name: string }[] =>
  readTap(tapLog)
    .filter((e) => e.dir === "in" && e.msg.method === "tools/call")
    .map((e) => ({ id: Number(e.msg.id), name: String(e.msg.params?.["name"]) }));

describe("a plan over the reference servers chains text and structured outputs", () => {
  const plan = {
    name: "reference servers",
    params: { greeting: "hello from a plan" },
    steps: [
      { id: "note", tool: "fs.write_file", dependencies: [], params: { path: `${root}/in.txt`, content: "${greeting}" } },
      { id: "read", tool: "fs.read_text_file", dependencies: ["note"], params: { path: `${root}/in.txt` } },
      { id: "sum", tool: "everything.get-sum", dependencies: [], params: { a: 2, b: 3 } },
      {
        id: "remember",
        tool: "memory.create_entities",
        dependencies: [],
        params: { entities: [{ name: "greeting", entityType: "note", observations: ["${read.content}", "${sum.text}"] }] },
      },
      { id: "slow_stdio", tool: "everything.trigger-long-running-operation", dependencies: [], params: { duration: 1, steps: 4 } },
      { id: "slow_http", tool: "everything-http.trigger-long-running-operation", dependencies: [], params: { duration: 1, steps: 4 } },
      { id: "echo", tool: "everything-http.echo", dependencies: [], params: { message: "${remember.entities.0.name} says ${sum}" } },
      { id: "recall", tool: "memory.search_nodes", dependencies: [], params: { query: "${remember.entities.0.name}" } },
      {
        id: "summary",
        tool: "fs.write_file",
        dependencies: ["slow_stdio", "slow_http"],
        params: { path: `${root}/out.txt`, content: "${echo.text} | ${recall.entities.0.observations.0} | ${slow_http}" },
      },
    ],
  };
  let result: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    result = await run(plan);
  });

  it("runs to the end, each reference reading the right form", () => {
    const { state } = result;
    expect(Object.fromEntries(Object.values(state.results).map((r) => [r.id, r.error?.message ?? r.status]))).toEqual(
      Object.fromEntries(plan.steps.map((s) => [s.id, "succeeded"])),
    );
    expect(state.status).toBe("succeeded");
    // fs declares an outputSchema ({ content }); memory returns JSON text; everything returns prose.
    expect(state.results["read"]!.output).toMatchObject({ content: "hello from a plan" });
    expect(state.results["sum"]!.output).toBe("The sum of 2 and 3 is 5.");
    expect(readFileSync(`${root}/out.txt`, "utf8")).toBe(
      "Echo: greeting says The sum of 2 and 3 is 5. | hello from a plan | Long running operation completed. Duration: 1 seconds, Steps: 4.",
    );
  });

  it("every reference was checked before the run: fields against outputSchemas, ${x.text} and ${x} always exist", () => {
    expect(result.state.prepared!.notes.filter((n) => n.includes("checked at run time"))).toEqual([]);
  });

  it("the two slow steps, one over stdio and one over Streamable HTTP, run in parallel and report progress", () => {
    const a = result.state.results["slow_stdio"]!;
    const b = result.state.results["slow_http"]!;
    expect(a.startedAtMs).toBeLessThan(b.endedAtMs);
    expect(b.startedAtMs).toBeLessThan(a.endedAtMs);
    for (const id of ["slow_stdio", "slow_http"]) {
      const progress = result.events.filter((e) => e.type === "step_progress" && e.id === id);
      // One report per step of the operation; the last may land after the result.
      const seen = progress.map((e) => (e.type === "step_progress" ? [e.progress, e.total] : []));
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]].slice(0, seen.length));
    }
  });
});

describe("bad plans are refused before anything runs", () => {
  it("bad params and bad output references, each named by step and field; no tool is called", async () => {
    const callsBefore = toolCalls().length;
    const plan = {
      name: "bad",
      steps: [
        { id: "write", tool: "fs.write_file", dependencies: [], params: { path: `${root}/never.txt`, content: "x" } },
        { id: "read", tool: "fs.read_text_file", dependencies: ["write"], params: { paths: `${root}/never.txt` } },
        { id: "sum", tool: "everything.get-sum", dependencies: [], params: { a: "two", b: 3 } },
        { id: "remember", tool: "memory.create_entities", dependencies: [], params: { entities: [{ name: "x", observations: [] }] } },
        { id: "copy", tool: "fs.write_file", dependencies: [], params: { path: `${root}/copy.txt`, content: "${read.contents}" } },
        { id: "count", tool: "everything.get-sum", dependencies: [], params: { a: "${remember}", b: 1 } },
      ],
    };
    const { state } = await run(plan);
    expect(state.status).toBe("invalid");
    expect(state.problems.map(formatProblem)).toEqual([
      'step "read", params: missing required field "path"',
      'step "sum", params.a: must be number',
      'step "remember", params.entities.0: missing required field "entityType"',
      'step "copy", params.content: ${read.contents}: the output of step "read" (fs.read_text_file) has no field "read.contents" (its outputSchema declares: content)',
      'step "count", params.a: ${remember} is an object (by the outputSchema of step "remember"), but everything.get-sum wants a number here; embed it in text ("… ${remember} …") to pass it as JSON text',
    ]);
    expect(existsSync(`${root}/never.txt`)).toBe(false);
    expect(toolCalls().length).toBe(callsBefore);
  });

  it("a field of a prose output passes validate with a note, then fails at run time with what to write instead", async () => {
    const { state } = await run({
      name: "prose",
      steps: [
        { id: "sum", tool: "everything.get-sum", dependencies: [], params: { a: 1, b: 2 } },
        { id: "echo", tool: "everything.echo", dependencies: [], params: { message: "${sum.content}" } },
      ],
    });
    expect(state.prepared!.notes).toContain('step "echo" reads ${sum.content}: checked at run time, since everything.get-sum (step "sum") declares no outputSchema');
    expect(state.results["echo"]!.error?.message).toBe(
      'params.message: ${sum.content} — the output of step "sum" has no field "sum.content" (the output is text, not JSON: read it as ${sum.text} or ${sum})',
    );
  });
});

describe("cancellation: a timeout or a stop sends notifications/cancelled for the call in flight", () => {
  const cancelledIds = (): number[] =>
    readTap(tapLog)
      .filter((e) => e.dir === "in" && e.msg.method === "notifications/cancelled")
      .map((e) => Number(e.msg.params?.["requestId"]));

  it("a step timeout cancels the call, then fails the step as a timeout", async () => {
    const { state } = await run({
      name: "timeout",
      steps: [{ id: "slow", tool: "everything.trigger-long-running-operation", dependencies: [], params: { duration: 20, steps: 20 }, timeoutMs: 1500 }],
    });
    expect(state.results["slow"]).toMatchObject({ status: "failed", attempts: 1, error: { code: "TIMEOUT", retryable: true } });
    const call = toolCalls().filter((c) => c.name === "trigger-long-running-operation").at(-1)!;
    // The client sends the notification without waiting for it, and the tap logs it when it reads it.
    await waitFor(() => cancelledIds().includes(call.id), 10_000, `notifications/cancelled for request ${call.id} at the server`);
  });

  it("a cancelling stop cancels the call in flight and the run ends cancelled", async () => {
    const stop = new AbortController();
    const events: StepEvent[] = [];
    const ctx: RunContext = { caller: runtime, limits: new ServerLimits(8), defaultRetry: { maxAttempts: 3 } };
    const graph = compileExecutor(
      {
        context: async () => ctx,
        cancelSignal: stop.signal,
        onEvent: (e) => {
          events.push(e);
          // Stop at the first progress report: the call is certainly in flight.
          if (e.type === "step_progress") stop.abort();
        },
      },
      new MemorySaver(),
    );
    const state = (await graph.invoke(
      {
        plan: {
          name: "stop",
          steps: [
            { id: "slow", tool: "everything.trigger-long-running-operation", dependencies: [], params: { duration: 20, steps: 40 } },
            { id: "after", tool: "everything.echo", dependencies: ["slow"], params: { message: "never" } },
          ],
        },
      },
      { configurable: { thread_id: `stop-${Math.random()}` } },
    )) as ExecState;
    expect(state.results["slow"]).toMatchObject({ status: "failed", attempts: 1, error: { code: "CANCELLED", retryable: false } });
    expect(state.results["after"]).toMatchObject({ status: "skipped" });
    expect(state.status).toBe("cancelled");
    const call = toolCalls().filter((c) => c.name === "trigger-long-running-operation").at(-1)!;
    // The client sends the notification without waiting for it, and the tap logs it when it reads it.
    await waitFor(() => cancelledIds().includes(call.id), 10_000, `notifications/cancelled for request ${call.id} at the server`);
  });
});

describe(`protocol versions: the SDK speaks ${LATEST_PROTOCOL_VERSION} and down to ${SUPPORTED_PROTOCOL_VERSIONS.at(-1)}`, () => {
  const oldTap = path.join(dir, "old.tap.jsonl");
  let old: McpRuntime;
  beforeAll(async () => {
    old = await McpRuntime.connect({ mcpServers: { old: tapped(oldTap, stdio(EVERYTHING_2025_01)) } });
  });
  afterAll(async () => old?.close());

  it("a server that offers only 2024-11-05 is spoken to in 2024-11-05", async () => {
    const init = readTap(oldTap);
    const request = init.find((e) => e.dir === "in" && e.msg.method === "initialize")!;
    const response = init.find((e) => e.dir === "out" && e.msg.id === request.msg.id)!;
    expect(request.msg.params?.["protocolVersion"]).toBe(LATEST_PROTOCOL_VERSION);
    expect(response.msg.result?.["protocolVersion"]).toBe("2024-11-05");
    expect(SUPPORTED_PROTOCOL_VERSIONS).toContain("2024-11-05");
    expect(await old.call("old", "add", { a: 2, b: 3 })).toBe("The sum of 2 and 3 is 5.");
  });

  it("Method not found (-32601) fails once, said once, and does not restart the server", async () => {
    const ctx: RunContext = { caller: old, limits: new ServerLimits(2), defaultRetry: { maxAttempts: 3, backoffMs: 1 } };
    const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
    const state = (await graph.invoke(
      { plan: { name: "sampling", steps: [{ id: "sample", tool: "old.sampleLLM", dependencies: [], params: { prompt: "hi" } }] }, allowDestructive: true },
      { configurable: { thread_id: `s-${Math.random()}` } },
    )) as ExecState;
    expect(state.results["sample"]).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { code: "PROTOCOL", retryable: false, message: "old.sampleLLM: Method not found (JSON-RPC -32601, method not found)" },
    });
    expect(readTap(oldTap).filter((e) => e.dir === "in" && e.msg.method === "initialize")).toHaveLength(1);
    expect(await old.call("old", "add", { a: 1, b: 1 })).toBe("The sum of 1 and 1 is 2.");
  });

  it("its tools carry no annotations: destructive by MCP's defaults unless the config trusts the server", async () => {
    const plan = { name: "echo", steps: [{ id: "e", tool: "old.echo", dependencies: [], params: { message: "hi" } }] };
    const ctx: RunContext = { caller: old, limits: new ServerLimits(2) };
    const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
    const refused = (await graph.invoke({ plan, allowDestructive: false }, { configurable: { thread_id: `d-${Math.random()}` } })) as ExecState;
    // Refused at the call by the gate (validation lists it as needing approval).
    expect(refused.prepared?.needsApproval).toEqual(["e"]);
    expect(refused.results["e"]).toMatchObject({ status: "failed", error: { code: "POLICY_DESTRUCTIVE" } });
    expect(refused.results["e"]!.error!.message).toBe('step "e": old.echo refused by the destructive rule: old.echo may destroy data: it runs only with approval (a person\'s, or --allow-destructive)');
    const trusted = await McpRuntime.connect({ mcpServers: { old: { ...stdio(EVERYTHING_2025_01), unannotatedTools: "non-destructive" } } });
    try {
      const trustedCtx: RunContext = { caller: trusted, limits: new ServerLimits(2) };
      const g = compileExecutor({ context: async () => trustedCtx }, new MemorySaver());
      const ran = (await g.invoke({ plan, allowDestructive: false }, { configurable: { thread_id: `d-${Math.random()}` } })) as ExecState;
      expect(ran.status).toBe("succeeded");
      expect(ran.results["e"]!.output).toBe("Echo: hi");
    } finally {
      await trusted.close();
    }
  });
});

describe("pinning catches an upgrade of a reference server", () => {
  it("the same command line, another release: run-time check and mcp list --check both name the changes", async () => {
    const home = tempDir("co-ref-home-");
    // An install that is upgraded in place: the command line stays the same, the package changes.
    const current = path.join(dir, "everything-current");
    symlinkSync(EVERYTHING_2025_01_DIR, current, "dir");
    const config: McpConfig = { mcpServers: { everything: stdio(path.join(current, "dist", "index.js"), ["stdio"]) } };
    const configFile = path.join(dir, "mcp-upgrade.json");
    writeFileSync(configFile, JSON.stringify(config));
    const connectAndCheck = async () => {
      const rt = await McpRuntime.connect(config);
      try {
        return await checkPins(home, config, rt.tools);
      } finally {
        await rt.close();
      }
    };
    expect((await connectAndCheck()).newlyPinned.map((p) => p.server)).toEqual(["everything"]);
    expect((await connectAndCheck()).changed).toEqual([]);

    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const appConfig = loadConfig({ CREDIT_OPTIMIZER_HOME: home });
    expect(await mcpListCommand({ check: true, mcpConfig: configFile }, appConfig, io)).toBe(0);
    expect(out.join("\n")).toContain("check: the live tools match the pin (6 tools)");
    expect(out.join("\n")).toContain("unannotated tools: possibly destructive, approval needed (MCP's default");
    expect(out.join("\n")).toContain("6 of 6 tools have no destructive/read-only hints: echo, add, printEnv, longRunningOperation, sampleLLM, getTinyImage");

    rmSync(current);
    symlinkSync(EVERYTHING_DIR, current, "dir");
    const upgraded = await connectAndCheck();
    expect(upgraded.changed).toHaveLength(1);
    const diff = upgraded.changed[0]!.diff;
    expect(diff).toContain("tool \"add\" removed");
    expect(diff).toContain("tool \"longRunningOperation\" removed");
    expect(diff.some((l) => l.startsWith('tool "get-sum" added'))).toBe(true);

    out.length = 0;
    expect(await mcpListCommand({ check: true, mcpConfig: configFile }, appConfig, io)).toBe(1);
    const text = out.join("\n");
    expect(text).toContain("check: CHANGED since it was pinned:");
    expect(text).toContain('- tool "add" removed');
    expect(text).toContain("review, then run: credit-optimizer mcp trust everything");
    expect(EVERYTHING).not.toBe(EVERYTHING_2025_01);
  });
});
