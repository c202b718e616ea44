import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { checkLength, resolveSessionId, SessionIdField, toolResult, type ThinkingContext } from "../context.ts";

const positive = z.number().int().min(1);

/** The reference sequential-thinking server's fields. */
export const ThoughtFields = {
  thought: z.string().describe("Your current thinking step"),
  nextThoughtNeeded: z.boolean().describe("Whether another thought step is needed"),
  thoughtNumber: positive.describe("Current thought number (1, 2, …)"),
  totalThoughts: positive.describe("Estimated total thoughts needed; raised to thoughtNumber when it passes it"),
  isRevision: z.boolean().optional().describe("Whether this thought revises previous thinking"),
  revisesThought: positive.optional().describe("Which thought number is being reconsidered"),
  branchFromThought: positive.optional().describe("Thought number this branch starts from"),
  branchId: z.string().min(1).max(200).optional().describe("Identifier of the branch (recorded when branchFromThought is set)"),
  needsMoreThoughts: z.boolean().optional().describe("Set when reaching the end but realising more thoughts are needed"),
};

const OutputFields = {
  sessionId: z.string(),
  thoughtNumber: z.number().int(),
  totalThoughts: z.number().int(),
  nextThoughtNeeded: z.boolean(),
  branches: z.array(z.string()),
  thoughtHistoryLength: z.number().int(),
};

const DESCRIPTION = `Dynamic, reflective problem-solving through a sequence of thoughts that can be revised and branched.
Each call records one thought in a session (sessionId argument, else the HTTP session, else this server's AGENT_ID, else "default"),
so several agents think side by side without mixing histories. Raise totalThoughts as you go, mark revisions with
isRevision + revisesThought, branch with branchFromThought + branchId, and set nextThoughtNeeded false when done.
Returns the session id, thought number, total, history length and branch ids.`;

export function registerSequentialThinking(server: McpServer, context: ThinkingContext): void {
  server.registerTool(
    "sequential_thinking",
    {
      title: "Sequential thinking",
      description: DESCRIPTION,
      inputSchema: { ...ThoughtFields, sessionId: SessionIdField },
      outputSchema: OutputFields,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ sessionId, ...thought }, extra) =>
      toolResult(() => {
        checkLength("thought", thought.thought, context.maxThoughtLength);
        const session = resolveSessionId(sessionId, extra.sessionId, context.agentId);
        const added = context.store.addThought(session, thought);
        return {
          sessionId: session,
          thoughtNumber: added.record.thoughtNumber,
          totalThoughts: added.record.totalThoughts,
          nextThoughtNeeded: added.record.nextThoughtNeeded,
          branches: added.branches,
          thoughtHistoryLength: added.historyLength,
        };
      }),
  );
}
