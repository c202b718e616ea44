import { MultiServerMCPClient } from "@langchain/mcp-adapters";
import type { ToolInfo } from "./catalog.ts";
import type { McpConfig, ServerConfig } from "./config.ts";

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** What the engine needs from MCP: the tool list and a way to call one. */
export interface ToolCaller {
  readonly tools: readonly ToolInfo[];
  call(server: string, tool: string, args: Record<string, unknown>, options?: CallOptions): Promise<unknown>;
}

export type ToolCallErrorCode = "TOOL_ERROR" | "TRANSPORT" | "TIMEOUT" | "INVALID_ARGUMENTS" | "UNKNOWN_SERVER";

export class ToolCallError extends Error {
  constructor(
    readonly code: ToolCallErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "ToolCallError";
  }
}

export function isToolCallError(error: unknown): error is ToolCallError {
  return error instanceof ToolCallError;
}

/** Tool errors whose text says the provider was busy or briefly unavailable are worth retrying. */
const RETRYABLE_TEXT = /\b(429|423|500|502|503|504|rate.?limit|too many requests|timed? ?out|temporarily|ECONNRESET|ECONNREFUSED)\b/i;

/**
 * MCP servers from an `mcpServers` config, connected through `@langchain/mcp-adapters` (one
 * client per server). Calls go to each server's MCP client so results keep `structuredContent`
 * and `isError`. A server whose connection breaks (a stdio child that died) is reconnected on
 * the next call, so a retried step reaches a fresh process.
 */
export class McpRuntime implements ToolCaller {
  private constructor(
    private readonly configs: Record<string, ServerConfig>,
    private readonly clients: Map<string, Promise<MultiServerMCPClient>>,
    readonly tools: readonly ToolInfo[],
  ) {}

  static async connect(config: McpConfig): Promise<McpRuntime> {
    const clients = new Map<string, Promise<MultiServerMCPClient>>();
    const runtime = new McpRuntime(config.mcpServers, clients, []);
    try {
      const tools: ToolInfo[] = [];
      for (const server of Object.keys(config.mcpServers)) tools.push(...(await runtime.listTools(server)));
      return new McpRuntime(config.mcpServers, clients, tools);
    } catch (error) {
      await runtime.close();
      throw error;
    }
  }

  async call(server: string, tool: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<unknown> {
    if (!(server in this.configs)) throw new ToolCallError("UNKNOWN_SERVER", `MCP server "${server}" is not configured`, false);
    let result;
    try {
      const mcp = await this.client(server);
      result = await mcp.callTool({ name: tool, arguments: args }, undefined, {
        signal: options.signal,
        timeout: options.timeoutMs,
        resetTimeoutOnProgress: true,
      });
    } catch (error) {
      const classified = classifyTransportError(error, server, tool);
      if (classified.code === "TRANSPORT") await this.drop(server);
      throw classified;
    }
    if (result.isError) {
      const text = textOf(result.content);
      const structured = result.structuredContent as { retryable?: unknown } | undefined;
      throw new ToolCallError("TOOL_ERROR", text || `${server}.${tool} failed`, structured?.retryable === true || RETRYABLE_TEXT.test(text));
    }
    return outputOf(result as { structuredContent?: unknown; content?: unknown });
  }

  async close(): Promise<void> {
    const all = [...this.clients.keys()];
    await Promise.all(all.map((server) => this.drop(server)));
  }

  private async listTools(server: string): Promise<ToolInfo[]> {
    const mcp = await this.client(server);
    const tools: ToolInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await mcp.listTools(cursor ? { cursor } : undefined);
      for (const t of page.tools) {
        tools.push({
          server,
          name: t.name,
          description: t.description ?? "",
          inputSchema: t.inputSchema as Record<string, unknown>,
          annotations: t.annotations,
          meta: t._meta,
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  private async client(server: string) {
    let multi = this.clients.get(server);
    if (!multi) {
      const connection = toConnection(this.configs[server]!);
      multi = Promise.resolve(new MultiServerMCPClient({ mcpServers: { [server]: connection }, throwOnLoadError: true, onConnectionError: "throw" }));
      this.clients.set(server, multi);
    }
    const mcp = await (await multi).getClient(server).catch(async (error: unknown) => {
      await this.drop(server);
      throw error;
    });
    if (!mcp) throw new Error(`MCP server "${server}" did not connect`);
    return mcp;
  }

  private async drop(server: string): Promise<void> {
    const multi = this.clients.get(server);
    this.clients.delete(server);
    await (await multi)?.close().catch(() => {});
  }
}

/** Structured content when present, else the text parsed as JSON when it is JSON, else the text. */
export function outputOf(result: { structuredContent?: unknown; content?: unknown }): unknown {
  if (result.structuredContent !== undefined && result.structuredContent !== null) return result.structuredContent;
  const text = textOf(result.content);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return "";
  return content
    .filter((c): c is { type: "text"; text: string } => typeof c === "object" && c !== null && (c as { type?: unknown }).type === "text")
    .map((c) => c.text)
    .join("\n");
}

function classifyTransportError(error: unknown, server: string, tool: string): ToolCallError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (code === -32001 || /timed? ?out/i.test(message)) {
    return new ToolCallError("TIMEOUT", `${server}.${tool} timed out`, true);
  }
  if (code === -32602) return new ToolCallError("INVALID_ARGUMENTS", `${server}.${tool}: ${message}`, false);
  if (error instanceof Error && error.name === "AbortError") return new ToolCallError("TIMEOUT", `${server}.${tool} was aborted`, false);
  return new ToolCallError("TRANSPORT", `${server}.${tool}: ${message}`, true);
}

function toConnection(server: ServerConfig) {
  if ("url" in server) return { transport: "http" as const, url: server.url, headers: server.headers };
  return {
    transport: "stdio" as const,
    command: server.command,
    args: server.args,
    env: server.env,
    cwd: server.cwd,
    stderr: "inherit" as const,
  };
}
