import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, runCli } from "../helpers/cli.ts";
import { fakeServer, readCalls, tempDir } from "../helpers/fake-mcp.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

const work = (id: string, dependencies: string[] = []) => ({ id, tool: "toolkit.work", dependencies, params: { name: id } });
const PLAN = { name: "Chain", steps: [work("first"), work("second"), work("last", ["first", "second"])] };
const fnOf = (r: StubRequest): string | undefined => (r.body["tools"] as { function: { name: string } }[] | undefined)?.[0]?.function.name;
const answer = (r: StubRequest): StubReply => (fnOf(r) === "plan" ? { toolCalls: [{ name: "plan", arguments: PLAN }] } : { content: "done" });

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

function setup(delays: Record<string, number> = {}) {
  const dir = tempDir("co-chat-stream-");
  const calls = path.join(dir, "calls.jsonl");
  const mcp = path.join(dir, "mcp.json");
  writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls, { delays }) } }));
  const env = (s: OpenAIStub) => ({ CREDIT_OPTIMIZER_HOME: path.join(dir, ".co"), OPENAI_BASE_URL: s.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MCP_CONFIG: mcp });
  return { calls, env };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("chat streams its plans (stand-in model at a token rate, a real MCP server over stdio)", () => {
  it("shows each step as the model writes it; asks first by default (nothing starts), and after :auto starts steps while the plan streams", async () => {
    const { calls, env } = setup();
    // Each plan stream's end is held until the MCP server has seen that turn's call of "first", or 3 s.
    const releasedBy: string[] = [];
    const holdEnd = async ({ call }: { call: number }): Promise<void> => {
      if (fnOf(stub!.requests[call]!) !== "plan") return;
      const turn = stub!.requests.slice(0, call).filter((r) => fnOf(r) === "plan").length;
      const started = Date.now();
      while (Date.now() - started < 3_000) {
        if (readCalls(calls).filter((c) => c.tool === "work" && c.name === "first").length > turn) {
          releasedBy[call] = "call";
          return;
        }
        await sleep(50);
      }
      releasedBy[call] = "timeout";
    };
    stub = await startOpenAIStub(answer, { tokensPerSecond: 500, holdEnd });
    const result = await runCli(["chat", "--session", "s"], env(stub), "chain the work\na\n:auto\nchain the work again\nexit\n");
    expect(result.code).toBe(0);
    const planCalls = stub.requests.map((r, i) => [fnOf(r), i] as const).filter(([fn]) => fn === "plan").map(([, i]) => i);
    expect(planCalls).toHaveLength(2);
    // Turn 1 asked before the run: nothing started while it streamed. Turn 2 (:auto) started "first" mid-stream.
    expect(planCalls.map((i) => releasedBy[i])).toEqual(["timeout", "call"]);
    expect(stub.requests[planCalls[0]!]!.body["stream"]).toBe(true);
    const err = result.stderr;
    expect(err.match(/approval needed: Approve running plan "Chain"/g)).toHaveLength(1);
    expect(err).toContain("runs each plan without asking first");
    // Live, in the order the model wrote them, before the plan table; in turn 2 "first" starts right after its line.
    const turn2 = err.slice(err.indexOf("runs each plan without asking first"));
    const at = (text: string) => turn2.indexOf(text);
    expect(at("+ first (toolkit.work) planned at")).toBeGreaterThan(-1);
    expect(at("+ first (toolkit.work)")).toBeLessThan(at("▶ first (toolkit.work)"));
    expect(at("▶ first (toolkit.work)")).toBeLessThan(at("+ last (toolkit.work)"));
    expect(at("+ last (toolkit.work)")).toBeLessThan(at('plan "Chain"'));
    // The reports (stdout): the second says its steps started while the plan streamed, the first does not.
    const reports = result.stdout.split(/(?=Chain — )/).filter((r) => r.startsWith("Chain — succeeded"));
    expect(reports).toHaveLength(2);
    expect(reports[0]).not.toContain("streamed:");
    expect(reports[1]).toContain("streamed: 3 of 3 step(s) started while the plan streamed");
    expect(readCalls(calls).filter((c) => c.tool === "work").map((c) => c.name).sort()).toEqual(["first", "first", "last", "last", "second", "second"]);
  });

  it("on a pseudo-terminal: chat --yes starts steps while the plan streams; Ctrl-C stops the model call, rolls back what started, and the chat goes on", async () => {
    const { calls, env } = setup();
    // The first plan's stream never ends by itself: it waits until the client hangs up (the stopped model call), or 40 s.
    const ended: string[] = [];
    const holdEnd = async ({ aborted, call }: { aborted(): boolean; call: number }): Promise<void> => {
      if (call > 0) return;
      const started = Date.now();
      while (Date.now() - started < 40_000) {
        if (aborted()) {
          ended.push("client stopped the call");
          return;
        }
        await sleep(50);
      }
      ended.push("timeout");
    };
    stub = await startOpenAIStub(answer, { tokensPerSecond: 500, holdEnd });
    const child = spawn("script", ["-qfec", `${process.execPath} ${BIN} chat --session pty --yes`, "/dev/null"], {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", TERM: "xterm", ...env(stub) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let screen = "";
    child.stdout!.on("data", (d: Buffer) => (screen += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    const see = async (text: string | RegExp, from = 0): Promise<void> => {
      const deadline = Date.now() + 45_000;
      while (typeof text === "string" ? !screen.slice(from).includes(text) : !text.test(screen.slice(from))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`never saw ${String(text)} on the terminal:\n${screen}`);
        await sleep(50);
      }
    };
    try {
      await see("> ");
      child.stdin!.write("chain the work\r");
      await see("+ last (toolkit.work) planned at");
      // All three started while the stream is held open; wait until their calls are done.
      for (let i = 0; i < 200 && readCalls(calls).filter((c) => c.tool === "work").length < 3; i++) await sleep(50);
      expect(readCalls(calls).filter((c) => c.tool === "work")).toHaveLength(3);
      expect(ended).toEqual([]);
      child.stdin!.write("\x03");
      await see("stopped while the plan streamed");
      const mark = screen.indexOf("stopped while the plan streamed");
      await see("> ", mark);
      expect(ended).toEqual(["client stopped the call"]);
      // The chat goes on: the next turn plans and runs.
      child.stdin!.write("chain the work again\r");
      await see("Chain — succeeded", mark);
      await see("> ", screen.lastIndexOf("Chain — succeeded"));
      child.stdin!.write("exit\r");
      expect(await closed).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    expect(screen).not.toContain("[a]pprove");
    expect(screen).not.toContain("approval needed");
    const made = readCalls(calls);
    // Turn 1's three steps were undone; turn 2 ran all three and kept them.
    expect(made.filter((c) => c.tool === "undo").map((c) => c.name).sort()).toEqual(["first", "last", "second"]);
    expect(made.filter((c) => c.tool === "work")).toHaveLength(6);
    expect(screen).toMatch(/↺ (first|second|last): undone/);
  });
});
