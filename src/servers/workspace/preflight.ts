import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { gitStatus, PREFLIGHT_META_KEY, PreflightInput, PreflightOutputSchema, preflightOutput, type PreflightFinding } from "../preflight.ts";
import type { WorkspaceContext } from "./tool.ts";

/** Workspace tools that run `git`. */
const GIT_TOOL = /^git_/;

/** What stops the given workspace tools: a root this process cannot write to; no git for git tools. */
export async function workspacePreflight(context: WorkspaceContext, names: readonly string[]): Promise<PreflightFinding[]> {
  const asked = [...new Set(names)];
  const problems: PreflightFinding[] = [];
  const [writable, git] = await Promise.all([
    access(context.root, constants.W_OK).then(
      () => true,
      () => false,
    ),
    asked.some((name) => GIT_TOOL.test(name)) ? gitStatus(context) : undefined,
  ]);
  if (!writable && asked.length > 0) {
    problems.push({ tools: asked, problem: `the workspace ${context.root} is not writable`, fix: "set CREDIT_OPTIMIZER_WORKSPACE to a folder you can write to, or fix its permissions" });
  }
  if (git && !git.ok) problems.push({ tools: asked.filter((name) => GIT_TOOL.test(name)), problem: git.detail, fix: git.fix ?? "" });
  return problems;
}

/** `workspace_preflight`: the workspace's answer to the engine's preflight (read-only). */
export function registerWorkspacePreflight(server: McpServer, context: WorkspaceContext): void {
  server.registerTool(
    "workspace_preflight",
    {
      description: "Check, without changing anything, whether the given workspace tools can run: returns { ok, problems: [{ tools, problem, fix }] }.",
      inputSchema: PreflightInput,
      outputSchema: PreflightOutputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      _meta: { [PREFLIGHT_META_KEY]: true },
    },
    async ({ tools }): Promise<CallToolResult> => {
      const output = preflightOutput(await workspacePreflight(context, tools));
      return { content: [{ type: "text", text: JSON.stringify(output) }], structuredContent: output };
    },
  );
}
