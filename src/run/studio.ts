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

/**
 * Built per run from its config: with `configurable.plan` (an assistant's config, or a run's), the
 * plan's own graph — one node per step, named by its step id, so Studio draws the plan and
 * `interruptBefore: ["<step id>"]` stops before that step; without one, the fixed executor.
 */
export const executor = async (config?: { configurable?: Record<string, unknown> }) => {
  const { deps } = await root();
  const { executorForConfig } = await import("../../graphs/plan-graph.ts");
  return executorForConfig({ context: deps.context }, config);
};
