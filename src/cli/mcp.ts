import type { AppConfig } from "../config.ts";
import { McpRuntime } from "../mcp/client.ts";
import { mcpConfigFor } from "../mcp/config.ts";
import { commandLine, configuredNames, pinFilePath, readPins, trustServer, unknownServerMessage } from "../mcp/pinning.ts";
import type { Io } from "./io.ts";

/** `mcp list`: each configured server, the command it runs, and whether its tools are pinned. */
export async function mcpListCommand(values: { mcpConfig?: string }, config: AppConfig, io: Io): Promise<number> {
  const mcpConfig = await mcpConfigFor(config, values.mcpConfig);
  const pins = await readPins(config.home);
  for (const [server, serverConfig] of Object.entries(mcpConfig.mcpServers)) {
    const pin = pins.servers[server];
    const state = pin ? `pinned ${pin.pinnedAt}, ${Object.keys(pin.tools).length} tools` : "not pinned yet (pinned on first use)";
    const names = configuredNames(serverConfig);
    io.out(`${server}  ${state}\n  ${commandLine(serverConfig)}${names ? `\n  with ${names}` : ""}`);
  }
  io.out(`pins: ${pinFilePath(config.home)}`);
  return 0;
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


