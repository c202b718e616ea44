import { issueTexts } from "../../../zod-issues.ts";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { PROVIDER_ARG_META_KEY } from "../../../mcp/tool-meta.ts";
import { ANY_OBJECT } from "../outputs.ts";
import type { ToolkitEnv, ToolkitTool } from "../tool.ts";
import { findTool } from "./find-tool.ts";
import { errorResult, runParsed } from "./register.ts";

const Input = z.object({
  category: z.string().min(1).describe("The tool's category, e.g. neon"),
  tool_name: z.string().min(1).describe("Name of the tool, e.g. neon_create_project"),
  arguments: z.record(z.string(), z.unknown()).default({}).describe("The tool's arguments (see toolkit_get_tool_schema)"),
});

/**
 * `toolkit_call`: runs a toolkit tool by category and name. The arguments are checked against
 * the inner tool's schema; the result is the inner tool's output unchanged (with its `rollback`).
 */
export function registerCall(server: McpServer, tools: readonly ToolkitTool[], env: ToolkitEnv): void {
  server.registerTool(
    "toolkit_call",
    {
      description:
        "Call a toolkit tool by category and name with its arguments; returns that tool's output. " +
        "Whether a call is destructive depends on the inner tool (see toolkit_get_tool_schema).",
      inputSchema: Input,
      // The inner tool's own outputSchema describes the result; validate reads it from tool_name.
      outputSchema: ANY_OBJECT,
      // Judged per call by the inner tool (its own annotations, or its name), not for the broker.
      annotations: { destructiveHint: false, openWorldHint: true },
      // The provider of a call is its category: a Neon rate limit pauses Neon calls only.
      _meta: { [PROVIDER_ARG_META_KEY]: "category" },
    },
    async ({ category, tool_name, arguments: args }, extra) => {
      const found = findTool(tools, tool_name, category);
      if ("error" in found) return errorResult(found.error);
      const parsed = found.tool.input.safeParse(args);
      if (!parsed.success) {
        return errorResult(`${tool_name}: invalid arguments: ${issueTexts(parsed.error.issues, "arguments", "(input)").join("; ")}`);
      }
      return runParsed(found.tool, parsed.data, env, extra);
    },
  );
}
