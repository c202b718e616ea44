import type { ToolInfo } from "../mcp/catalog.ts";
import type { PreparedPlan } from "../plan/validate.ts";

/**
 * The name durations and costs are kept under: `server.tool`, and for a broker call (a step whose
 * params name the tool it calls, like `toolkit.toolkit_call` with `tool_name`) `server.tool#inner`,
 * so that creating a database and deleting an app through the same broker keep separate histories.
 */
export function toolKey(tool: string, params?: Record<string, unknown>): string {
  const inner = params?.["tool_name"];
  return typeof inner === "string" && inner !== "" ? `${tool}#${inner}` : tool;
}

/** The tool key of a step of a prepared plan. */
export function stepToolKey(prepared: PreparedPlan, id: string): string {
  const step = prepared.plan.steps.find((s) => s.id === id);
  const resolved = prepared.tools[id];
  return toolKey(resolved ? `${resolved.server}.${resolved.tool}` : (step?.tool ?? id), step?.params);
}

/** The ToolInfo of a `server.tool` or `server.tool#inner` key (a broker call's inner tool). */
export function toolInfoOf(tools: readonly ToolInfo[] | undefined, key: string): ToolInfo | undefined {
  if (!tools) return undefined;
  const hash = key.indexOf("#");
  const dot = key.indexOf(".");
  const server = key.slice(0, dot);
  const name = hash >= 0 ? key.slice(hash + 1) : key.slice(dot + 1);
  return tools.find((t) => t.server === server && t.name === name);
}
