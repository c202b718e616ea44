import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.ts";
import { fakeServer, readCalls, release, tempDir } from "../helpers/fake-mcp.ts";
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
    // slow, once called, waits for `held`: the spinner and Ctrl-C are seen while it runs, however slow the machine.
    const held = path.join(dir, "slow.release");
    writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls, { delays: { slow: 500 }, hold: { slow: held } }) } }));
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
      await see("stopping: no new steps start");
      release(held);
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
  }, 240_000);
});

/** `run` under util-linux `script`: stdin and stderr are a real terminal, so the CLI asks inline. */
function runOnPty(args: string, home: string, extraEnv: Record<string, string> = {}): { see(text: string | RegExp): Promise<void>; type(text: string): void; closed: Promise<number | null>; screen(): string; kill(): void } {
  const child = spawn("script", ["-qfec", `${process.execPath} ${BIN} ${args}`, "/dev/null"], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", TERM: "xterm", CREDIT_OPTIMIZER_HOME: home, ...extraEnv },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  child.stdout!.on("data", (d: Buffer) => (screen += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  return {
    async see(text) {
      const deadline = Date.now() + 90_000;
      while (typeof text === "string" ? !screen.includes(text) : !text.test(screen)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`never saw ${String(text)} on the terminal:\n${screen}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    type: (text) => child.stdin!.write(text),
    closed,
    screen: () => screen,
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

describe("credit-optimizer run on a pseudo-terminal, offline planner", () => {
  it("asks for a missing parameter inline; the answer completes the run", async () => {
    const home = path.join(tempDir("co-pty-ask-"), ".co");
    mkdirSync(path.join(home, "workspace", "api"), { recursive: true });
    writeFileSync(path.join(home, "workspace", "api", "index.ts"), "// TODO: name things\nexport const answer = 42;\n");
    const pty = runOnPty(`run "report the tech debt"`, home);
    try {
      await pty.see("? Which workspace project (project)?");
      pty.type("api\r");
      expect(await pty.closed).toBe(0);
    } finally {
      pty.kill();
    }
    expect(pty.screen()).toContain('param project = "api" (answer)');
    expect(pty.screen()).toContain("Tech Debt Report — succeeded");
  }, 240_000);

  it("\"did you mean\": the close workflows are numbered with their descriptions; picking one by number plans the request with it, values from the request", async () => {
    const home = path.join(tempDir("co-pty-pick-"), ".co");
    const name = `files${Date.now().toString(36)}`;
    const pty = runOnPty(`run "give me a place to store files called ${name} in eu-west-1"`, home);
    try {
      await pty.see("did you mean:");
      await pty.see(/1\) upstash-redis-setup — Create an Upstash Redis database/);
      await pty.see("? which one (1-");
      pty.type("1\r");
      expect(await pty.closed).toBe(0);
    } finally {
      pty.kill();
    }
    const screen = pty.screen();
    // Asked by number, so the list carries no --workflow flags.
    expect(screen).not.toContain("(--workflow upstash-redis-setup)");
    expect(screen).toMatch(/plan "Upstash Redis Setup" from the catalog planner \(no model configured\): workflow "upstash-redis-setup", picked from the workflows that came close/);
    expect(screen).toContain(`param database_name = "${name}"`);
    expect(screen).toContain('param region = "eu-west-1"');
    expect(screen).toContain("Upstash Redis Setup — succeeded");
  }, 240_000);
});

describe("run --break-before on a pseudo-terminal", () => {
  it("shows the paused step's inputs and asks inline: Enter goes on to the next breakpoint, n stops there and rolls back", async () => {
    const dir = tempDir("co-pty-break-");
    const calls = path.join(dir, "calls.jsonl");
    const mcp = path.join(dir, "mcp.json");
    writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", calls) } }));
    const plan = path.join(dir, "plan.json");
    writeFileSync(plan, JSON.stringify({ ...PLAN, steps: PLAN.steps.map((s) => (s.id === "slow" ? { ...s, params: { name: "slow-after-${first.name}" } } : s)) }));
    const pty = runOnPty(`run --plan ${plan} --mcp-config ${mcp} --break-before slow,last`, path.join(dir, ".co"));
    try {
      await pty.see('breakpoint: paused before step "slow"');
      await pty.see('"name": "slow-after-first"');
      await pty.see("go on? [Y/n]");
      pty.type("\r");
      await pty.see('breakpoint: paused before step "last"');
      pty.type("n\r");
      expect(await pty.closed).toBe(1);
    } finally {
      pty.kill();
    }
    expect(pty.screen()).toContain("Slow chain — cancelled");
    const made = readCalls(calls);
    expect(made.filter((c) => c.tool === "work").map((c) => c.name)).toEqual(["first", "slow-after-first"]);
    expect(made.filter((c) => c.tool === "undo").map((c) => c.name)).toEqual(["slow-after-first", "first"]);
  }, 240_000);
});
