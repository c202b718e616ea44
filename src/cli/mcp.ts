import type { AppConfig } from "../config.ts";
import { McpRuntime } from "../mcp/client.ts";
import { describeUnannotated } from "../mcp/catalog.ts";
import { mcpConfigFor, type ServerConfig } from "../mcp/config.ts";
import { commandLine, comparePin, configuredNames, pinFilePath, readPins, trustServer, unknownServerMessage } from "../mcp/pinning.ts";
import { maskSecrets } from "../secrets.ts";
import type { Io } from "./io.ts";

/** `mcp list [--check]`: each server, its command, its pin, how unannotated tools are judged; with --check, whether the live tools still match. */
export async function mcpListCommand(values: { mcpConfig?: string; check?: boolean }, config: AppConfig, io: Io): Promise<number> {
  const mcpConfig = await mcpConfigFor(config, values.mcpConfig);
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

/** `mcp trust <server>`: connects to it, shows its command and what changed, and pins its current tools. */
export async function mcpTrustCommand(server: string, values: { mcpConfig?: string }, config: AppConfig, io: Io): Promise<number> {
  const mcpConfig = await mcpConfigFor(config, values.mcpConfig);
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
