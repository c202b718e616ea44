import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { PREFLIGHT_META_KEY, PreflightInput, PreflightOutputSchema, preflightOutput } from "../../preflight.ts";
import { toolkitPreflight } from "../preflight.ts";
import type { ToolkitEnv, ToolkitTool } from "../tool.ts";
import { errorResult, jsonResult } from "./register.ts";

/**
 * `toolkit_preflight`: whether the backends of the given toolkit tools can serve (a local service
 * reachable or startable, a cloud token set, git for the local GitHub), without creating anything.
 */
export function registerPreflight(server: McpServer, tools: readonly ToolkitTool[], env: ToolkitEnv): void {
  server.registerTool(
    "toolkit_preflight",
    {
      description:
        "Check, without creating anything, whether the providers behind the given toolkit tools can serve: " +
        "returns { ok, problems: [{ tools, problem, fix }] }.",
      inputSchema: PreflightInput,
      outputSchema: PreflightOutputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      _meta: { [PREFLIGHT_META_KEY]: true },
    },
    async ({ tools: names }) => {
      try {
        return jsonResult(preflightOutput(await toolkitPreflight(env, names, tools)));
      } catch (error) {
        return errorResult(`toolkit_preflight failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  );
}
