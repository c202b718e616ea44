import type { ToolkitTool } from "../tool.ts";

/** Looks a tool up by name and checks its category; the error names the bad field. */
export function findTool(
  tools: readonly ToolkitTool[],
  toolName: string,
  category: string | undefined,
): { tool: ToolkitTool } | { error: string } {
  const tool = tools.find((t) => t.name === toolName);
  if (!tool) {
    const names = tools.filter((t) => category === undefined || t.category === category).map((t) => t.name);
    return { error: `tool_name: unknown tool "${toolName}"${names.length > 0 ? ` (known: ${names.join(", ")})` : ""}` };
  }
  if (category !== undefined && tool.category !== category) {
    return { error: `category: tool "${toolName}" belongs to category "${tool.category}", not "${category}"` };
  }
  return { tool };
}
