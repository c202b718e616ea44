import type { AppConfig } from "../config.ts";

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
 * connections over (McpRuntime.startEarly). Not for a dry run or a queued run, which start none
 * here, nor for a `run` given nothing to run (its usage error comes at once). Whatever the run did
 * not take is closed when `body` ends, however it ends.
 */
export async function withServersStarting<T>(config: AppConfig, run: RunStart, body: () => Promise<T>): Promise<T> {
  const given = run.words.length > 0 || run.plan !== undefined || run.workflow !== undefined;
  if (!given || run.dryRun || (run.queue ?? config.queueUrl)) return body();
  const [{ McpRuntime, loadClient }, { mcpConfigFor }] = await Promise.all([import("../mcp/client.ts"), import("../mcp/config.ts")]);
  // Loaded first, so the servers are spawned before the rest of the command starts loading.
  await loadClient();
  // A config that cannot be read starts nothing here; the run reports it.
  const release = await mcpConfigFor(config, run.mcpConfig).then(McpRuntime.startEarly, () => async () => {});
  try {
    return await body();
  } finally {
    await release();
  }
}
