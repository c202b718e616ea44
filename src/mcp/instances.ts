import { readFile } from "node:fs/promises";
import { writeJsonAtomic } from "../atomic-write.ts";
import { builtinServer, defaultMcpConfig, McpConfigError, type McpConfig } from "./config.ts";

const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** The server name of an agent's own thinking-tools instance: `db` → `thinking-tools-db`. */
export function thinkingInstanceName(agent: string): string {
  return `thinking-tools-${agent}`;
}

/** The AGENT_ID (default session) an agent's instance runs with: `db` → `db-agent`. */
export function agentIdFor(agent: string): string {
  return `${agent}-agent`;
}

/** Parses `coding,db,deploy`; every problem names the entry. */
export function parseAgentList(text: string): string[] {
  const agents = text.split(",").map((a) => a.trim());
  const seen = new Set<string>();
  agents.forEach((agent, i) => {
    if (!AGENT_NAME.test(agent)) {
      throw new McpConfigError(
        `agent #${i + 1} ${JSON.stringify(agent)} is not a valid name: use 1–63 letters, digits, "-" or "_", starting with a letter or digit`,
      );
    }
    if (seen.has(agent)) throw new McpConfigError(`agent "${agent}" is listed twice`);
    seen.add(agent);
  });
  return agents;
}

/** The built-in servers plus one `thinking-tools-<agent>` instance per agent, each with its AGENT_ID. */
export function multiInstanceConfig(agents: readonly string[], env: Record<string, string> = {}): McpConfig {
  const config = defaultMcpConfig(env);
  for (const agent of agents) {
    config.mcpServers[thinkingInstanceName(agent)] = builtinServer("thinking", { ...env, AGENT_ID: agentIdFor(agent) });
  }
  return config;
}

export interface MergeResult {
  /** The whole file: the existing top-level keys, with `mcpServers` merged. */
  config: Record<string, unknown>;
  added: string[];
  updated: string[];
  /** The existing servers left exactly as they were. */
  kept: string[];
}

/**
 * Merges a generated config into an existing file's content. Generated servers replace
 * same-named entries; a replaced stdio entry keeps its other fields and the `env` keys the
 * generator does not set. Every other server, and every other top-level key, is kept as is.
 */
export function mergeMcpConfig(existing: unknown, generated: McpConfig, source = "existing MCP config"): MergeResult {
  const file = existing === undefined ? {} : asObject(existing, `${source}: expected a JSON object`);
  const servers = file.mcpServers === undefined ? {} : asObject(file.mcpServers, `${source}: "mcpServers" must be an object`);
  const merged: Record<string, unknown> = { ...servers };
  const added: string[] = [];
  const updated: string[] = [];
  for (const [name, server] of Object.entries(generated.mcpServers)) {
    const previous = servers[name];
    if (previous === undefined) {
      added.push(name);
      merged[name] = server;
    } else {
      updated.push(name);
      merged[name] = mergeServer(previous, server);
    }
  }
  const kept = Object.keys(servers).filter((name) => !(name in generated.mcpServers));
  return { config: { ...file, mcpServers: merged }, added, updated, kept };
}

/** Merges `generated` into `file` (created when missing) and writes it atomically. */
export async function writeMcpConfig(file: string, generated: McpConfig): Promise<MergeResult> {
  const result = mergeMcpConfig(await readExisting(file), generated, file);
  await writeJsonAtomic(file, result.config, 0o644);
  return result;
}

async function readExisting(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new McpConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new McpConfigError(`${file} is not JSON (${(error as Error).message}); fix or move it, nothing was written`);
  }
}

function mergeServer(previous: unknown, server: McpConfig["mcpServers"][string]): unknown {
  if (!isObject(previous) || typeof previous.command !== "string" || !("command" in server)) return server;
  const previousEnv = isObject(previous.env) ? previous.env : {};
  return { ...previous, ...server, env: { ...previousEnv, ...server.env } };
}

function asObject(value: unknown, message: string): Record<string, unknown> {
  if (!isObject(value)) throw new McpConfigError(message);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
