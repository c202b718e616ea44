import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { allTools } from "./providers/index.ts";
import type { ToolkitEnv, ToolkitTool } from "./tool.ts";
import { registerCall } from "./tools/call.ts";
import { registerGetToolSchema } from "./tools/get-tool-schema.ts";
import { registerListCategories } from "./tools/list-categories.ts";
import { registerListTools } from "./tools/list-tools.ts";
import { registerPreflight } from "./tools/preflight.ts";
import { registerToolkitTool } from "./tools/register.ts";

/**
 * The toolkit MCP server: every provider tool under its own name, plus the broker tools
 * (`toolkit_list_categories`, `toolkit_list_tools`, `toolkit_get_tool_schema`, `toolkit_call`), and `toolkit_preflight`.
 */
export function createToolkitServer(env: ToolkitEnv, tools: readonly ToolkitTool[] = allTools): McpServer {
  const server = new McpServer({ name: "credit-optimizer-toolkit", version: "0.1.0" });
  for (const tool of tools) registerToolkitTool(server, tool, env);
  registerListCategories(server, tools, env);
  registerListTools(server, tools);
  registerGetToolSchema(server, tools);
  registerCall(server, tools, env);
  registerPreflight(server, tools, env);
  return server;
}
