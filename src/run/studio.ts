import { loadConfig } from "../config.ts";
import { openRoot, type Root } from "./root.ts";

/**
 * LangGraph Studio's graphs (langgraph.json): factories the server calls per run. Both share one
 * root per process — one checkpointer-side ledger, one set of MCP servers, the same allow-lists,
 * pins, memory and running-budget gate as the CLI — opened on first use, so loading this module
 * costs nothing. Studio supplies its own checkpointer; the root's is used for the agents' memory.
 */
let shared: Promise<Root> | undefined;
const root = (): Promise<Root> => (shared ??= openRoot(loadConfig()));

export const orchestrator = async () => {
  const { deps } = await root();
  const { buildOrchestratorGraph } = await import("../../graphs/orchestrator.ts");
  return buildOrchestratorGraph(deps).compile({ name: "orchestrator" });
};

export const executor = async () => {
  const { deps } = await root();
  const { buildExecutorGraph } = await import("../../graphs/executor.ts");
  return buildExecutorGraph({ context: deps.context }).compile({ name: "executor" });
};
