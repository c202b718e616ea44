import { describe, expect, it } from "vitest";
import { isMcpConfigError, parseMcpConfig } from "../../src/mcp/config.ts";

function problem(config: unknown): string {
  try {
    parseMcpConfig(config, "mcp.json");
  } catch (error) {
    expect(isMcpConfigError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected the config to be refused");
}

describe("MCP config", () => {
  it("accepts stdio (command + args, no shell) and Streamable HTTP entries", () => {
    const config = parseMcpConfig({
      mcpServers: { local: { command: "node", args: ["server.js", "--port=3"] }, remote: { url: "http://127.0.0.1:4000/mcp" } },
    });
    expect(Object.keys(config.mcpServers)).toEqual(["local", "remote"]);
  });

  it("refuses shell metacharacters in the command or args, naming the server and field", () => {
    expect(problem({ mcpServers: { evil: { command: "node", args: ["x.js", "; rm -rf /"] } } })).toContain("mcpServers.evil.args[1] contains a shell metacharacter");
    expect(problem({ mcpServers: { evil: { command: "sh -c `id`" } } })).toContain("mcpServers.evil.command contains a shell metacharacter");
    expect(problem({ mcpServers: { evil: { command: "node", args: ["$(curl x)"] } } })).toContain("mcpServers.evil.args[0]");
    expect(problem({ mcpServers: { evil: { command: "node", args: ["a | b"] } } })).toContain("mcpServers.evil.args[0]");
  });

  it("names the field of a malformed entry", () => {
    expect(problem({ mcpServers: { broken: { args: ["x"] } } })).toMatch(/mcp\.json is invalid:\n {2}mcpServers\.broken/);
    expect(problem({ servers: {} })).toContain("mcpServers");
  });
});
