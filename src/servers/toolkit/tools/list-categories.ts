import { z } from "zod";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { backendOf, type ToolkitEnv, type ToolkitTool } from "../tool.ts";
import { jsonResult } from "./register.ts";

/** `toolkit_list_categories`: the provider categories, their tool counts and backends. */
export function registerListCategories(server: McpServer, tools: readonly ToolkitTool[], env: ToolkitEnv): void {
  server.registerTool(
    "toolkit_list_categories",
    {
      description: "List the toolkit's provider categories (neon, upstash, …) with tool counts and whether each uses its cloud API or the local services.",
      outputSchema: { categories: z.array(z.object({ name: z.string(), tools: z.number().int(), backend: z.enum(["cloud", "local"]) })) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () => {
      const counts = new Map<ToolkitTool["category"], number>();
      for (const tool of tools) counts.set(tool.category, (counts.get(tool.category) ?? 0) + 1);
      const categories = [...counts].map(([name, count]) => ({ name, tools: count, backend: backendOf(name, env) }));
      return jsonResult({ categories });
    },
  );
}
