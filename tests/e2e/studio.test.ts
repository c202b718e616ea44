import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../agents/types.ts";
import { fakeServer, readCalls, tempDir } from "../helpers/fake-mcp.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";
import { freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PLAN = {
  name: "Replace the cache",
  steps: [
    { id: "remove_old", tool: "toolkit.undo", dependencies: [], params: { name: "old-cache" } },
    { id: "create_new", tool: "toolkit.work", dependencies: ["remove_old"], params: { name: "new-cache" } },
    { id: "report", tool: "toolkit.plain", dependencies: [], params: { name: "report" } },
  ],
};

/** For breakpoints: bp_done reads bp_app's output (an implied edge); bp_report runs beside them. */
const STEPPED = {
  name: "Stepped in Studio",
  steps: [
    { id: "bp_db", tool: "toolkit.work", dependencies: [], params: { name: "studio-bp-db" } },
    { id: "bp_app", tool: "toolkit.work", dependencies: ["bp_db"], params: { name: "studio-bp-app" } },
    { id: "bp_done", tool: "toolkit.work", dependencies: [], params: { name: "studio-bp-done-${bp_app.name}" } },
    { id: "bp_report", tool: "toolkit.plain", dependencies: [], params: { name: "studio-bp-report" } },
  ],
};
const STOPPED = {
  name: "Stopped in Studio",
  steps: [
    { id: "stop_first", tool: "toolkit.work", dependencies: [], params: { name: "studio-stop-first" } },
    { id: "stop_second", tool: "toolkit.work", dependencies: ["stop_first"], params: { name: "studio-stop-second" } },
  ],
};
const bpCalls = (): string[] => readCalls(calls).filter((c) => c.name.startsWith("studio-bp-")).map((c) => c.name).sort();

let server: ChildProcess | undefined;
let stub: OpenAIStub | undefined;
let base = "";
let calls = "";
let log = "";


async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${route}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

beforeAll(async () => {
  stub = await startOpenAIStub((request: StubRequest): StubReply =>
    Array.isArray(request.body["tools"]) ? { toolCalls: [{ name: "plan", arguments: PLAN }] } : { content: "Replaced the cache." },
  );
  const dir = tempDir("co-studio-");
  calls = path.join(dir, "calls.jsonl");
  const mcp = path.join(dir, "mcp.json");
  writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls) } }));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [path.join(ROOT, "node_modules/@langchain/langgraph-cli/dist/cli/cli.mjs"), "dev", "--port", String(port), "--no-browser", "--config", "langgraph.json"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "/tmp",
      LANGGRAPH_CLI_NO_ANALYTICS: "1",
      CREDIT_OPTIMIZER_HOME: path.join(dir, ".co"),
      CREDIT_OPTIMIZER_MCP_CONFIG: mcp,
      OPENAI_BASE_URL: stub.baseUrl,
      OPENAI_API_KEY: "sk-test-not-real",
    },
  });
  server.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 50_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/ok`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`langgraphjs dev did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

afterAll(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((r) => server!.once("exit", r));
    process.kill(-server.pid, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode === null) process.kill(-server.pid, "SIGKILL");
  }
  await stub?.close();
});

describe("LangGraph Studio: langgraphjs dev serves the graphs in langgraph.json", () => {
  it("lists the orchestrator and the executor", async () => {
    // The server keeps its state in .langgraph_api beside langgraph.json, so assistants that earlier
    // runs of this file configured with a plan may be listed too: each graph is asked for once.
    const assistants = await api<{ graph_id: string }[]>("POST", "/assistants/search", { metadata: { created_by: "system" } });
    expect(assistants.map((a) => a.graph_id).sort()).toEqual(["executor", "orchestrator"]);
  });

  it("drives a full orchestrator run over HTTP: interrupt for a destructive step, resumed through the API", async () => {
    const { thread_id } = await api<{ thread_id: string }>("POST", "/threads", {});
    const first = await api<Record<string, unknown>>("POST", `/threads/${thread_id}/runs/wait`, {
      assistant_id: "orchestrator",
      input: { request: "replace the old cache with a new one" },
    });
    expect(JSON.stringify(first["__interrupt__"] ?? "")).toContain("destructive steps: remove_old");
    const waiting = await api<{ next: string[]; tasks: { interrupts: { value: { kind: string } }[] }[] }>("GET", `/threads/${thread_id}/state`);
    expect(waiting.next).toEqual(["approve"]);
    expect(waiting.tasks[0]!.interrupts[0]!.value.kind).toBe("approval");
    expect(readCalls(calls)).toHaveLength(0);

    await api("POST", `/threads/${thread_id}/runs/wait`, { assistant_id: "orchestrator", command: { resume: { approved: true } } });
    const done = await api<{ next: string[]; values: { report: Report } }>("GET", `/threads/${thread_id}/state`);
    expect(done.next).toEqual([]);
    expect(done.values.report.outcome).toBe("executed");
    expect(done.values.report.status).toBe("succeeded");
    expect(done.values.report.approval).toMatchObject({ approved: true, by: "human" });
    expect(done.values.report.planner?.kind).toBe("model");
    expect(readCalls(calls).map((c) => c.name).sort()).toEqual(["new-cache", "old-cache", "report"]);
  });

  it("a plan crossing its running budget pauses at the budget interrupt; Command({ resume }) goes on without repeating a step", async () => {
    const plan = {
      name: "Costly in Studio",
      steps: [
        { id: "pricey", tool: "toolkit.work", params: { name: "studio-pricey", output: { cost_usd: 2 } } },
        { id: "after", tool: "toolkit.work", dependencies: ["pricey"], params: { name: "studio-after" } },
      ],
    };
    const { thread_id } = await api<{ thread_id: string }>("POST", "/threads", {});
    const first = await api<Record<string, unknown>>("POST", `/threads/${thread_id}/runs/wait`, {
      assistant_id: "orchestrator",
      input: { plan, planner: { kind: "file", reason: "from the test" }, budgetUsd: 1, autoApprove: true },
    });
    expect(JSON.stringify(first["__interrupt__"] ?? "")).toContain("this run has spent $2.00, over the $1.00 it was allowed");
    const waiting = await api<{ tasks: { interrupts: { value: { kind: string; held: string[] } }[] }[] }>("GET", `/threads/${thread_id}/state`);
    expect(waiting.tasks.flatMap((t) => t.interrupts).map((i) => i.value)).toEqual([expect.objectContaining({ kind: "budget", held: ["after"] })]);
    expect(readCalls(calls).filter((c) => c.name.startsWith("studio-")).map((c) => c.name)).toEqual(["studio-pricey"]);

    await api("POST", `/threads/${thread_id}/runs/wait`, { assistant_id: "orchestrator", command: { resume: { approved: true } } });
    const done = await api<{ values: { report: Report } }>("GET", `/threads/${thread_id}/state`);
    expect(done.values.report.status).toBe("succeeded");
    expect(readCalls(calls).filter((c) => c.name.startsWith("studio-")).map((c) => c.name)).toEqual(["studio-pricey", "studio-after"]);
  });

  it("runs a plan on the executor graph", async () => {
    const { thread_id } = await api<{ thread_id: string }>("POST", "/threads", {});
    const values = await api<{ status: string; results: Record<string, { status: string }> }>("POST", `/threads/${thread_id}/runs/wait`, {
      assistant_id: "executor",
      input: { plan: { name: "one step", steps: [{ id: "only", tool: "toolkit.plain", params: { name: "only" } }] } },
    });
    expect(values.status).toBe("succeeded");
    expect(values.results["only"]!.status).toBe("succeeded");
  });

  it("an executor assistant configured with a plan draws that plan's own graph: one node per step, edges from its dependencies", async () => {
    const assistant = await api<{ assistant_id: string }>("POST", "/assistants", { graph_id: "executor", config: { configurable: { plan: STEPPED } } });
    const graph = await api<{ nodes: { id: string }[]; edges: { source: string; target: string }[] }>("GET", `/assistants/${assistant.assistant_id}/graph`);
    expect(graph.nodes.map((n) => n.id).sort()).toEqual(["__end__", "__start__", "bp_app", "bp_db", "bp_done", "bp_report", "run.compensate", "run.prepare", "run.settle"]);
    const from = (node: string): string[] => graph.edges.filter((e) => e.source === node).map((e) => e.target).sort();
    expect(from("run.prepare")).toEqual(["__end__", "bp_db", "bp_report", "run.settle"]);
    expect(from("bp_db")).toEqual(["bp_app", "run.settle"]); // declared
    expect(from("bp_app")).toEqual(["bp_done", "run.settle"]); // implied by ${bp_app.name}
    expect(from("bp_report")).toEqual(["run.settle"]);
    // Without a plan in its config the executor is the fixed graph.
    const fixed = await api<{ nodes: { id: string }[] }>("GET", "/assistants/executor/graph");
    expect(fixed.nodes.map((n) => n.id)).toContain("runGraph");
  });

  it("interruptBefore a step stops the run there (its dependencies done, in the state); resuming finishes without repeating a step", async () => {
    const assistant = await api<{ assistant_id: string }>("POST", "/assistants", { graph_id: "executor", config: { configurable: { plan: STEPPED } } });
    const { thread_id } = await api<{ thread_id: string }>("POST", "/threads", {});
    await api("POST", `/threads/${thread_id}/runs/wait`, { assistant_id: assistant.assistant_id, input: { plan: STEPPED }, interrupt_before: ["bp_done"] });
    const paused = await api<{ next: string[]; values: { results: Record<string, { status: string; output: { name: string } }> } }>("GET", `/threads/${thread_id}/state`);
    expect(paused.next).toEqual(["bp_done"]);
    expect(Object.keys(paused.values.results).sort()).toEqual(["bp_app", "bp_db", "bp_report"]);
    // What bp_done will be called with: ${bp_app.name} reads this output.
    expect(paused.values.results["bp_app"]!.output.name).toBe("studio-bp-app");
    expect(bpCalls()).toEqual(["studio-bp-app", "studio-bp-db", "studio-bp-report"]);

    await api("POST", `/threads/${thread_id}/runs/wait`, { assistant_id: assistant.assistant_id, input: null });
    const done = await api<{ next: string[]; values: { status: string } }>("GET", `/threads/${thread_id}/state`);
    expect(done.next).toEqual([]);
    expect(done.values.status).toBe("succeeded");
    expect(bpCalls()).toEqual(["studio-bp-app", "studio-bp-db", "studio-bp-done-studio-bp-app", "studio-bp-report"]);
  });

  it("at a breakpoint, Command({ update: { stop: true } }) stops the run and rolls back the finished steps", async () => {
    const assistant = await api<{ assistant_id: string }>("POST", "/assistants", { graph_id: "executor", config: { configurable: { plan: STOPPED } } });
    const { thread_id } = await api<{ thread_id: string }>("POST", "/threads", {});
    await api("POST", `/threads/${thread_id}/runs/wait`, { assistant_id: assistant.assistant_id, input: { plan: STOPPED }, interrupt_before: ["stop_second"] });
    expect((await api<{ next: string[] }>("GET", `/threads/${thread_id}/state`)).next).toEqual(["stop_second"]);
    await api("POST", `/threads/${thread_id}/runs/wait`, { assistant_id: assistant.assistant_id, command: { update: { stop: true } } });
    const done = await api<{ next: string[]; values: { status: string; results: Record<string, { status: string }> } }>("GET", `/threads/${thread_id}/state`);
    expect(done.values.status).toBe("cancelled");
    expect(done.values.results["stop_second"]!.status).toBe("skipped");
    const made = readCalls(calls).filter((c) => c.name.startsWith("studio-stop-"));
    expect(made.map((c) => `${c.tool}:${c.name}`)).toEqual(["work:studio-stop-first", "undo:studio-stop-first"]);
  });

  it("one Studio process runs one copy of each MCP server for both graphs", () => {
    const rows = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
      .split("\n")
      .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
    const tree = new Set([server!.pid!]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const row of rows) if (tree.has(row.ppid) && !tree.has(row.pid)) (tree.add(row.pid), (grew = true));
    }
    const copies = rows.filter((r) => tree.has(r.pid) && r.args.includes("fake-tools"));
    expect(copies).toHaveLength(1);
  });
});
