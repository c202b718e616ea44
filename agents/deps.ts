import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { loadConfig, type AppConfig } from "../src/config.ts";
import type { Ledger } from "../src/cost/ledger.ts";
import type { Pricing } from "../src/cost/pricing.ts";
import { routeModel, type RoutingTable } from "../src/cost/routing.ts";
import { loadCostSettings, type CostSettings } from "../src/cost/settings.ts";
import { openRuntime, type Runtime } from "../src/engine/runtime.ts";
import type { ExecutorDeps } from "../src/engine/schedule.ts";
import type { InventoryLookup, WorkflowLibrary } from "../src/planner/index.ts";
import { createChatModel } from "../src/models/chat-model.ts";
import { noMemory, type AgentMemory } from "./memory.ts";

/** What the orchestrator's nodes need besides the graph state. */
export interface OrchestratorDeps extends ExecutorDeps {
  config: AppConfig;
  /** Per-agent conversation threads; forgets when absent. */
  memory?: AgentMemory;
  /** The workflow library (catalog planner, and examples for the model planner). */
  library(): Promise<WorkflowLibrary>;
  /** Existing resources for the offline planner ("back up the billing database"); without it their ids are asked for. */
  inventory?: InventoryLookup;
  /**
   * The chat model for one agent call (`stepKind`: "plan", "repair", "summary"), routed by the cost
   * config's routing table; undefined when no model is configured (catalog planner, template summary).
   */
  chatModel?(agent: "architect" | "reporter", stepKind?: string): AgentModel | undefined;
  /** How the model is asked for the plan; default config.model.structuredOutput, else functionCalling (any tool-calling server). */
  structuredMethod?: "functionCalling" | "jsonMode" | "jsonSchema";
  /** Invalid plans sent back to the model before the run stops (default 2). */
  maxRepairs?: number;
  pricing?: Pricing;
  /**
   * Asked mid-run when the run has spent more than it was allowed (true = go on). Without it there is
   * no running-budget gate (LangGraph Studio); the CLI asks on the terminal or in chat, else declines.
   */
  askBudget?(message: string): Promise<boolean>;
  /** Past durations and spend; forecasts fall back to declared estimates without it. */
  ledger?: Ledger;
  /**
   * Whether the reporter writes the run's model calls to the ledger (default true). The CLI turns it
   * off when a CostCallbackHandler already records each call as it happens.
   */
  recordModelCalls?: boolean;
  now?(): number;
}

/** A model picked for an agent call, and where the routing sent it. */
export interface AgentModel {
  model: BaseChatModel;
  /** Model name (for pricing and reports). */
  name: string;
  baseUrl?: string;
  /** The default model this call was routed away from (`routed_from` metadata for the ledger). */
  routedFrom?: string;
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

/** ChatOpenAI per agent call from the configured model and the routing table, or none without a model. */
export function configuredChatModel(config: AppConfig, maxRetries?: number, routing: RoutingTable = {}): OrchestratorDeps["chatModel"] {
  const fallback = config.model;
  if (!fallback) return undefined;
  const cache = new Map<string, BaseChatModel>();
  return (agent, stepKind) => {
    const route = routeModel(routing, agent, stepKind, { model: fallback.name, baseUrl: fallback.baseUrl });
    const target = { ...fallback, name: route.model, baseUrl: route.baseUrl };
    const key = `${target.name}@${target.baseUrl ?? ""}`;
    if (!cache.has(key)) cache.set(key, createChatModel(target, { maxRetries }));
    return { model: cache.get(key)!, name: route.model, baseUrl: route.baseUrl, routedFrom: route.routedFrom };
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
  let settings: CostSettings | undefined;
  let runtime: Promise<Runtime> | undefined;
  const cfg = (): AppConfig => (config ??= loadConfig());
  return {
    get config() {
      return cfg();
    },
    get pricing() {
      return (settings ??= loadCostSettings(cfg())).pricing;
    },
    memory: noMemory,
    library: loadWorkflowLibrary,
    chatModel: (agent, stepKind) => {
      if (chatModel === null) chatModel = configuredChatModel(cfg(), undefined, (settings ??= loadCostSettings(cfg())).routing);
      return chatModel?.(agent, stepKind);
    },
    context: async () => {
      runtime ??= openRuntime({ config: cfg(), mcpConfigPath: cfg().mcpConfigPath });
      return (await runtime).context;
    },
  };
}
