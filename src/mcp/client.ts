import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { classifyCallError, classifyToolError, isTransientText, stripMcpPrefix, ToolCallError } from "./call-errors.ts";
import { outputOf, textOf } from "./output.ts";
import type { ToolInfo } from "./catalog.ts";
import type { McpConfig, ServerConfig } from "./config.ts";
import { RATE_LIMITS_TO_CALLER_META_KEY, rateLimitReportOf } from "./tool-meta.ts";

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

export interface CallOptions {
  /** Aborting it cancels the call: the SDK sends `notifications/cancelled` for the request. */
  signal?: AbortSignal;
  /** A hard bound for the call; on expiry the SDK sends `notifications/cancelled` too. */
  timeoutMs?: number;
  /** The server's `notifications/progress` for this call (the request then carries a progressToken). */
  onProgress?: (update: ProgressUpdate) => void;
  /**
   * The caller waits out provider rate limits itself (a worker, whose wait all workers share): the
   * server is asked to answer a rate-limited call at once instead of sleeping on it.
   */
  rateLimitsToCaller?: boolean;
}

/** What the engine needs from MCP: the tool list and a way to call one. */
export interface ToolCaller {
  readonly tools: readonly ToolInfo[];
  call(server: string, tool: string, args: Record<string, unknown>, options?: CallOptions): Promise<unknown>;
}

export { isToolCallError, ToolCallError, type ToolCallErrorCode } from "./call-errors.ts";

/** Connections `McpRuntime.startEarly` opened that no runtime has taken yet, by server name (one process, one set). */
const early = new Map<string, { config: string; client: Promise<Client> }>();

/**
 * MCP servers from an `mcpServers` config, connected through `@langchain/mcp-adapters` (see connectServer).
 * Calls go to each server's client so results keep `structuredContent` and `isError`. A server
 * whose connection breaks (a stdio child that died) is reconnected on the next call, so a retried
 * step reaches a fresh process.
 */
export class McpRuntime implements ToolCaller {
  private constructor(
    private readonly configs: Record<string, ServerConfig>,
    private readonly clients: Map<string, Promise<Client>>,
    readonly tools: readonly ToolInfo[],
  ) {}

  /**
   * Lists the tools of every server not in `known` (the catalogs read from current pins), all at
   * once: start-up is the slowest server's, not the sum. A known server starts on its first call.
   */
  static async connect(config: McpConfig, known: Readonly<Record<string, readonly ToolInfo[]>> = {}): Promise<McpRuntime> {
    const clients = new Map<string, Promise<Client>>();
    const runtime = new McpRuntime(config.mcpServers, clients, []);
    try {
      const tools = await Promise.all(Object.keys(config.mcpServers).map((server) => known[server] ?? runtime.listTools(server)));
      return new McpRuntime(config.mcpServers, clients, tools.flat());
    } catch (error) {
      await runtime.close();
      throw error;
    }
  }

  /**
   * Starts every server of `config` now, before the runtime that will use them exists (`run` calls
   * this before the rest of the command has loaded: the servers' start-up overlaps it). The first
   * runtime asking for a server with the same configuration takes its connection over. The returned
   * function closes whatever no runtime took: call it when the command ends.
   */
  static startEarly(config: McpConfig): () => Promise<void> {
    const mine = Object.entries(config.mcpServers).map(([name, server]) => {
      const entry = { config: JSON.stringify(server), client: connectServer(name, server) };
      // A failure is the taker's to report; unclaimed, it is nobody's.
      entry.client.catch(() => {});
      early.set(name, entry);
      return [name, entry] as const;
    });
    return async () => {
      const left = mine.filter(([name, entry]) => early.get(name) === entry);
      for (const [name] of left) early.delete(name);
      await Promise.all(left.map(async ([, entry]) => (await entry.client.catch(() => undefined))?.close().catch(() => {})));
    };
  }

  async call(server: string, tool: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<unknown> {
    if (!(server in this.configs)) throw new ToolCallError("UNKNOWN_SERVER", `MCP server "${server}" is not configured`, false);
    let result;
    try {
      const mcp = await this.client(server);
      const onProgress = options.onProgress;
      // The step's timeout is a hard bound: progress does not extend it (resetTimeoutOnProgress
      // off), so a tool that reports progress forever still ends when the plan says.
      const request = options.rateLimitsToCaller ? { name: tool, arguments: args, _meta: { [RATE_LIMITS_TO_CALLER_META_KEY]: true } } : { name: tool, arguments: args };
      result = await mcp.callTool(request, undefined, {
        signal: options.signal,
        timeout: options.timeoutMs,
        ...(onProgress ? { onprogress: (p: ProgressUpdate) => onProgress(progressOf(p)) } : {}),
      });
    } catch (error) {
      const { error: classified, reconnect } = classifyCallError(error, server, tool, options.signal?.aborted === true);
      if (reconnect) await this.drop(server);
      throw classified;
    }
    if (result.isError) {
      const text = textOf(result.content);
      const structured = result.structuredContent as { retryable?: unknown } | undefined;
      const rateLimit = rateLimitReportOf(result._meta as Record<string, unknown> | undefined);
      throw classifyToolError(server, tool, text, structured?.retryable === true || isTransientText(stripMcpPrefix(text)), rateLimit);
    }
    return outputOf(result as { structuredContent?: unknown; content?: unknown });
  }

  async close(): Promise<void> {
    const all = [...this.clients.keys()];
    await Promise.all(all.map((server) => this.drop(server)));
  }

  private async listTools(server: string): Promise<ToolInfo[]> {
    const mcp = await this.client(server);
    const unannotated = this.configs[server]?.unannotatedTools;
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
          ...(t.outputSchema ? { outputSchema: t.outputSchema as Record<string, unknown> } : {}),
          annotations: t.annotations,
          ...(unannotated ? { unannotated } : {}),
          meta: t._meta,
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  private async client(server: string): Promise<Client> {
    let connecting = this.clients.get(server);
    if (!connecting) {
      const config = this.configs[server]!;
      const started = early.get(server);
      const taken = started !== undefined && started.config === JSON.stringify(config);
      if (taken) early.delete(server);
      connecting = taken ? started.client : connectServer(server, config);
      this.clients.set(server, connecting);
    }
    try {
      return await connecting;
    } catch (error) {
      // The next call starts the server afresh (unless another caller already did).
      if (this.clients.get(server) === connecting) this.clients.delete(server);
      throw error;
    }
  }

  private async drop(server: string): Promise<void> {
    const connecting = this.clients.get(server);
    this.clients.delete(server);
    const client = await connecting?.catch(() => undefined);
    await client?.close().catch(() => {});
  }
}

/**
 * One server's MCP client, connected through `@langchain/mcp-adapters` (stdio: the child gets the
 * SDK's few default variables plus the configured `env`; a URL: Streamable HTTP, then SSE). Calls
 * then go to the server's own MCP client, so results keep `structuredContent` and `isError`.
 */
async function connectServer(name: string, server: ServerConfig): Promise<Client> {
  const { MultiServerMCPClient } = await loadClient();
  const connection = "url" in server
    ? { transport: "http" as const, url: server.url, headers: server.headers }
    : { transport: "stdio" as const, command: server.command, args: server.args, env: server.env, cwd: server.cwd, stderr: "inherit" as const };
  const multi = new MultiServerMCPClient({ mcpServers: { [name]: connection }, throwOnLoadError: true, onConnectionError: "throw" });
  const client = await multi.getClient(name).catch(async (error: unknown) => {
    await multi.close().catch(() => {});
    throw new Error(`MCP server "${name}" did not connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  if (!client) throw new Error(`MCP server "${name}" did not connect`);
  return client as unknown as Client;
}

/** The adapters' client, loaded once (with it loaded, connecting a stdio server spawns it at once: `McpRuntime.startEarly` relies on that). */
let loadingClient: Promise<typeof import("@langchain/mcp-adapters")> | undefined;
export function loadClient(): Promise<typeof import("@langchain/mcp-adapters")> {
  return (loadingClient ??= Promise.all([import("@langchain/mcp-adapters"), compileOutputSchemasOnUse()]).then(([adapters]) => adapters));
}

/**
 * The SDK's client compiles (Ajv) a validator for the outputSchema of every tool it lists, at each
 * `tools/list` (and `mcp-adapters` lists once more on connecting): for the built-in servers that is
 * most of a run's start-up CPU, for tools a run mostly never calls. Once per process this makes the
 * SDK's Ajv provider compile each schema on the tool's first result instead; results are validated
 * as before (tests/unit/mcp-output-validators.test.ts).
 */
let compilingOnUse: Promise<void> | undefined;
export function compileOutputSchemasOnUse(): Promise<void> {
  return (compilingOnUse ??= import("@modelcontextprotocol/sdk/validation/ajv").then(({ AjvJsonSchemaValidator }) => {
    const eager = AjvJsonSchemaValidator.prototype.getValidator;
    AjvJsonSchemaValidator.prototype.getValidator = function deferred<T>(this: InstanceType<typeof AjvJsonSchemaValidator>, schema: Parameters<typeof eager>[0]) {
      let compiled: ReturnType<typeof eager<T>> | undefined;
      return (input: unknown) => (compiled ??= eager.call(this, schema) as ReturnType<typeof eager<T>>)(input);
    };
  }));
}

/** Progress as the SDK delivers it, without fields the server left out. */
function progressOf(p: ProgressUpdate): ProgressUpdate {
  return {
    progress: p.progress,
    ...(typeof p.total === "number" ? { total: p.total } : {}),
    ...(typeof p.message === "string" && p.message !== "" ? { message: p.message } : {}),
  };
}
