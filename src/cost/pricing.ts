import { z } from "zod";
import { issueLines, readConfigSection } from "./config-file.ts";
import { CostError } from "./errors.ts";

/** USD per 1M tokens. `cached` is the price of cached input tokens (defaults to `input`). */
export interface ModelPrice {
  input: number;
  output: number;
  cached?: number;
}

export interface Pricing {
  /** Model name (lowercase, without date suffix or provider prefix) → price. */
  models: Record<string, ModelPrice>;
  /** Name patterns (`*` wildcard) of models that run locally and cost nothing. */
  local: string[];
  /**
   * Whether every model served from a localhost base URL costs nothing (default false). Off, a model
   * behind localhost is priced by its name like any other: free when it matches `local`, by the table
   * when it is in it (a local proxy such as LiteLLM forwarding to a paid model), and unpriced
   * otherwise — an unknown name is never silently $0. Turn it on when everything served locally is
   * local inference (Ollama, vLLM, LM Studio).
   */
  localUrlsFree: boolean;
}

/**
 * Token counts of one model call, as LangChain's `usage_metadata` reports them: `input_tokens`
 * includes the cached ones (OpenAI's `prompt_tokens` convention), `cached` says how many of them were.
 */
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cached?: number;
}

export interface Price {
  usd: number;
  /** False when the model is in no pricing table and is not local: `usd` is then 0 and must be reported as unknown. */
  known: boolean;
  input_cost: number;
  output_cost: number;
}

/**
 * Standard-tier prices, USD per 1M tokens (input / output / cached input), as published on
 * https://openai.com/api/pricing (platform.openai.com/docs/pricing), cross-checked in 2026 against
 * third-party copies of that page (deploybase.ai, chatgptpricing, tokenmath.io). Override or extend
 * them in the `pricing` section of the config file.
 */
export const DEFAULT_PRICING: Pricing = {
  models: {
    "gpt-4o": { input: 2.5, output: 10, cached: 1.25 },
    "gpt-4o-mini": { input: 0.15, output: 0.6, cached: 0.075 },
    "gpt-4.1": { input: 2, output: 8, cached: 0.5 },
    "gpt-4.1-mini": { input: 0.4, output: 1.6, cached: 0.1 },
    "gpt-4.1-nano": { input: 0.1, output: 0.4, cached: 0.025 },
    o3: { input: 2, output: 8, cached: 0.5 },
    "o3-mini": { input: 1.1, output: 4.4, cached: 0.55 },
    "o4-mini": { input: 1.1, output: 4.4, cached: 0.275 },
    "gpt-5": { input: 1.25, output: 10, cached: 0.125 },
    "gpt-5-mini": { input: 0.25, output: 2, cached: 0.025 },
    "gpt-5-nano": { input: 0.05, output: 0.4, cached: 0.005 },
  },
  local: ["llama*", "qwen*", "mistral*", "mixtral*", "gemma*", "phi*", "deepseek*", "codellama*", "granite*", "smollm*", "tinyllama*", "local*"],
  localUrlsFree: false,
};

const PriceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cached: z.number().min(0).optional(),
});

const PricingSection = z.strictObject({
  /** Added to (and overriding) the default table. */
  models: z.record(z.string().min(1), PriceSchema).optional(),
  /** Added to the default local patterns. */
  local: z.array(z.string().min(1)).optional(),
  localUrlsFree: z.boolean().optional(),
});

/**
 * The default table with the `pricing` section of a config file merged over it:
 * `{ "pricing": { "models": { "my-model": { "input": 1, "output": 2, "cached": 0.5 } }, "local": ["my-local-*"] } }`.
 * Without a file, the defaults. A file that cannot be read or parsed throws a CostError naming it.
 */
export function loadPricing(file?: string): Pricing {
  if (file === undefined) return DEFAULT_PRICING;
  const section = readConfigSection(file, "pricing");
  if (section === undefined) return DEFAULT_PRICING;
  const parsed = PricingSection.safeParse(section);
  if (!parsed.success) throw new CostError("COST_CONFIG", issueLines(file, "pricing", parsed.error.issues));
  const models = { ...DEFAULT_PRICING.models };
  for (const [name, price] of Object.entries(parsed.data.models ?? {})) models[normaliseModelName(name)] = price;
  return {
    models,
    local: [...DEFAULT_PRICING.local, ...(parsed.data.local ?? [])],
    localUrlsFree: parsed.data.localUrlsFree ?? DEFAULT_PRICING.localUrlsFree,
  };
}

/**
 * Prices one call. Local models (by name pattern, or any model served from a localhost `baseUrl`
 * when `localUrlsFree` is on) cost 0 and are known; a model in no table costs 0 with
 * `known: false`, which callers must report as unpriced, never as $0.
 */
export function priceUsage(pricing: Pricing, model: string, usage: TokenUsage, baseUrl?: string): Price {
  const price = lookupPrice(pricing, model, baseUrl);
  if (!price) return { usd: 0, known: false, input_cost: 0, output_cost: 0 };
  const cached = Math.min(usage.cached ?? 0, usage.input_tokens);
  const input_cost = ((usage.input_tokens - cached) * price.input + cached * (price.cached ?? price.input)) / 1e6;
  const output_cost = (usage.output_tokens * price.output) / 1e6;
  return { usd: input_cost + output_cost, known: true, input_cost, output_cost };
}

/** The price of a model, zero for a local one, undefined when unknown. */
export function lookupPrice(pricing: Pricing, model: string, baseUrl?: string): ModelPrice | undefined {
  if (pricing.localUrlsFree && baseUrl !== undefined && isLocalUrl(baseUrl)) return { input: 0, output: 0, cached: 0 };
  const name = normaliseModelName(model);
  const price = pricing.models[name];
  if (price) return price;
  if (pricing.local.some((pattern) => wildcard(pattern).test(name))) return { input: 0, output: 0, cached: 0 };
  return undefined;
}

/** `OpenAI/GPT-4o-2024-08-06` → `gpt-4o`: lowercase, no provider prefix, no date or `-latest` suffix. */
export function normaliseModelName(model: string): string {
  return model
    .trim()
    .toLowerCase()
    .replace(/^[a-z0-9_-]+\//, "")
    .replace(/-(\d{4}-\d{2}-\d{2}|\d{4}|latest)$/, "");
}

/** A base URL on this machine: localhost, 127.x, ::1, 0.0.0.0, or a `.local` / `.localhost` name. */
export function isLocalUrl(baseUrl: string): boolean {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === "localhost" || host === "[::1]" || host === "0.0.0.0" || /^127\./.test(host) || /\.(local|localhost)$/.test(host);
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}
