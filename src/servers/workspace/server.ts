import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { isWorkspaceError } from "./errors.ts";
import { workspaceOutputOf } from "./outputs.ts";
import { registerWorkspacePreflight } from "./preflight.ts";
import type { WorkspaceContext, WorkspaceModel, WorkspaceTool } from "./tool.ts";
import { auditDependencies } from "./tools/audit-dependencies.ts";
import { countLinesTool } from "./tools/count-lines.ts";
import { delegateCodeGeneration } from "./tools/delegate-code-generation.ts";
import { deleteGeneratedFiles } from "./tools/delete-generated-files.ts";
import { findTodos } from "./tools/find-todos.ts";
import { gitBranch } from "./tools/git-branch.ts";
import { gitCommit } from "./tools/git-commit.ts";
import { gitDiff } from "./tools/git-diff.ts";
import { gitInit } from "./tools/git-init.ts";
import { gitDeleteRemoteBranches, gitPush } from "./tools/git-push.ts";
import { gitStatus } from "./tools/git-status.ts";
import { runLint } from "./tools/run-lint.ts";
import { runTests } from "./tools/run-tests.ts";
import { runTypecheck } from "./tools/run-typecheck.ts";

export interface WorkspaceServerOptions {
  /** Workspace root; it must exist. Every tool is confined to it. */
  root: string;
  /** Model for `delegate_code_generation`; templates are scaffolded without one. */
  model?: WorkspaceModel;
  /** A PATH value: where the preflight looks for git. */
  searchPath?: string;
}

export const WORKSPACE_TOOLS: readonly WorkspaceTool[] = [
  delegateCodeGeneration,
  deleteGeneratedFiles,
  runLint,
  runTypecheck,
  runTests,
  auditDependencies,
  findTodos,
  countLinesTool,
  gitInit,
  gitCommit,
  gitBranch,
  gitDiff,
  gitStatus,
  gitPush,
  gitDeleteRemoteBranches,
];

/** The workspace MCP server: code generation, project runners and git, confined to `root`. */
export function createWorkspaceServer(options: WorkspaceServerOptions): McpServer {
  const server = new McpServer({ name: "workspace", version: "0.1.0" });
  const context: WorkspaceContext = { root: options.root, model: options.model, searchPath: options.searchPath };
  for (const tool of WORKSPACE_TOOLS) {
    const meta = tool.meta?.(context);
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.input, outputSchema: workspaceOutputOf(tool.name), annotations: tool.annotations, ...(meta ? { _meta: meta } : {}) },
      async (args: unknown) => callTool(tool, args, context),
    );
  }
  registerWorkspacePreflight(server, context);
  return server;
}

async function callTool(tool: WorkspaceTool, args: unknown, context: WorkspaceContext): Promise<CallToolResult> {
  try {
    const output = await tool.run(args as Record<string, unknown>, context);
    return { content: [{ type: "text", text: JSON.stringify(output) }], structuredContent: output };
  } catch (error) {
    const message = isWorkspaceError(error) ? error.message : `${tool.name} failed: ${(error as Error).message}`;
    return { content: [{ type: "text", text: message }], isError: true };
  }
}
