import type { AIMessage } from "@langchain/core/messages";
import { DEFAULT_PRICING, priceUsage } from "../src/cost/pricing.ts";
import type { OrchestratorDeps } from "./deps.ts";
import type { ModelUsage } from "./types.ts";

/** Tokens × pricing of one model reply (usage_metadata is filled from the endpoint's `usage`). */
export function usageOf(agent: string, message: AIMessage, deps: Pick<OrchestratorDeps, "config" | "pricing">): ModelUsage {
  const meta = message.usage_metadata;
  const model = String(message.response_metadata?.["model_name"] ?? deps.config.model?.name ?? "unknown");
  const tokens = {
    input_tokens: meta?.input_tokens ?? 0,
    output_tokens: meta?.output_tokens ?? 0,
    cached: meta?.input_token_details?.cache_read ?? 0,
  };
  const price = priceUsage(deps.pricing ?? DEFAULT_PRICING, model, tokens, deps.config.model?.baseUrl);
  return { agent, model, input_tokens: tokens.input_tokens, output_tokens: tokens.output_tokens, usd: price.usd, priced: price.known };
}

export function totalUsd(usage: readonly ModelUsage[]): number {
  return usage.reduce((sum, u) => sum + u.usd, 0);
}
