import { canonicalJson, sha256 } from "../hash.ts";
import type { ToolInfo } from "../mcp/catalog.ts";

/** A plan stored for a request; reusing it costs zero model tokens. */
export interface CachedPlan {
  key: string;
  plan: unknown;
  /** Who made it: a model name, or `catalog:<workflow>` for the offline planner. */
  planner: string;
  createdAt: number;
  /** How many times it was reused. */
  hits: number;
}

/**
 * Plans by cache key, stored in the ledger database (`ledger.planCache`). The architect calls
 * `get(planCacheKey(…))` before planning (unless `--fresh`) and `put` after a plan validated.
 * Only for a first request in a conversation: a follow-up ("now add a staging branch") depends on
 * the chat so far, which the key does not cover.
 */
export interface PlanCache {
  /** The stored plan for a key (and counts the hit), or undefined. */
  get(key: string): Promise<CachedPlan | undefined>;
  /** Stores (or replaces) the plan for a key. */
  put(key: string, plan: unknown, planner: string): Promise<void>;
}

/**
 * The cache key of a request: the normalised request, the model that plans it (a plan one model
 * wrote is not another model's answer), the tool catalog as its pins cover it (server, name,
 * description, input and output schema, annotations of every tool, in any order) and the workflow
 * library (ids, in any order). A change to any of them gives a new key.
 */
export function planCacheKey(
  request: string,
  tools: readonly (Pick<ToolInfo, "server" | "name" | "inputSchema"> & Partial<Pick<ToolInfo, "description" | "outputSchema" | "annotations">>)[],
  workflowIds: readonly string[],
  model = "",
): string {
  const catalog = tools
    .map((t) => `${t.server}.${t.name}:${canonicalJson({ description: t.description ?? "", inputSchema: t.inputSchema, outputSchema: t.outputSchema ?? null, annotations: t.annotations ?? {} })}`)
    .sort()
    .join("\n");
  const library = [...workflowIds].sort().join("\n");
  return sha256(`request\0${normaliseRequest(request)}\0model\0${model}\0tools\0${sha256(catalog)}\0workflows\0${sha256(library)}`);
}

/** Lowercase, whitespace collapsed, surrounding punctuation and spaces trimmed. */
export function normaliseRequest(request: string): string {
  return request
    .normalize("NFKC")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/^[\s\p{P}]+|[\s\p{P}]+$/gu, "");
}


export interface PlanCacheUse {
  cache: PlanCache;
  key: string;
  /** `--fresh`: plan anew (and store the new plan). */
  fresh?: boolean;
}

export interface PlanOutcome {
  plan: unknown;
  planner: string;
  /** True when the plan came from the cache: no model was called. */
  cached: boolean;
}

/**
 * The architect's cache step: the stored plan for the key unless `fresh`; otherwise `makePlan()`
 * (the model or catalog planner, returning a validated plan), stored for next time. A plan that
 * fails to be made is not stored.
 */
export async function withPlanCache(use: PlanCacheUse, makePlan: () => Promise<{ plan: unknown; planner: string }>): Promise<PlanOutcome> {
  if (!use.fresh) {
    const hit = await use.cache.get(use.key);
    if (hit) return { plan: hit.plan, planner: hit.planner, cached: true };
  }
  const made = await makePlan();
  await use.cache.put(use.key, made.plan, made.planner);
  return { ...made, cached: false };
}
