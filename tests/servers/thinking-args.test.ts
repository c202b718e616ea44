import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { parseThinkingArgs, THINKING_DEFAULTS } from "../../src/servers/thinking/args.ts";
import { isThinkingError } from "../../src/servers/thinking/errors.ts";

const config = loadConfig({ CREDIT_OPTIMIZER_HOME: "/state", AGENT_ID: "db-agent" }, "/work");

function failure(argv: string[]): string {
  try {
    parseThinkingArgs(argv, config);
  } catch (error) {
    if (isThinkingError(error) && error.code === "INVALID_ARGS") return error.message;
    throw error;
  }
  throw new Error(`parsed ${argv.join(" ")} without complaint`);
}

describe("serve thinking flags", () => {
  it("defaults to stdio, the state dir's database, and AGENT_ID from the environment", () => {
    expect(parseThinkingArgs([], config)).toEqual({
      http: undefined,
      host: undefined,
      db: path.join("/state", "thinking.db"),
      ttlMs: THINKING_DEFAULTS.ttlMs,
      maxThoughtsPerSession: THINKING_DEFAULTS.maxThoughtsPerSession,
      maxThoughtLength: THINKING_DEFAULTS.maxThoughtLength,
      agentId: "db-agent",
    });
  });

  it("reads every flag", () => {
    const argv = ["--http", "0", "--host", "0.0.0.0", "--db", ":memory:", "--ttl", "30m", "--max-thoughts", "5", "--max-thought-length", "80", "--agent-id", "x"];
    expect(parseThinkingArgs(argv, config)).toEqual({
      http: 0,
      host: "0.0.0.0",
      db: ":memory:",
      ttlMs: 30 * 60_000,
      maxThoughtsPerSession: 5,
      maxThoughtLength: 80,
      agentId: "x",
    });
  });

  it.each([
    ["500ms", 500],
    ["90", 90_000],
    ["90s", 90_000],
    ["1.5h", 5_400_000],
    ["7d", 604_800_000],
  ])("reads --ttl %s", (ttl, ms) => {
    expect(parseThinkingArgs(["--ttl", ttl], config).ttlMs).toBe(ms);
  });

  it("resolves a relative --db against the working directory", () => {
    expect(parseThinkingArgs(["--db", "x/t.db"], config).db).toBe(path.resolve("x/t.db"));
  });

  it.each([
    [["--http", "http"], /--http expects a whole number from 0 to 65535, got "http"/],
    [["--http", "70000"], /--http expects a whole number/],
    [["--ttl", "0"], /--ttl expects a positive duration/],
    [["--ttl", "soon"], /--ttl expects a positive duration .* got "soon"/],
    [["--max-thoughts", "0"], /--max-thoughts expects a whole number from 1/],
    [["--max-thought-length", "-3"], /--max-thought-length/],
    [["--db", ""], /--db expects a file path or :memory:/],
    [["--verbose"], /Unknown option '--verbose'/],
    [["stray"], /Unexpected argument 'stray'/],
  ])("rejects %j", (argv, message) => {
    expect(failure(argv)).toMatch(message);
  });
});
