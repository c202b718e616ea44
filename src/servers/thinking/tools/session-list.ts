import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { toolResult, type ThinkingContext } from "../context.ts";
import { SessionTimesFields } from "./session-get.ts";

const Summary = z.object({
  ...SessionTimesFields,
  thoughtCount: z.number().int(),
  explorationCount: z.number().int(),
  reflectionCount: z.number().int(),
});

export function registerSessionList(server: McpServer, context: ThinkingContext): void {
  server.registerTool(
    "thinking_session_list",
    {
      title: "List thinking sessions",
      description: "Sessions kept by this server (idle ones are evicted after the TTL), most recently updated first, with their record counts.",
      inputSchema: { limit: z.number().int().min(1).max(1000).optional().describe("Most sessions to return (default 100)") },
      outputSchema: { sessions: z.array(Summary) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ limit }) => toolResult(() => ({ sessions: context.store.listSessions(limit ?? 100) })),
  );
}
