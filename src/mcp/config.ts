import { issueTexts } from "../zod-issues.ts";
import type { AppConfig } from "../config.ts";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { BIN_PATH } from "../package-root.ts";

/** The `bin/credit-optimizer.js` of this installation: built-in servers are started through it (it picks dist/ or the sources). */
export { BIN_PATH };

/**
 * How tools of this server that carry no destructive/read-only annotations are judged. MCP's
 * defaults (`destructiveHint: true`, `readOnlyHint: false`) make them possibly destructive; an
 * operator who knows the server can say `non-destructive`. Explicit annotations always count.
 */
export const UnannotatedTools = z.enum(["destructive", "non-destructive"]);
export type UnannotatedTools = z.infer<typeof UnannotatedTools>;

const SHELL_META = /[;&|`$<>\n\r]|\$\(/;

export const StdioServer = z.object({
  transport: z.literal("stdio").optional(),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  unannotatedTools: UnannotatedTools.optional(),
});

export const HttpServer = z.object({
  transport: z.enum(["http", "streamable-http"]).optional(),
  url: z.url(),
  headers: z.record(z.string(), z.string()).optional(),
  unannotatedTools: UnannotatedTools.optional(),
});

export const ServerConfig = z.union([StdioServer, HttpServer]);
export const McpConfig = z.object({ mcpServers: z.record(z.string(), ServerConfig) });

export type ServerConfig = z.infer<typeof ServerConfig>;
export type McpConfig = z.infer<typeof McpConfig>;

export class McpConfigError extends Error {
  readonly code = "MCP_CONFIG_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "McpConfigError";
  }
}

export function isMcpConfigError(error: unknown): error is McpConfigError {
  return error instanceof McpConfigError;
}

/** Parses an `mcpServers` config; every problem names the server and field. */
export function parseMcpConfig(data: unknown, source = "mcp config"): McpConfig {
  const parsed = McpConfig.safeParse(data);
  if (!parsed.success) {
    throw new McpConfigError(`${source} is invalid:\n${issueTexts(parsed.error.issues).map((l) => `  ${l}`).join("\n")}`);
  }
  for (const [name, server] of Object.entries(parsed.data.mcpServers)) {
    if ("command" in server) {
      for (const [i, part] of [server.command, ...server.args].entries()) {
        if (SHELL_META.test(part)) {
          const field = i === 0 ? "command" : `args[${i - 1}]`;
          throw new McpConfigError(
            `${source}: mcpServers.${name}.${field} contains a shell metacharacter (${JSON.stringify(part)}); servers run without a shell`,
          );
        }
      }
    }
  }
  return parsed.data;
}

export async function loadMcpConfig(file: string): Promise<McpConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new McpConfigError(`cannot read MCP config ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new McpConfigError(`MCP config ${file} is not JSON: ${(error as Error).message}`);
  }
  return parseMcpConfig(data, file);
}

/** A stdio entry that starts one of this installation's built-in servers. */
export function builtinServer(name: "thinking" | "toolkit" | "workspace", env: Record<string, string> = {}): ServerConfig {
  return { command: process.execPath, args: [BIN_PATH, "serve", name], env };
}

/** Whether `server` is one of this installation's built-in servers (started through its bin). */
export function isBuiltinServer(server: ServerConfig): boolean {
  return "command" in server && server.args[0] === BIN_PATH;
}

/** The embedded default: the three built-in servers over stdio. */
export function defaultMcpConfig(env: Record<string, string> = {}): McpConfig {
  return {
    mcpServers: {
      thinking: builtinServer("thinking", env),
      toolkit: builtinServer("toolkit", env),
      workspace: builtinServer("workspace", env),
    },
  };
}

/**
 * The environment the built-in stdio servers get (a stdio child sees only a few variables plus
 * these): state dir, workspace, local services, provider tokens, model endpoint, the secret key
 * (so the servers use the same one), and the configured PATH (where redis-server or git is looked for).
 */
export function builtinEnv(config: AppConfig): Record<string, string> {
  const env: Record<string, string> = {
    CREDIT_OPTIMIZER_HOME: config.home,
    CREDIT_OPTIMIZER_WORKSPACE: config.workspaceRoot,
  };
  for (const [key, value] of Object.entries(config.env)) {
    if (typeof value === "string" && /^(LOCAL_|NEON_|UPSTASH_|VERCEL_|FLY_|GITHUB_|OPENAI_|CREDIT_OPTIMIZER_MODEL|CREDIT_OPTIMIZER_SECRET_KEY$|CREDIT_OPTIMIZER_FROM_SOURCES$|CREDIT_OPTIMIZER_BUILD_CHECKED$|AGENT_ID|PATH$)/.test(key)) env[key] = value;
  }
  return env;
}

/** The MCP servers of a run: the file given (or configured), else the built-in ones. */
export async function mcpConfigFor(config: AppConfig, file?: string): Promise<McpConfig> {
  const path = file ?? config.mcpConfigPath;
  return path ? loadMcpConfig(path) : defaultMcpConfig(builtinEnv(config));
}
