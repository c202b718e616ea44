import type { AppConfig } from "../config.ts";
import { isBuiltinServer, mcpConfigFor, type McpConfig } from "../mcp/config.ts";

/** What `run` was given, as far as starting its servers goes. */
export interface RunStart {
  words: readonly string[];
  plan?: string;
  workflow?: string;
  mcpConfig?: string;
  dryRun?: boolean;
  queue?: string;
}

/**
 * `run` starts its MCP servers first, before the rest of the command (LangGraph, LangChain, the
 * planner: most of the CLI's code) loads, so their start-up overlaps it; the run's root takes the
 * connections over (McpRuntime.startEarly). Which servers: see earlyServers. Not for a dry run or a
 * queued run, which start none here, nor for a `run` given nothing to run (its usage error comes at
 * once). Whatever the run did not take is closed when `body` ends, however it ends.
 */
export async function withServersStarting<T>(config: AppConfig, run: RunStart, body: () => Promise<T>): Promise<T> {
  const given = run.words.length > 0 || run.plan !== undefined || run.workflow !== undefined;
  if (!given || run.dryRun || (run.queue ?? config.queueUrl)) return body();
  const { McpRuntime, loadClient } = await import("../mcp/client.ts");
  // Loaded first, so the servers are spawned before the rest of the command starts loading. A
  // config that cannot be read starts nothing here; the run reports it.
  const [starting] = await Promise.all([
    mcpConfigFor(config, run.mcpConfig).then((mcp) => earlyServers(config, run, mcp), () => undefined),
    loadClient(),
  ]);
  const release = starting ? McpRuntime.startEarly(starting) : async () => {};
  try {
    return await body();
  } finally {
    await release();
  }
}

/**
 * The servers of `mcp` worth starting before the plan exists. When the offline planner plans (no
 * model, no plan file), it plans from the workflow templates (`--workflow`: that one), so a built-in
 * server none of them names is left out: on a 2-core machine each server's start-up takes CPU from
 * the ones the first steps wait for. Every third-party server starts (the run lists its tools at
 * start), and so does every server when a model or a plan file may name any tool. A server left out
 * starts on its first call: this decides only when, never whether.
 */
export async function earlyServers(config: AppConfig, run: RunStart, mcp: McpConfig): Promise<McpConfig> {
  if (config.model || run.plan !== undefined) return mcp;
  const { workflows } = await import("../workflows/index.ts");
  const templates = run.workflow === undefined ? workflows : workflows.filter((w) => w.id === run.workflow);
  const named = new Set(templates.flatMap((w) => w.plan.steps.map((step) => step.tool.split(".")[0]!)));
  if (templates.length === 0 || [...named].some((server) => !(server in mcp.mcpServers))) return mcp;
  return { mcpServers: Object.fromEntries(Object.entries(mcp.mcpServers).filter(([name, server]) => named.has(name) || !isBuiltinServer(server))) };
}
