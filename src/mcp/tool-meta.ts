import type { ToolInfo } from "./catalog.ts";

/**
 * `_meta` key with which a built-in server says what one call of a tool costs and takes on the
 * backend it serves it from right now — the local provider, a template scaffold — where that is
 * known exactly. The forecast and the ledger prefer it to a plan's declared estimate, which is
 * written for the cloud backends. Servers publish it only where they know; absent, nothing changes.
 */
export const BACKEND_ESTIMATE_META_KEY = "credit-optimizer/backendEstimate";

export interface BackendEstimate {
  /** Which backend serves the tool (`local`, `template`, …), for messages. */
  backend: string;
  usd: number;
  ms: number;
}

/** The tool's backend estimate, when its server published a well-formed one. */
export function backendEstimateOf(info: Pick<ToolInfo, "meta"> | undefined): BackendEstimate | undefined {
  const value = info?.meta?.[BACKEND_ESTIMATE_META_KEY] as Record<string, unknown> | undefined;
  if (typeof value !== "object" || value === null) return undefined;
  const { backend, usd, ms } = value;
  if (typeof backend !== "string" || typeof usd !== "number" || typeof ms !== "number" || !(usd >= 0) || !(ms >= 0)) return undefined;
  return { backend, usd, ms };
}

/**
 * `_meta` key naming the delete tool (on the same server) that also undoes what this tool changed:
 * a deploy or an env var goes when its project is deleted, so a rollback that deletes the project
 * leaves nothing of them behind.
 */
export const UNDONE_WITH_META_KEY = "credit-optimizer/undoneWith";

/**
 * `_meta` key naming the provider (rate-limit account) a tool calls: Neon, Vercel, … A provider
 * limits per account, not per server, so a rate-limited answer pauses that provider's calls only.
 */
export const PROVIDER_META_KEY = "credit-optimizer/provider";

/** `_meta` key of a broker tool (`toolkit_call`): which of its arguments names the provider of the call. */
export const PROVIDER_ARG_META_KEY = "credit-optimizer/providerArg";

/**
 * Request `_meta` key a caller sets (to true) when it waits out provider rate limits itself, shared
 * with every worker: the server then answers a rate-limited call at once, with RATE_LIMIT_META_KEY.
 */
export const RATE_LIMITS_TO_CALLER_META_KEY = "credit-optimizer/rateLimitsToCaller";

/** Result `_meta` key of a call refused as rate limited: `{ provider, retryAfterMs? }`. */
export const RATE_LIMIT_META_KEY = "credit-optimizer/rateLimit";

/** A provider's rate-limit answer, as a server reports it. */
export interface RateLimitReport {
  provider: string;
  /** What the provider asked (retry-after); absent when it did not say. */
  retryAfterMs?: number;
}

/** The provider one call of a tool reaches: the tool's declared one, or the broker argument that names it. */
export function providerOf(info: Pick<ToolInfo, "meta"> | undefined, args: Record<string, unknown>): string | undefined {
  const declared = info?.meta?.[PROVIDER_META_KEY];
  if (typeof declared === "string" && declared !== "") return declared;
  const arg = info?.meta?.[PROVIDER_ARG_META_KEY];
  const named = typeof arg === "string" ? args[arg] : undefined;
  return typeof named === "string" && named !== "" ? named : undefined;
}

/** The rate-limit report in a result's `_meta`, when well-formed. */
export function rateLimitReportOf(meta: Record<string, unknown> | undefined): RateLimitReport | undefined {
  const value = meta?.[RATE_LIMIT_META_KEY] as Record<string, unknown> | undefined;
  if (typeof value !== "object" || value === null || typeof value.provider !== "string") return undefined;
  const after = value.retryAfterMs;
  return { provider: value.provider, ...(typeof after === "number" && after >= 0 ? { retryAfterMs: after } : {}) };
}
