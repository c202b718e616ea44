import { z } from "zod";
import { issueLines, readConfigSection } from "./config-file.ts";
import { CostError } from "./errors.ts";
import type { ModelCallRecord } from "./ledger.ts";
import { priceUsage, type Pricing } from "./pricing.ts";

const Target = z.strictObject({
  model: z.string().min(1),
  /** An OpenAI-compatible endpoint (e.g. Ollama at http://localhost:11434/v1); none = the default endpoint. */
  baseUrl: z.url().optional(),
  /** Why this model suffices (shown in reports). */
  note: z.string().optional(),
});

/**
 * The `routing` section of the config file: `agent` or `agent/stepKind` (either may be `*`) → the
 * model to use instead of the default one. Example:
 * `{ "routing": { "reporter": { "model": "qwen2.5:7b", "baseUrl": "http://localhost:11434/v1" },
 *                 "architect/repair": { "model": "gpt-4o-mini" } } }`
 */
export const RoutingTable = z.record(z.string().regex(/^[^/\s]+(\/[^/\s]+)?$/, "keys are agent or agent/stepKind"), Target);
export type RoutingTable = z.infer<typeof RoutingTable>;
export type RouteTarget = z.infer<typeof Target>;

export interface Route {
  model: string;
  baseUrl?: string;
  /** Which rule matched, or that none did. */
  reason: string;
  /** True when a rule picked a model other than the default. */
  routed: boolean;
  /**
   * The default model, when routed: pass it as the call's `routed_from` metadata
   * (COST_METADATA.routedFrom) so the ledger and reports can show what routing saved.
   */
  routedFrom?: string;
}

/** The routing table from a config file; empty without a file or section. Bad entries throw a CostError. */
export function loadRouting(file?: string): RoutingTable {
  if (file === undefined) return {};
  const section = readConfigSection(file, "routing");
  if (section === undefined) return {};
  const parsed = RoutingTable.safeParse(section);
  if (!parsed.success) throw new CostError("COST_CONFIG", issueLines(file, "routing", parsed.error.issues));
  return parsed.data;
}

/**
 * The model for one agent call. Most specific rule first: `agent/stepKind`, then `agent`, then the
 * wildcard agent with the step kind, then the wildcard alone; no rule → the default model and endpoint.
 */
export function routeModel(table: RoutingTable, agent: string, stepKind: string | undefined, fallback: { model: string; baseUrl?: string }): Route {
  const keys = [stepKind && `${agent}/${stepKind}`, agent, stepKind && `*/${stepKind}`, "*"].filter((k): k is string => Boolean(k));
  for (const key of keys) {
    const target = table[key];
    if (!target) continue;
    const baseUrl = target.baseUrl ?? fallback.baseUrl;
    const route: Route = {
      model: target.model,
      reason: `routing rule "${key}"${target.note ? `: ${target.note}` : ""}`,
      routed: target.model !== fallback.model || baseUrl !== fallback.baseUrl,
    };
    if (baseUrl !== undefined) route.baseUrl = baseUrl;
    if (route.routed) route.routedFrom = fallback.model;
    return route;
  }
  const route: Route = { model: fallback.model, reason: "no routing rule: the default model", routed: false };
  if (fallback.baseUrl !== undefined) route.baseUrl = fallback.baseUrl;
  return route;
}

export interface RoutingSavings {
  /** What the routed calls cost. */
  actualUsd: number;
  /** What the same tokens would have cost on the default models they replaced. */
  defaultUsd: number;
  savedUsd: number;
  /** Calls that were routed away from the default model (they record `routedFrom`). */
  routedCalls: number;
  /** Models (actual or default) with no price: the numbers leave them out. */
  unknownModels: string[];
}

/**
 * What routing saved: a routed call (one that records `routedFrom`, the default model it replaced)
 * is priced again on that model with the same tokens. Calls that were not routed are left out.
 */
export function routingSavings(calls: readonly ModelCallRecord[], pricing: Pricing): RoutingSavings {
  const unknown = new Set<string>();
  let actualUsd = 0;
  let defaultUsd = 0;
  let routedCalls = 0;
  for (const c of calls) {
    if (c.routedFrom === undefined) continue;
    routedCalls++;
    actualUsd += c.usd;
    if (!c.known) unknown.add(c.model);
    const would = priceUsage(pricing, c.routedFrom, { input_tokens: c.inputTokens, output_tokens: c.outputTokens, cached: c.cachedTokens });
    if (!would.known) unknown.add(c.routedFrom);
    defaultUsd += would.known ? would.usd : c.usd;
  }
  return { actualUsd, defaultUsd, savedUsd: defaultUsd - actualUsd, routedCalls, unknownModels: [...unknown] };
}
