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
