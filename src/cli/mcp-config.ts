import { parseArgs } from "node:util";
import { isMcpConfigError } from "../mcp/config.ts";
import { multiInstanceConfig, parseAgentList, writeMcpConfig } from "../mcp/instances.ts";

export const MCP_CONFIG_USAGE = `credit-optimizer mcp-config --agents coding,db,deploy,redis [--out mcp.json] [--env KEY=VALUE]...
  Writes an mcpServers config: the built-in servers (thinking, toolkit, workspace) plus one
  thinking-tools-<agent> instance per agent, started with AGENT_ID=<agent>-agent.
  --agents LIST      comma-separated agent names (letters, digits, "-", "_")
  --out FILE         merge into FILE (created when missing; other servers are kept); stdout when absent
  --env KEY=VALUE    environment for every generated server (repeatable), e.g. CREDIT_OPTIMIZER_HOME=/abs/state`;

interface Options {
  agents: string[];
  out?: string;
  env: Record<string, string>;
}

class UsageProblem extends Error {
  readonly code = "USAGE";
}

/** `credit-optimizer mcp-config …`: 0 on success, 2 on bad input, 1 when the file cannot be written. */
export async function mcpConfigCommand(argv: string[]): Promise<number> {
  let options: Options | "help";
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageProblem) && !isMcpConfigError(error)) throw error;
    process.stderr.write(`mcp-config: ${error.message}\n\n${MCP_CONFIG_USAGE}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${MCP_CONFIG_USAGE}\n`);
    return 0;
  }
  const generated = multiInstanceConfig(options.agents, options.env);
  if (options.out === undefined) {
    process.stdout.write(`${JSON.stringify(generated, null, 2)}\n`);
    return 0;
  }
  try {
    const result = await writeMcpConfig(options.out, generated);
    const line = (label: string, names: string[]): string => (names.length > 0 ? `\n  ${label}: ${names.join(", ")}` : "");
    process.stdout.write(`wrote ${options.out}${line("added", result.added)}${line("updated", result.updated)}${line("kept", result.kept)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`mcp-config: ${(error as Error).message}\n`);
    return isMcpConfigError(error) ? 2 : 1;
  }
}

function parseOptions(argv: string[]): Options | "help" {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        agents: { type: "string" },
        out: { type: "string" },
        env: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageProblem((error as Error).message);
  }
  if (values.help) return "help";
  if (values.agents === undefined) throw new UsageProblem("--agents is required, e.g. --agents coding,db,deploy,redis");
  if (values.out !== undefined && values.out.trim() === "") throw new UsageProblem("--out expects a file path");
  return { agents: parseAgentList(values.agents), out: values.out, env: parseEnv(values.env ?? []) };
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageProblem(`--env expects KEY=VALUE, got "${pair}"`);
    if (key === "AGENT_ID") throw new UsageProblem("--env cannot set AGENT_ID: each instance gets its own from --agents");
    env[key] = pair.slice(eq + 1);
  }
  return env;
}
