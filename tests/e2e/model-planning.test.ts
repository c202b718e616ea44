import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Report } from "../../agents/types.ts";
import { runCli } from "../helpers/cli.ts";
import { fakeServer, readCalls, tempDir } from "../helpers/fake-mcp.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const fnOf = (r: StubRequest): string | undefined => (r.body["tools"] as { function: { name: string } }[] | undefined)?.[0]?.function.name;
const work = (id: string, dependencies: string[] = []) => ({ id, tool: "toolkit.work", dependencies, params: { name: id } });

function setup(options: Parameters<typeof fakeServer>[2] = {}) {
  const dir = tempDir("co-model-planning-");
  const calls = path.join(dir, "calls.jsonl");
  const mcp = path.join(dir, "mcp.json");
  writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls, options) } }));
  const env = (s: OpenAIStub) => ({ CREDIT_OPTIMIZER_HOME: path.join(dir, ".co"), OPENAI_BASE_URL: s.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MCP_CONFIG: mcp });
  return { calls, env };
}

describe("model planning through the CLI (stand-in model over HTTP, a real MCP server over stdio)", () => {
  it("run: a step starts while the model is still writing the plan, and runs once", async () => {
    const { calls, env } = setup();
    const plan = { name: "Chain", steps: [work("first"), work("second"), work("last", ["first", "second"])] };
    let releasedBy = "";
    // The end of the stream is held until the MCP server has seen the first step's call (or 30 s).
    const holdEnd = async (): Promise<void> => {
      const started = Date.now();
      while (Date.now() - started < 30_000) {
        if (readCalls(calls).some((c) => c.tool === "work" && c.name === "first")) {
          releasedBy = "call";
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      releasedBy = "timeout";
    };
    stub = await startOpenAIStub((r): StubReply => (fnOf(r) === "plan" ? { toolCalls: [{ name: "plan", arguments: plan }] } : { content: "done" }), { tokensPerSecond: 500, holdEnd });
    const result = await runCli(["run", "chain the work", "--yes", "--json"], env(stub));
    expect(result.code).toBe(0);
    expect(releasedBy).toBe("call");
    const report = JSON.parse(result.stdout) as Report;
    expect(report.status).toBe("succeeded");
    expect(report.planner?.streamed?.map((s) => s.started ?? false)).toEqual([true, true, true]);
    expect(readCalls(calls).filter((c) => c.tool === "work").map((c) => c.name).sort()).toEqual(["first", "last", "second"]);
  });

  it("plan: only shows, nothing starts while it streams", async () => {
    const { calls, env } = setup();
    const plan = { name: "Chain", steps: [work("first")] };
    stub = await startOpenAIStub((r): StubReply => (fnOf(r) === "plan" ? { toolCalls: [{ name: "plan", arguments: plan }] } : { content: "done" }), { tokensPerSecond: 2000 });
    const result = await runCli(["plan", "chain the work", "--json"], env(stub));
    expect(result.code).toBe(0);
    expect(readCalls(calls).filter((c) => c.tool === "work")).toEqual([]);
  });

  it("run: a failed step is replanned by the model; the finished step is not called again", async () => {
    const { calls, env } = setup({ fail: ["taken"] });
    const plan = { name: "Chain", steps: [work("first"), work("taken"), work("last", ["first", "taken"])] };
    const answer = { action: "replace", reason: "the name is taken", steps: [work("other"), work("last", ["first", "other"])] };
    stub = await startOpenAIStub((r): StubReply => {
      const fn = fnOf(r);
      if (fn === "plan") return { toolCalls: [{ name: "plan", arguments: plan }] };
      if (fn === "replan") return { toolCalls: [{ name: "replan", arguments: answer }] };
      return { content: "done" };
    }, { tokensPerSecond: 2000 });
    const result = await runCli(["run", "chain the work", "--yes", "--json"], env(stub));
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.status).toBe("succeeded");
    expect(report.replans).toEqual([expect.objectContaining({ verdict: "replanned", kept: ["first"], steps: ["other", "last"] })]);
    const worked = readCalls(calls).filter((c) => c.tool === "work").map((c) => c.name);
    expect(worked.filter((n) => n === "first")).toHaveLength(1);
    expect(worked).toEqual(expect.arrayContaining(["taken", "other", "last"]));
    expect(readCalls(calls).filter((c) => c.tool === "undo")).toEqual([]);
  });
});
