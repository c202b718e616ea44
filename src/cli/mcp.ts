import type { AppConfig } from "../config.ts";
import { builtinEnv } from "../engine/runtime.ts";
import { McpRuntime } from "../mcp/client.ts";
import { describeUnannotated } from "../mcp/catalog.ts";
import { defaultMcpConfig, loadMcpConfig, type McpConfig, type ServerConfig } from "../mcp/config.ts";
import { commandLine, comparePin, configuredNames, pinFilePath, readPins, trustServer, unknownServerMessage } from "../mcp/pinning.ts";
import { maskSecrets } from "../secrets.ts";
import { parse, UsageError } from "./args.ts";
import type { Io } from "./run.ts";

export const MCP_USAGE = `credit-optimizer mcp list [--check] [--mcp-config mcp.json]
  Lists the configured MCP servers: the command each runs, whether its tools are pinned, and how
  tools without destructive/read-only hints are judged (the server's unannotatedTools setting).
  --check connects to each server and says whether its live tools still match the pin
  (exit 1 when one differs or cannot be reached).
credit-optimizer mcp trust <server> [--mcp-config mcp.json]
  Connects to the server, shows its full command and what changed since its tools were pinned,
  and pins its current tools. Runs that use a server whose tools changed stop until you do this.`;

const FLAGS = { "mcp-config": { type: "string" } } as const;
const LIST_FLAGS = { ...FLAGS, check: { type: "boolean" } } as const;

/** `credit-optimizer mcp list|trust …`: 0 on success, 2 on bad input or an unknown server. */
export async function mcpCommand(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "list") return listServers(rest, config, io);
  if (sub === "trust") return trust(rest, config, io);
  if (sub === "--help" || sub === "-h" || sub === "help") {
    io.out(MCP_USAGE);
    return 0;
  }
  throw new UsageError(`mcp needs a subcommand: list or trust (got ${sub === undefined ? "nothing" : `"${sub}"`})\n\n${MCP_USAGE}`);
}

async function listServers(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, LIST_FLAGS);
  if (positionals.length > 0) throw new UsageError(`mcp list takes no arguments (got ${positionals.join(" ")})`);
  const mcpConfig = await mcpConfigOf(values["mcp-config"], config);
  const pins = await readPins(config.home);
  let failing = 0;
  for (const [server, serverConfig] of Object.entries(mcpConfig.mcpServers)) {
    const pin = pins.servers[server];
    const state = pin ? `pinned ${pin.pinnedAt}, ${Object.keys(pin.tools).length} tools` : "not pinned yet (pinned on first use)";
    const names = configuredNames(serverConfig);
    const lines = [`${server}  ${state}`, `  ${commandLine(serverConfig)}`];
    if (names) lines.push(`  with ${names}`);
    lines.push(`  ${describeUnannotated(serverConfig.unannotatedTools)}`);
    if (values.check) {
      const checked = await checkServer(config.home, server, serverConfig);
      if (!checked.ok) failing++;
      lines.push(...checked.lines.map((l) => `  ${l}`));
    }
    io.out(lines.join("\n"));
  }
  io.out(`pins: ${pinFilePath(config.home)}`);
  return failing > 0 ? 1 : 0;
}

/** Connects to one server (only that one: a broken server must not hide the others) and compares. */
async function checkServer(home: string, server: string, serverConfig: ServerConfig): Promise<{ ok: boolean; lines: string[] }> {
  let runtime: McpRuntime;
  try {
    runtime = await McpRuntime.connect({ mcpServers: { [server]: serverConfig } });
  } catch (error) {
    return { ok: false, lines: [`check: cannot connect: ${maskSecrets((error as Error).message)}`] };
  }
  try {
    const unhinted = runtime.tools.filter((t) => t.annotations?.readOnlyHint !== true && typeof t.annotations?.destructiveHint !== "boolean");
    const hints = unhinted.length > 0 ? [`${unhinted.length} of ${runtime.tools.length} tools have no destructive/read-only hints: ${unhinted.map((t) => t.name).join(", ")}`] : [];
    const result = await comparePin(home, server, serverConfig, runtime.tools);
    if (result.state === "not-pinned") return { ok: true, lines: [`check: ${runtime.tools.length} tools live, not pinned yet`, ...hints] };
    if (result.state === "matches") return { ok: true, lines: [`check: the live tools match the pin (${runtime.tools.length} tools)`, ...hints] };
    return {
      ok: false,
      lines: [`check: CHANGED since it was pinned:`, ...result.diff.map((l) => `  - ${l}`), `review, then run: credit-optimizer mcp trust ${server}`, ...hints],
    };
  } finally {
    await runtime.close();
  }
}

async function trust(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, FLAGS);
  const [server, ...extra] = positionals;
  if (server === undefined || extra.length > 0) throw new UsageError("mcp trust needs exactly one server name: credit-optimizer mcp trust <server>");
  const mcpConfig = await mcpConfigOf(values["mcp-config"], config);
  const serverConfig = mcpConfig.mcpServers[server];
  if (!serverConfig) {
    io.err(unknownServerMessage(server, mcpConfig));
    return 2;
  }
  // Only this server is started: its pin is what is being reviewed, so nothing checks it on connect.
  const runtime = await McpRuntime.connect({ mcpServers: { [server]: serverConfig } });
  try {
    const result = await trustServer(config.home, server, mcpConfig, runtime.tools);
    const names = configuredNames(serverConfig);
    io.out(`server "${server}" runs: ${result.command}${names ? `\n  with ${names}` : ""}`);
    if (!result.hadPin) io.out("first pin: nothing to compare with");
    else if (result.diff.length === 0) io.out("no changes since it was pinned");
    else io.out(["changes since it was pinned:", ...result.diff.map((line) => `  - ${line}`)].join("\n"));
    io.out(`trusted "${server}": ${result.toolCount} tools pinned in ${pinFilePath(config.home)}`);
    return 0;
  } finally {
    await runtime.close();
  }
}

async function mcpConfigOf(file: string | undefined, config: AppConfig): Promise<McpConfig> {
  const path = file ?? config.mcpConfigPath;
  return path ? loadMcpConfig(path) : defaultMcpConfig(builtinEnv(config));
}
