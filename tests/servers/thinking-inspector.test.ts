import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN_PATH } from "../../src/mcp/config.ts";

// A real MCP client nobody here wrote: @modelcontextprotocol/inspector in CLI mode, against
// `credit-optimizer serve thinking` over stdio.

interface InspectorRun {
  code: number;
  output: Record<string, unknown>;
}

const ROOT = path.dirname(path.dirname(BIN_PATH));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "thinking-inspector-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function inspector(args: string[]): Promise<InspectorRun> {
  const target = ["node", BIN_PATH, "serve", "thinking", "--db", path.join(dir, "thinking.db")];
  return new Promise((resolve, reject) => {
    execFile("npx", ["--no-install", "mcp-inspector", "--cli", ...target, ...args], { cwd: ROOT, timeout: 50_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return reject(error);
      try {
        resolve({ code: typeof error?.code === "number" ? error.code : 0, output: JSON.parse(stdout) as Record<string, unknown> });
      } catch {
        reject(new Error(`inspector printed no JSON (exit ${String(error?.code ?? 0)}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe("thinking server through the MCP Inspector CLI", () => {
  it("lists the tools", async () => {
    const run = await inspector(["--method", "tools/list"]);
    expect(run.code).toBe(0);
    const tools = run.output.tools as Array<{ name: string; annotations?: Record<string, unknown> }>;
    expect(tools.map((t) => t.name).sort()).toEqual([
      "parallel_thinking",
      "reflective_thinking",
      "sequential_thinking",
      "thinking_session_get",
      "thinking_session_list",
      "thinking_session_reset",
    ]);
  });

  it("calls sequential_thinking, and a second server process sees the first one's thought", async () => {
    const call = (n: number): Promise<InspectorRun> =>
      inspector([
        "--method",
        "tools/call",
        "--tool-name",
        "sequential_thinking",
        "--tool-arg",
        `thought=step ${n}`,
        "nextThoughtNeeded=true",
        `thoughtNumber=${n}`,
        "totalThoughts=1",
        "sessionId=inspector",
      ]);
    const first = await call(1);
    expect(first.code).toBe(0);
    expect(first.output.structuredContent).toEqual({
      sessionId: "inspector",
      thoughtNumber: 1,
      totalThoughts: 1,
      nextThoughtNeeded: true,
      branches: [],
      thoughtHistoryLength: 1,
    });
    const second = await call(2);
    expect(second.output.structuredContent).toMatchObject({ thoughtNumber: 2, totalThoughts: 2, thoughtHistoryLength: 2 });
  });

  it("reports a bad input as a tool error naming the field", async () => {
    const run = await inspector([
      "--method",
      "tools/call",
      "--tool-name",
      "sequential_thinking",
      "--tool-arg",
      "thought=x",
      "nextThoughtNeeded=false",
      "thoughtNumber=0",
      "totalThoughts=1",
    ]);
    expect(run.code).not.toBe(0);
    expect(run.output.isError).toBe(true);
    expect(JSON.stringify(run.output.content)).toMatch(/at thoughtNumber/);
  });
});
