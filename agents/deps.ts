import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { AppConfig } from "../src/config.ts";
import type { Ledger } from "../src/cost/ledger.ts";
import type { Pricing } from "../src/cost/pricing.ts";
import type { ExecutorDeps } from "../src/engine/schedule.ts";
import type { InventoryLookup, WorkflowLibrary } from "../src/planner/index.ts";
import type { AgentMemory } from "./memory.ts";

/** What the orchestrator's nodes need besides the graph state (opened by the composition root, src/run). */
export interface OrchestratorDeps extends Omit<ExecutorDeps, "budget"> {
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
  /** Stream the model's plan and judge each step as it arrives (default true; `plan`, which only shows, may turn it off). */
  streamPlans?: boolean;
  /** Replans after a failed step before the run rolls back (default config.model.maxReplans, else 1; 0: none). */
  maxReplans?: number;
  /**
   * Start valid, non-destructive steps under the approval threshold while the plan streams (default true;
   * never for `plan` or `--dry-run`).
   */
  executeWhileStreaming?: boolean;
  /** Invalid plans sent back to the model before the run stops (default 2). */
  maxRepairs?: number;
  pricing?: Pricing;
  /** Past durations and spend; forecasts fall back to declared estimates without it. */
  ledger?: Ledger;
  /**
   * Whether the reporter writes the run's model calls to the ledger (default true). The root turns it
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
