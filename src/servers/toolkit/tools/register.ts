import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { TOOLKIT_OUTPUTS } from "../outputs.ts";
import { maskSecrets } from "../../../secrets.ts";
import {
  BACKEND_ESTIMATE_META_KEY,
  PROVIDER_META_KEY,
  RATE_LIMIT_META_KEY,
  RATE_LIMITS_TO_CALLER_META_KEY,
  UNDONE_WITH_META_KEY,
  type BackendEstimate,
  type RateLimitReport,
} from "../../../mcp/tool-meta.ts";
import { isProviderError, rateLimitsToCaller } from "../http.ts";
import { backendOf, type ToolkitEnv, type ToolkitTool } from "../tool.ts";

/** `_meta` key listing a tool's output fields that hold secrets. */
export const SECRET_FIELDS_META_KEY = "credit-optimizer/secretFields";

/** A tool failure as an MCP result. */
export function errorResult(message: string): CallToolResult {
  return { content: [{ type: "text", text: maskSecrets(message) }], isError: true };
}

/** A JSON object as an MCP result: structured content plus the same JSON as text. */
export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value };
}


/**
 * Runs a tool on input that already passed its schema. The output gains `rollback` (the delete
 * call that undoes it) when the tool declares one and the call created something. Never throws.
 */
export async function runParsed(
  tool: ToolkitTool,
  input: Record<string, unknown>,
  env: ToolkitEnv,
  extra: { signal?: AbortSignal; _meta?: Record<string, unknown> } = {},
): Promise<CallToolResult> {
  const callerWaits = extra._meta?.[RATE_LIMITS_TO_CALLER_META_KEY] === true;
  try {
    const output = await rateLimitsToCaller.run(callerWaits, () => tool.run(input, env, extra.signal));
    const rollback = tool.rollback?.(input, output);
    return jsonResult(rollback ? { ...output, rollback } : output);
  } catch (error) {
    const result = errorResult(`${tool.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    // Every rate-limited failure says which provider refused, so the caller pauses that provider only.
    if (isProviderError(error) && error.rateLimit) {
      const report: RateLimitReport = { provider: tool.category, ...error.rateLimit };
      result._meta = { [RATE_LIMIT_META_KEY]: report };
    }
    return result;
  }
}

/** A tool without a declared output shape is a programming error: plans could not be checked. */
export function outputSchemaOf(name: string): z.ZodObject {
  const schema = TOOLKIT_OUTPUTS[name];
  if (!schema) throw new Error(`toolkit tool "${name}" has no outputSchema in src/servers/toolkit/outputs.ts`);
  return schema;
}

/** Local deploys start the app and wait for its health check; every other local call is a quick statement. */
const LOCAL_MS: Readonly<Record<string, number>> = { vercel_deploy: 3_000, fly_deploy: 3_000 };
const LOCAL_DEFAULT_MS = 500;

/** What a call costs on the local backend: nothing, and local times (see BACKEND_ESTIMATE_META_KEY). */
export function localEstimate(tool: Pick<ToolkitTool, "name">): BackendEstimate {
  return { backend: "local", usd: 0, ms: LOCAL_MS[tool.name] ?? LOCAL_DEFAULT_MS };
}

/** Registers a toolkit tool as an MCP tool with its schema, annotations, secret-field and backend metadata. */
export function registerToolkitTool(server: McpServer, tool: ToolkitTool, env: ToolkitEnv): void {
  const meta: Record<string, unknown> = {};
  if (tool.secretFields?.length) meta[SECRET_FIELDS_META_KEY] = tool.secretFields;
  if (tool.undoneWith) meta[UNDONE_WITH_META_KEY] = tool.undoneWith;
  meta[PROVIDER_META_KEY] = tool.category;
  if (backendOf(tool.category, env) === "local") meta[BACKEND_ESTIMATE_META_KEY] = localEstimate(tool);
  server.registerTool(
    tool.name,
    {
      description: tool.description,
      inputSchema: tool.input,
      outputSchema: outputSchemaOf(tool.name),
      annotations: { readOnlyHint: tool.readOnly ?? false, destructiveHint: tool.destructive ?? false, openWorldHint: true },
      _meta: meta,
    },
    (args: Record<string, unknown>, extra) => runParsed(tool, args, env, extra),
  );
}
