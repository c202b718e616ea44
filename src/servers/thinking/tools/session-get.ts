import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { resolveSessionId, SessionIdField, toolResult, type ThinkingContext } from "../context.ts";
import { ThinkingError } from "../errors.ts";
import { ExplorationFields } from "./parallel-thinking.ts";
import { ReflectionFields } from "./reflective-thinking.ts";
import { ThoughtFields } from "./sequential-thinking.ts";

export const SessionTimesFields = {
  sessionId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.string(),
};

const Recorded = { position: z.number().int(), recordedAt: z.string() };

const OutputFields = {
  ...SessionTimesFields,
  thoughts: z.array(z.object({ ...ThoughtFields, ...Recorded })),
  branches: z.record(z.string(), z.array(z.number().int())),
  explorations: z.array(z.object({ ...ExplorationFields, ...Recorded, explorationNumber: z.number().int() })),
  reflections: z.array(z.object({ ...ReflectionFields, ...Recorded, reflectionNumber: z.number().int() })),
};

export function registerSessionGet(server: McpServer, context: ThinkingContext): void {
  server.registerTool(
    "thinking_session_get",
    {
      title: "Get a thinking session",
      description:
        "A session's full history: thoughts in order (with revisions), branches (branch id → thought numbers), parallel explorations and reflections.",
      inputSchema: { sessionId: SessionIdField },
      outputSchema: OutputFields,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ sessionId }, extra) =>
      toolResult(() => {
        const session = resolveSessionId(sessionId, extra.sessionId, context.agentId);
        const snapshot = context.store.getSession(session);
        if (!snapshot) throw new ThinkingError("SESSION_NOT_FOUND", `sessionId: no session "${session}" (never used, reset, or evicted after idling past the TTL)`);
        return { ...snapshot };
      }),
  );
}
