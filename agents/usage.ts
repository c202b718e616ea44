import type { AIMessage } from "@langchain/core/messages";
import { DEFAULT_PRICING, priceUsage } from "../src/cost/pricing.ts";
import type { AgentModel, OrchestratorDeps } from "./deps.ts";
import type { ModelUsage } from "./types.ts";

/** Tokens × pricing of one model reply (usage_metadata is filled from the endpoint's `usage`). */
export function usageOf(agent: string, message: AIMessage, deps: Pick<OrchestratorDeps, "config" | "pricing">, used?: Pick<AgentModel, "name" | "baseUrl" | "routedFrom">): ModelUsage {
  const meta = message.usage_metadata;
  const model = String(message.response_metadata?.["model_name"] ?? used?.name ?? deps.config.model?.name ?? "unknown");
  const baseUrl = used ? used.baseUrl : deps.config.model?.baseUrl;
  const tokens = {
    input_tokens: meta?.input_tokens ?? 0,
    output_tokens: meta?.output_tokens ?? 0,
    cached: meta?.input_token_details?.cache_read ?? 0,
  };
  const price = priceUsage(deps.pricing ?? DEFAULT_PRICING, model, tokens, baseUrl);
  const usage: ModelUsage = { agent, model, input_tokens: tokens.input_tokens, output_tokens: tokens.output_tokens, usd: price.usd, priced: price.known };
  if (baseUrl !== undefined) usage.baseUrl = baseUrl;
  if (used?.routedFrom !== undefined) usage.routedFrom = used.routedFrom;
  return usage;
}

export function totalUsd(usage: readonly ModelUsage[]): number {
  return usage.reduce((sum, u) => sum + u.usd, 0);
}
