import { McpError } from "@modelcontextprotocol/sdk/types.js";
import type { RateLimitReport } from "./tool-meta.ts";

export type ToolCallErrorCode =
  | "TOOL_ERROR"
  | "TRANSPORT"
  | "TIMEOUT"
  | "CANCELLED"
  | "INVALID_ARGUMENTS"
  | "PROTOCOL"
  | "SERVER_ERROR"
  | "UNKNOWN_SERVER";

export class ToolCallError extends Error {
  constructor(
    readonly code: ToolCallErrorCode,
    message: string,
    readonly retryable: boolean,
    /** The JSON-RPC (or HTTP) error code the call failed with, when there was one. */
    readonly rpcCode?: number,
    /** The provider behind the server refused the call as rate limited (the server's result `_meta` says which). */
    readonly rateLimit?: RateLimitReport,
  ) {
    super(message);
    this.name = "ToolCallError";
  }
}

export function isToolCallError(error: unknown): error is ToolCallError {
  return error instanceof ToolCallError;
}

interface RpcClass {
  code: ToolCallErrorCode;
  retryable: boolean;
  /** The connection is broken: drop it, so the next call (a retry) starts a fresh one. */
  reconnect: boolean;
  label: string;
}

/**
 * Every JSON-RPC code the MCP SDK and spec define. A protocol answer (the server replied, even with
 * an error) proves the connection works, so only a closed connection reconnects; a retry of a
 * request the server refused as malformed or unknown would only be refused again.
 */
const RPC_CODES: Readonly<Record<number, RpcClass>> = {
  [-32700]: { code: "PROTOCOL", retryable: false, reconnect: false, label: "parse error" },
  [-32600]: { code: "PROTOCOL", retryable: false, reconnect: false, label: "invalid request" },
  [-32601]: { code: "PROTOCOL", retryable: false, reconnect: false, label: "method not found" },
  [-32602]: { code: "INVALID_ARGUMENTS", retryable: false, reconnect: false, label: "invalid params" },
  // The server failed while handling this request but answered: like an HTTP 500, worth a retry.
  [-32603]: { code: "SERVER_ERROR", retryable: true, reconnect: false, label: "internal error" },
  [-32000]: { code: "TRANSPORT", retryable: true, reconnect: true, label: "connection closed" },
  [-32001]: { code: "TIMEOUT", retryable: true, reconnect: false, label: "request timed out" },
  [-32002]: { code: "PROTOCOL", retryable: false, reconnect: false, label: "resource not found" },
  [-32042]: { code: "PROTOCOL", retryable: false, reconnect: false, label: "URL elicitation required" },
};

/** Other server-defined codes (-32099…-32000) are answers from a live server: not transient. */
const SERVER_DEFINED: RpcClass = { code: "PROTOCOL", retryable: false, reconnect: false, label: "server-defined error" };

/** HTTP statuses of Streamable HTTP / SSE transports: busy or briefly down is worth a retry. */
const RETRYABLE_HTTP = new Set([408, 423, 425, 429, 500, 502, 503, 504]);

/**
 * A tool's error text saying the provider was busy or briefly unavailable: a status written as one
 * ("HTTP 503", "status: 429", "502 Bad Gateway"), or the words. A bare number ("at most 500
 * characters", "project 502") is not a status.
 */
const TRANSIENT_TEXT =
  /\b(?:http|status|code)[\s:=]*(?:408|423|425|429|500|502|503|504)\b|\b(?:408|423|425|429|500|502|503|504)\s+(?:too many|internal server|bad gateway|service unavailable|gateway time|request time|locked|too early)|rate.?limit|too many requests|\btimed? ?out\b|temporarily|ECONNRESET|ECONNREFUSED/i;

export function isTransientText(text: string): boolean {
  return TRANSIENT_TEXT.test(text);
}

export interface Classified {
  error: ToolCallError;
  reconnect: boolean;
}

/**
 * Maps what a `tools/call` threw to a ToolCallError. `aborted` is the caller's signal state: the
 * SDK rejects an aborted request with a RequestTimeout McpError, so the signal tells them apart.
 */
export function classifyCallError(error: unknown, server: string, tool: string, aborted: boolean): Classified {
  const where = `${server}.${tool}`;
  const raw = error instanceof Error ? error.message : String(error);
  const message = stripMcpPrefix(raw);
  if (aborted) return { error: new ToolCallError("CANCELLED", `${where} was cancelled (notifications/cancelled sent to the server)`, false), reconnect: false };

  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof McpError && typeof code === "number") {
    const cls = RPC_CODES[code] ?? (code <= -32000 && code >= -32099 ? SERVER_DEFINED : undefined);
    if (cls) {
      const text = cls.code === "TIMEOUT" ? `${where} timed out (notifications/cancelled sent to the server)` : `${where}: ${message} (JSON-RPC ${code}, ${cls.label})`;
      return { error: new ToolCallError(cls.code, text, cls.retryable, code), reconnect: cls.reconnect };
    }
    return { error: new ToolCallError("PROTOCOL", `${where}: ${message} (JSON-RPC ${code})`, false, code), reconnect: false };
  }
  if (typeof code === "number" && code >= 400 && code < 600) {
    const retryable = RETRYABLE_HTTP.has(code);
    return { error: new ToolCallError("TRANSPORT", `${where}: ${message} (HTTP ${code})`, retryable, code), reconnect: retryable };
  }
  if (error instanceof Error && error.name === "ZodError") {
    return { error: new ToolCallError("PROTOCOL", `${where}: the server's result does not match the MCP schema: ${message}`, false), reconnect: false };
  }
  // No answer at all (a dead child, a refused connection): reconnect so a retry reaches a fresh server.
  return { error: new ToolCallError("TRANSPORT", `${where}: ${message}`, true), reconnect: true };
}

/**
 * An `isError` result whose text carries a JSON-RPC code: the SDK turns an McpError thrown inside
 * a tool handler into such a result ("MCP error -32602: Input validation error: …"). The code
 * decides, as it would for a protocol error; other tool errors are retried when their text says
 * the provider was busy.
 */
export function classifyToolError(server: string, tool: string, text: string, busy: boolean, rateLimit?: RateLimitReport): ToolCallError {
  const words = stripMcpPrefix(text) || `${server}.${tool} failed`;
  const match = /^MCP error (-?\d+): /.exec(text);
  const code = match ? Number(match[1]) : undefined;
  const cls = code === undefined ? undefined : (RPC_CODES[code] ?? (code <= -32000 && code >= -32099 ? SERVER_DEFINED : undefined));
  if (rateLimit) return new ToolCallError("TOOL_ERROR", words, true, code, rateLimit);
  if (!cls) return new ToolCallError("TOOL_ERROR", words, busy, code);
  const kind = cls.code === "INVALID_ARGUMENTS" ? "INVALID_ARGUMENTS" : "TOOL_ERROR";
  return new ToolCallError(kind, words, cls.retryable, code);
}

/**
 * The SDK prefixes "MCP error <code>: " on both sides: a server that throws an McpError sends its
 * prefixed message, and the client prefixes it again. Keep the words once.
 */
export function stripMcpPrefix(message: string): string {
  return message.replace(/^(?:MCP error -?\d+: )+/, "");
}
