import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { ThinkingContext } from "./context.ts";
import { registerParallelThinking } from "./tools/parallel-thinking.ts";
import { registerReflectiveThinking } from "./tools/reflective-thinking.ts";
import { registerSequentialThinking } from "./tools/sequential-thinking.ts";
import { registerSessionGet } from "./tools/session-get.ts";
import { registerSessionList } from "./tools/session-list.ts";
import { registerSessionReset } from "./tools/session-reset.ts";

export type ThinkingServerOptions = ThinkingContext;

/** One MCP server over a shared session store: create one per connection, they all see the same sessions. */
export function createThinkingServer(options: ThinkingServerOptions): McpServer {
  const server = new McpServer({ name: "thinking-tools", version: "0.1.0" });
  registerSequentialThinking(server, options);
  registerParallelThinking(server, options);
  registerReflectiveThinking(server, options);
  registerSessionGet(server, options);
  registerSessionList(server, options);
  registerSessionReset(server, options);
  return server;
}
