import { describe, expect, it } from "vitest";
import { earlyServers } from "../../src/cli/start-servers.ts";
import { loadConfig } from "../../src/config.ts";
import { builtinServer, defaultMcpConfig, type McpConfig } from "../../src/mcp/config.ts";
import { thinkingInstanceName } from "../../src/mcp/instances.ts";

const offline = loadConfig({ CREDIT_OPTIMIZER_HOME: "/tmp/co-start-servers" }, "/tmp");
const withModel = loadConfig({ CREDIT_OPTIMIZER_HOME: "/tmp/co-start-servers", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" }, "/tmp");
const mcp: McpConfig = {
  mcpServers: {
    ...defaultMcpConfig().mcpServers,
    [thinkingInstanceName("db")]: builtinServer("thinking", { AGENT_ID: "db" }),
    github: { command: "github-mcp-server", args: ["stdio"], env: {} },
  },
};
const started = async (config: typeof offline, run: Parameters<typeof earlyServers>[1], servers = mcp) => Object.keys((await earlyServers(config, run, servers)).mcpServers).sort();

describe("the servers a run starts before its plan exists", () => {
  it("offline, a request starts the built-in servers the templates name and every third-party server", async () => {
    expect(await started(offline, { words: ["set", "up", "redis"] })).toEqual(["github", "toolkit", "workspace"]);
  });

  it("a workflow starts only the built-in servers it names", async () => {
    expect(await started(offline, { words: [], workflow: "neon-full-setup" })).toEqual(["github", "toolkit"]);
  });

  it("a model or a plan file may name any tool: every server starts", async () => {
    const all = Object.keys(mcp.mcpServers).sort();
    expect(await started(withModel, { words: ["set", "up", "redis"] })).toEqual(all);
    expect(await started(offline, { words: [], plan: "plan.json" })).toEqual(all);
    expect(await started(offline, { words: [], workflow: "no-such-workflow" })).toEqual(all);
  });

  it("a config without a server the templates name starts everything (the names resolve through the catalog)", async () => {
    const renamed: McpConfig = { mcpServers: { infra: builtinServer("toolkit"), workspace: builtinServer("workspace"), thinking: builtinServer("thinking") } };
    expect(await started(offline, { words: ["deploy"] }, renamed)).toEqual(["infra", "thinking", "workspace"]);
  });
});
