import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ToolkitTool } from "../tool.ts";
import { findTool } from "./find-tool.ts";
import { errorResult, jsonResult, outputSchemaOf } from "./register.ts";

const Input = z.object({
  category: z.string().min(1).optional().describe("The tool's category; checked when given"),
  tool_name: z.string().min(1).describe("Name of the tool, e.g. neon_create_project"),
});

/** `toolkit_get_tool_schema`: one tool's JSON Schema input, annotations and secret output fields. */
export function registerGetToolSchema(server: McpServer, tools: readonly ToolkitTool[]): void {
  server.registerTool(
    "toolkit_get_tool_schema",
    {
      description: "Get the JSON Schema of a toolkit tool's arguments, whether it is destructive, and which output fields are secrets.",
      inputSchema: Input,
      outputSchema: {
        name: z.string(),
        category: z.string(),
        description: z.string(),
        destructive: z.boolean(),
        secret_fields: z.array(z.string()),
        input_schema: z.record(z.string(), z.unknown()),
        output_schema: z.record(z.string(), z.unknown()),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ category, tool_name }) => {
      const found = findTool(tools, tool_name, category);
      if ("error" in found) return errorResult(found.error);
      const { tool } = found;
      return jsonResult({
        name: tool.name,
        category: tool.category,
        description: tool.description,
        destructive: tool.destructive ?? false,
        secret_fields: tool.secretFields ?? [],
        input_schema: z.toJSONSchema(tool.input, { io: "input", unrepresentable: "any" }),
        output_schema: z.toJSONSchema(outputSchemaOf(tool.name), { io: "output", unrepresentable: "any" }),
      });
    },
  );
}
