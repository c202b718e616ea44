import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { resolveSessionId, SessionIdField, toolResult, type ThinkingContext } from "../context.ts";

export function registerSessionReset(server: McpServer, context: ThinkingContext): void {
  server.registerTool(
    "thinking_session_reset",
    {
      title: "Reset a thinking session",
      description: "Deletes a session and everything recorded in it; the next thought starts a fresh history.",
      inputSchema: { sessionId: SessionIdField },
      outputSchema: { sessionId: z.string(), existed: z.boolean(), recordsRemoved: z.number().int() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ sessionId }, extra) =>
      toolResult(() => {
        const session = resolveSessionId(sessionId, extra.sessionId, context.agentId);
        const removed = context.store.resetSession(session);
        return { sessionId: session, existed: removed !== undefined, recordsRemoved: removed ?? 0 };
      }),
  );
}
