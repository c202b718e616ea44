import type { ModelCallRecord } from "./ledger.ts";
import { priceUsage, type Pricing } from "./pricing.ts";

/** A model call a tool made and reported in its output (workspace codegen's `usage` with its `model`); `known` false: unpriced. */
export type ReportedModelCall = Pick<ModelCallRecord, "model" | "inputTokens" | "outputTokens" | "cachedTokens" | "usd" | "known">;

/** What a tool's output says it cost. */
export interface MeasuredCost {
  /** The whole cost of the call: the model call's when there is one, else `cost_usd`. */
  usd: number;
  /** False when part of it is unknown (an unpriced model). */
  known: boolean;
  modelCall?: ReportedModelCall;
}

const COST_KEYS = ["cost_usd", "costUsd", "usd", "total_cost"] as const;
const INPUT_KEYS = ["input_tokens", "inputTokens", "prompt_tokens", "promptTokens"] as const;
const OUTPUT_KEYS = ["output_tokens", "outputTokens", "completion_tokens", "completionTokens"] as const;
const CACHED_KEYS = ["cached_tokens", "cachedTokens", "cache_read"] as const;

/**
 * A tool's own report of what it cost, which wins over a plan's declared estimate: token usage with
 * a model name (`usage: { input_tokens | inputTokens | prompt_tokens, output_tokens | …, model }`, or
 * `model` beside `usage`) is a model call, priced with `pricing` unless the report carries its
 * cost; else a `cost_usd` (`costUsd`, `usd`) amount. Undefined when the output reports neither.
 */
export function measuredCost(output: unknown, pricing: Pricing, baseUrl?: string): MeasuredCost | undefined {
  if (!isRecord(output)) return undefined;
  const usage = isRecord(output["usage"]) ? output["usage"] : isRecord(output["usage_metadata"]) ? output["usage_metadata"] : undefined;
  const model = str(usage?.["model"]) ?? str(output["model"]);
  const input = usage ? num(usage, INPUT_KEYS) : undefined;
  const outputTokens = usage ? num(usage, OUTPUT_KEYS) : undefined;
  if (usage && model !== undefined && (input !== undefined || outputTokens !== undefined)) {
    const details = isRecord(usage["input_token_details"]) ? usage["input_token_details"] : {};
    const cached = num(usage, CACHED_KEYS) ?? num(details, CACHED_KEYS) ?? 0;
    const reported = num(usage, COST_KEYS) ?? num(output, COST_KEYS);
    const price = priceUsage(pricing, model, { input_tokens: input ?? 0, output_tokens: outputTokens ?? 0, cached }, baseUrl);
    const usd = reported ?? price.usd;
    const known = reported !== undefined || price.known;
    const modelCall: ReportedModelCall = { model, inputTokens: input ?? 0, outputTokens: outputTokens ?? 0, cachedTokens: Math.min(cached, input ?? 0), usd, known };
    return { usd, known, modelCall };
  }
  const usd = num(output, COST_KEYS);
  return usd === undefined ? undefined : { usd, known: true };
}

function num(record: Record<string, unknown>, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const v = record[key];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  }
  return undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
