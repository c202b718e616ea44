import { isMcpConfigError } from "../mcp/config.ts";
import { multiInstanceConfig, parseAgentList, writeMcpConfig } from "../mcp/instances.ts";
import { UsageError } from "./args.ts";
import { EXIT, type Io } from "./io.ts";

/**
 * `credit-optimizer mcp-config --agents …`: writes an mcpServers config with the built-in servers and
 * one thinking-tools-<agent> instance per agent. 0 on success, 2 on bad input, 1 when the file cannot be written.
 */
export async function mcpConfigCommand(values: { agents: string; out?: string; env?: string[] }, io: Io): Promise<number> {
  if (values.out !== undefined && values.out.trim() === "") throw new UsageError("--out expects a file path");
  let generated;
  try {
    generated = multiInstanceConfig(parseAgentList(values.agents), parseEnv(values.env ?? []));
  } catch (error) {
    if (isMcpConfigError(error)) throw new UsageError(`mcp-config: ${error.message}`);
    throw error;
  }
  if (values.out === undefined) {
    io.out(JSON.stringify(generated, null, 2));
    return EXIT.ok;
  }
  try {
    const result = await writeMcpConfig(values.out, generated);
    const line = (label: string, names: string[]): string => (names.length > 0 ? `\n  ${label}: ${names.join(", ")}` : "");
    io.out(`wrote ${values.out}${line("added", result.added)}${line("updated", result.updated)}${line("kept", result.kept)}`);
    return EXIT.ok;
  } catch (error) {
    io.err(`mcp-config: ${(error as Error).message}`);
    return isMcpConfigError(error) ? EXIT.badInput : EXIT.failed;
  }
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`--env expects KEY=VALUE, got "${pair}"`);
    if (key === "AGENT_ID") throw new UsageError("--env cannot set AGENT_ID: each instance gets its own from --agents");
    env[key] = pair.slice(eq + 1);
  }
  return env;
}
