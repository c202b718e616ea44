import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.ts";
import { fakeServer, readCalls, tempDir } from "../helpers/fake-mcp.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

const PLAN = {
  name: "Slow chain",
  steps: [
    { id: "first", tool: "toolkit.work", dependencies: [], params: { name: "first" } },
    { id: "slow", tool: "toolkit.work", dependencies: ["first"], params: { name: "slow" } },
    { id: "last", tool: "toolkit.work", dependencies: ["slow"], params: { name: "last" } },
  ],
};

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

describe("credit-optimizer chat on a pseudo-terminal (util-linux `script`)", () => {
  it("animates one line per running step; Ctrl-C (a keypress in raw mode) stops, rolls back and the chat goes on", async () => {
    stub = await startOpenAIStub((request: StubRequest): StubReply =>
      Array.isArray(request.body["tools"]) ? { toolCalls: [{ name: "plan", arguments: PLAN }] } : { content: "done" },
    );
    const dir = tempDir("co-pty-");
    const calls = path.join(dir, "calls.jsonl");
    const mcp = path.join(dir, "mcp.json");
    writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls, { delays: { slow: 2500 } }) } }));
    const child = spawn("script", ["-qfec", `${process.execPath} ${BIN} chat --session pty`, "/dev/null"], {
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "/tmp",
        TERM: "xterm",
        CREDIT_OPTIMIZER_HOME: path.join(dir, ".co"),
        OPENAI_BASE_URL: stub.baseUrl,
        OPENAI_API_KEY: "sk-test-not-real",
        CREDIT_OPTIMIZER_MCP_CONFIG: mcp,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let screen = "";
    child.stdout!.on("data", (d: Buffer) => (screen += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    const see = async (text: string | RegExp): Promise<void> => {
      const deadline = Date.now() + 45_000;
      while (typeof text === "string" ? !screen.includes(text) : !text.test(screen)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`never saw ${String(text)} on the terminal:\n${screen}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await see("> ");
      child.stdin!.write("chain the work\r");
      await see("[a]pprove / [e]dit / [c]ancel");
      child.stdin!.write("a\r");
      // Redrawn in place: cursor up, clear, a spinner frame and the elapsed time.
      await see(/\x1b\[1A\x1b\[J {2}[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] slow \(toolkit\.work\) \d/);
      child.stdin!.write("\x03");
      await see("the thread is resumable");
      await see(/summary: done[^]*> /);
      child.stdin!.write("exit\r");
      expect(await closed).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    expect(screen).toContain("Slow chain — cancelled");
    const made = readCalls(calls);
    expect(made.filter((c) => c.tool === "work").map((c) => c.name)).toEqual(["first", "slow"]);
    expect(made.filter((c) => c.tool === "undo").map((c) => c.name).sort()).toEqual(["first", "slow"]);
  });
});
