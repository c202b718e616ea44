import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolkitTool } from "../tool.ts";
import { errorResult, jsonResult } from "./register.ts";

const Input = z.object({ category: z.string().min(1).optional().describe("Only tools of this category") });

/** `toolkit_list_tools`: names, categories and descriptions of the toolkit's tools. */
export function registerListTools(server: McpServer, tools: readonly ToolkitTool[]): void {
  server.registerTool(
    "toolkit_list_tools",
    {
      description: "List the toolkit's tools, optionally of one category, with descriptions and whether they are destructive.",
      inputSchema: Input,
      outputSchema: { tools: z.array(z.object({ name: z.string(), category: z.string(), description: z.string(), destructive: z.boolean() })) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ category }) => {
      const selected = tools.filter((tool) => category === undefined || tool.category === category);
      if (category !== undefined && selected.length === 0) {
        return errorResult(`category: unknown category "${category}" (known: ${[...new Set(tools.map((t) => t.category))].join(", ")})`);
      }
      return jsonResult({
        tools: selected.map((tool) => ({
          name: tool.name,
          category: tool.category,
          description: tool.description,
          destructive: tool.destructive ?? false,
        })),
      });
    },
  );
}
