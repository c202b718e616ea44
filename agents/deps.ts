import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { loadConfig, type AppConfig } from "../src/config.ts";
import type { Ledger } from "../src/cost/ledger.ts";
import type { Pricing } from "../src/cost/pricing.ts";
import { loadCostSettings } from "../src/cost/settings.ts";
import { openRuntime, type Runtime } from "../src/engine/runtime.ts";
import type { ExecutorDeps } from "../src/engine/schedule.ts";
import type { WorkflowLibrary } from "../src/models/catalog-planner.ts";
import { createChatModel } from "../src/models/chat-model.ts";
import { noMemory, type AgentMemory } from "./memory.ts";

/** What the orchestrator's nodes need besides the graph state. */
export interface OrchestratorDeps extends ExecutorDeps {
  config: AppConfig;
  /** Per-agent conversation threads; forgets when absent. */
  memory?: AgentMemory;
  /** The workflow library (catalog planner, and examples for the model planner). */
  library(): Promise<WorkflowLibrary>;
  /** The chat model of an agent; undefined when no model is configured (catalog planner, template summary). */
  chatModel?(agent: "architect" | "reporter"): BaseChatModel | undefined;
  /** How the model is asked for the plan (default functionCalling: works with any tool-calling server). */
  structuredMethod?: "functionCalling" | "jsonMode" | "jsonSchema";
  /** Invalid plans sent back to the model before the run stops (default 2). */
  maxRepairs?: number;
  pricing?: Pricing;
  /** Past durations and spend; forecasts fall back to declared estimates without it. */
  ledger?: Ledger;
  /**
   * Whether the reporter writes the run's model calls to the ledger (default true). The CLI turns it
   * off when a CostCallbackHandler already records each call as it happens.
   */
  recordModelCalls?: boolean;
  now?(): number;
}

/** The library lives in src/workflows (loaded on first use: the CLI's --help never pays for it). */
export async function loadWorkflowLibrary(): Promise<WorkflowLibrary> {
  const specifier = "../src/workflows/index.ts";
  const mod = (await import(specifier)) as Partial<WorkflowLibrary>;
  if (!Array.isArray(mod.workflows) || typeof mod.instantiate !== "function") {
    throw new Error("the workflow library (src/workflows/index.ts) exports no `workflows` and `instantiate`");
  }
  return { workflows: mod.workflows, instantiate: mod.instantiate.bind(mod) };
}

/** One ChatOpenAI per agent from the configured model, or none. */
export function configuredChatModel(config: AppConfig, maxRetries?: number): OrchestratorDeps["chatModel"] {
  const model = config.model;
  if (!model) return undefined;
  const cache = new Map<string, BaseChatModel>();
  return (agent) => {
    if (!cache.has(agent)) cache.set(agent, createChatModel(model, { maxRetries }));
    return cache.get(agent);
  };
}

/**
 * For LangGraph Studio: config from the environment and the built-in (or configured) MCP servers,
 * all read on first use, so importing the graph module costs nothing and a bad environment is
 * reported when a run starts.
 */
export function defaultOrchestratorDeps(): OrchestratorDeps {
  let config: AppConfig | undefined;
  let chatModel: OrchestratorDeps["chatModel"] | null = null;
  let pricing: Pricing | undefined;
  let runtime: Promise<Runtime> | undefined;
  const cfg = (): AppConfig => (config ??= loadConfig());
  return {
    get config() {
      return cfg();
    },
    get pricing() {
      return (pricing ??= loadCostSettings(cfg()).pricing);
    },
    memory: noMemory,
    library: loadWorkflowLibrary,
    chatModel: (agent) => {
      if (chatModel === null) chatModel = configuredChatModel(cfg());
      return chatModel?.(agent);
    },
    context: async () => {
      runtime ??= openRuntime({ config: cfg(), mcpConfigPath: cfg().mcpConfigPath });
      return (await runtime).context;
    },
  };
}
