import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { McpConfig } from "../../src/mcp/config.ts";

export const FAKE_SERVER = fileURLToPath(new URL("../fixtures/servers/fake-tools.ts", import.meta.url));

export interface FakeOptions {
  delays?: Record<string, number>;
  defaultMs?: number;
  fail?: string[];
  failUndo?: string[];
  flaky?: Record<string, number>;
  crashOnce?: string;
  /** name → how many progress notifications its `work` call sends over its delay. */
  progress?: Record<string, number>;
  /** name → a file: that name's call, after its delay, waits until the file exists (`release` makes it). */
  hold?: Record<string, string>;
}

/** One stdio entry that starts the scriptable fake MCP server. */
export function fakeServer(name: string, callsFile: string, options: FakeOptions = {}): McpConfig["mcpServers"][string] {
  return {
    command: process.execPath,
    args: ["--import", "tsx", FAKE_SERVER],
    env: {
      FAKE_SERVER: name,
      FAKE_CALLS_FILE: callsFile,
      FAKE_DELAYS: JSON.stringify(options.delays ?? {}),
      FAKE_DEFAULT_MS: String(options.defaultMs ?? 0),
      FAKE_FAIL: (options.fail ?? []).join(","),
      FAKE_FAIL_UNDO: (options.failUndo ?? []).join(","),
      FAKE_FLAKY: JSON.stringify(options.flaky ?? {}),
      FAKE_CRASH_ONCE: options.crashOnce ?? "",
      FAKE_PROGRESS: JSON.stringify(options.progress ?? {}),
      FAKE_HOLD: JSON.stringify(options.hold ?? {}),
      PATH: process.env["PATH"] ?? "",
    },
  };
}

/** Lets a call held by `FakeOptions.hold` on this file go on. */
export function release(file: string): void {
  writeFileSync(file, "");
}

export function tempDir(prefix = "co-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface Call {
  server: string;
  tool: string;
  name: string;
  at: number;
}

export function readCalls(file: string): Call[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Call);
}
