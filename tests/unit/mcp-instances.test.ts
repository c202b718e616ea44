import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { runMain } from "../helpers/cli.ts";
import { BIN_PATH, isMcpConfigError, parseMcpConfig } from "../../src/mcp/config.ts";
import { mergeMcpConfig, multiInstanceConfig, parseAgentList, thinkingInstanceName, writeMcpConfig } from "../../src/mcp/instances.ts";

describe("multi-instance MCP config", () => {
  it("adds one thinking-tools instance per agent to the built-in servers", () => {
    const config = multiInstanceConfig(["coding", "db", "deploy", "redis"]);
    expect(Object.keys(config.mcpServers)).toEqual([
      "thinking",
      "toolkit",
      "workspace",
      "thinking-tools-coding",
      "thinking-tools-db",
      "thinking-tools-deploy",
      "thinking-tools-redis",
    ]);
    expect(config.mcpServers["thinking-tools-db"]).toEqual({
      command: process.execPath,
      args: [BIN_PATH, "serve", "thinking"],
      env: { AGENT_ID: "db-agent" },
    });
    expect(thinkingInstanceName("db")).toBe("thinking-tools-db");
    expect(parseMcpConfig(config)).toEqual(config);
  });

  it("passes extra env to every server without letting it replace AGENT_ID", () => {
    const config = multiInstanceConfig(["db"], { CREDIT_OPTIMIZER_HOME: "/state" });
    expect(config.mcpServers.toolkit).toMatchObject({ env: { CREDIT_OPTIMIZER_HOME: "/state" } });
    expect(config.mcpServers["thinking-tools-db"]).toMatchObject({ env: { CREDIT_OPTIMIZER_HOME: "/state", AGENT_ID: "db-agent" } });
  });

  it.each([
    ["coding,,db", /agent #2 "" is not a valid name/],
    ["coding,db,coding", /agent "coding" is listed twice/],
    ["db;rm -rf", /agent #1 "db;rm -rf" is not a valid name/],
    ["-db", /agent #1 "-db"/],
  ])("rejects the agent list %j", (text, message) => {
    expect(() => parseAgentList(text)).toThrow(message);
  });

  it("trims agent names", () => {
    expect(parseAgentList(" coding , db ")).toEqual(["coding", "db"]);
  });

  it("merges without losing the user's servers, top-level keys, or env", () => {
    const existing = {
      $schema: "https://example.test/schema.json",
      mcpServers: {
        github: { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"], env: { GITHUB_TOKEN: "t" } },
        toolkit: { command: "old-node", args: ["old.js"], env: { NEON_API_KEY: "k" }, disabled: false },
        "thinking-tools-db": { command: "npx", args: ["-y", "@robinsonai/thinking-tools-mcp"], env: { AGENT_ID: "stale" } },
        remote: { url: "https://mcp.example.test/mcp" },
      },
    };
    const result = mergeMcpConfig(existing, multiInstanceConfig(["coding", "db"]));
    expect(result.added).toEqual(["thinking", "workspace", "thinking-tools-coding"]);
    expect(result.updated).toEqual(["toolkit", "thinking-tools-db"]);
    expect(result.kept).toEqual(["github", "remote"]);
    const servers = result.config.mcpServers as Record<string, Record<string, unknown>>;
    expect(result.config.$schema).toBe(existing.$schema);
    expect(servers.github).toEqual(existing.mcpServers.github);
    expect(servers.remote).toEqual(existing.mcpServers.remote);
    expect(servers.toolkit).toEqual({ command: process.execPath, args: [BIN_PATH, "serve", "toolkit"], env: { NEON_API_KEY: "k" }, disabled: false });
    expect(servers["thinking-tools-db"]?.env).toEqual({ AGENT_ID: "db-agent" });
  });

  it("replaces a same-named HTTP entry by the generated stdio entry", () => {
    const result = mergeMcpConfig({ mcpServers: { thinking: { url: "https://x.test/mcp" } } }, multiInstanceConfig([]));
    expect((result.config.mcpServers as Record<string, unknown>).thinking).toEqual({ command: process.execPath, args: [BIN_PATH, "serve", "thinking"], env: {} });
  });

  it.each([
    [[1, 2], /expected a JSON object/],
    [{ mcpServers: [] }, /"mcpServers" must be an object/],
  ])("refuses to merge into %j", (existing, message) => {
    expect(() => mergeMcpConfig(existing, multiInstanceConfig(["db"]))).toThrow(message);
  });
});

describe("mcp-config command", () => {
  let dir: string;
  let stdout: string;
  let stderr: string;
  /** `credit-optimizer mcp-config …` in this process; its output lands in stdout / stderr. */
  const mcpConfigCommand = async (argv: string[]): Promise<number> => {
    const result = await runMain(["mcp-config", ...argv], loadConfig({}, dir));
    stdout += result.stdout;
    stderr += result.stderr;
    return result.code;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mcp-config-"));
    stdout = "";
    stderr = "";
          });

  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the config to stdout without --out", async () => {
    expect(await mcpConfigCommand(["--agents", "coding,db,deploy,redis"])).toBe(0);
    const config = parseMcpConfig(JSON.parse(stdout));
    expect(Object.keys(config.mcpServers).filter((n) => n.startsWith("thinking-tools-"))).toHaveLength(4);
  });

  it("writes a new file, then merges into it on a second run", async () => {
    const out = path.join(dir, "sub", "mcp.json");
    expect(await mcpConfigCommand(["--agents", "coding,db", "--out", out])).toBe(0);
    expect(stdout).toContain("added: thinking, toolkit, workspace, thinking-tools-coding, thinking-tools-db");

    const edited = JSON.parse(await readFile(out, "utf8")) as { mcpServers: Record<string, unknown> };
    edited.mcpServers.mine = { command: "my-server", args: [] };
    await writeFile(out, JSON.stringify(edited));
    stdout = "";
    expect(await mcpConfigCommand(["--agents", "deploy", "--out", out, "--env", "CREDIT_OPTIMIZER_HOME=/state"])).toBe(0);
    expect(stdout).toMatch(/added: thinking-tools-deploy\n {2}updated: thinking, toolkit, workspace\n {2}kept: thinking-tools-coding, thinking-tools-db, mine/);
    const written = parseMcpConfig(JSON.parse(await readFile(out, "utf8")));
    expect(Object.keys(written.mcpServers).sort()).toEqual(
      ["mine", "thinking", "thinking-tools-coding", "thinking-tools-db", "thinking-tools-deploy", "toolkit", "workspace"].sort(),
    );
    expect(written.mcpServers["thinking-tools-deploy"]).toMatchObject({ env: { CREDIT_OPTIMIZER_HOME: "/state", AGENT_ID: "deploy-agent" } });
  });

  it.each([
    [[], /required option '--agents <list>' not specified/],
    [["--agents", "a,,b"], /agent #2 "" is not a valid name/],
    [["--agents", "db", "--verbose"], /unknown option '--verbose'/],
    [["--agents", "db", "--env", "NOEQUALS"], /--env expects KEY=VALUE, got "NOEQUALS"/],
    [["--agents", "db", "--env", "AGENT_ID=x"], /--env cannot set AGENT_ID/],
    [["--agents", "db", "--out", ""], /--out expects a file path/],
  ])("exits 2 on %j with a clear message", async (argv, message) => {
    expect(await mcpConfigCommand(argv)).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe("");
  });

  it("exits 2 and leaves an existing non-JSON file untouched", async () => {
    const out = path.join(dir, "mcp.json");
    await writeFile(out, "{ not json");
    expect(await mcpConfigCommand(["--agents", "db", "--out", out])).toBe(2);
    expect(stderr).toMatch(/mcp\.json is not JSON .* nothing was written/);
    expect(await readFile(out, "utf8")).toBe("{ not json");
  });

  it("prints usage for --help", async () => {
    expect(await mcpConfigCommand(["--help"])).toBe(0);
    expect(stdout).toContain("Usage: credit-optimizer mcp-config [options]");
  });

  it("reports config errors as typed errors", async () => {
    await writeFile(path.join(dir, "bad.json"), "[]");
    await expect(writeMcpConfig(path.join(dir, "bad.json"), multiInstanceConfig(["db"]))).rejects.toSatisfy(isMcpConfigError);
  });
});
