import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { checkLength, resolveSessionId, SessionIdField, toolResult, type ThinkingContext } from "../context.ts";
import type { ReflectionInput } from "../store.ts";

export const ReflectionFields = {
  thoughtNumber: z.number().int().min(1).describe("The thought to critique (its latest version when it was revised)"),
  critique: z.string().min(1).describe("What is wrong, weak or missing in that thought"),
  confidence: z.number().min(0).max(1).optional().describe("How sound the thought still looks after the critique, 0–1"),
  issues: z.array(z.string()).optional().describe("Individual problems found"),
  suggestedRevision: z.string().optional().describe("A better version of the thought, to submit as a revision"),
};

const OutputFields = {
  sessionId: z.string(),
  reflectionNumber: z.number().int(),
  thoughtNumber: z.number().int(),
  reflectedThought: z.string(),
  issueCount: z.number().int(),
  revisionSuggested: z.boolean(),
  nextStep: z.string().optional(),
};

const DESCRIPTION = `Critique a previous thought of the session: name its problems, rate how sound it still is and
optionally suggest a revision. The thought must exist in the session (sequential_thinking first). When a revision is
suggested, submit it with sequential_thinking (isRevision: true, revisesThought: <thoughtNumber>).`;

export function registerReflectiveThinking(server: McpServer, context: ThinkingContext): void {
  server.registerTool(
    "reflective_thinking",
    {
      title: "Reflective thinking",
      description: DESCRIPTION,
      inputSchema: { ...ReflectionFields, sessionId: SessionIdField },
      outputSchema: OutputFields,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ sessionId, ...reflection }, extra) =>
      toolResult(() => {
        checkReflectionLengths(reflection, context.maxThoughtLength);
        const session = resolveSessionId(sessionId, extra.sessionId, context.agentId);
        const { reflection: record, target } = context.store.addReflection(session, reflection);
        const revisionSuggested = reflection.suggestedRevision !== undefined;
        return {
          sessionId: session,
          reflectionNumber: record.reflectionNumber,
          thoughtNumber: target.thoughtNumber,
          reflectedThought: target.thought,
          issueCount: reflection.issues?.length ?? 0,
          revisionSuggested,
          ...(revisionSuggested
            ? { nextStep: `call sequential_thinking with isRevision: true and revisesThought: ${target.thoughtNumber}` }
            : {}),
        };
      }),
  );
}

function checkReflectionLengths(reflection: ReflectionInput, max: number): void {
  checkLength("critique", reflection.critique, max);
  checkLength("suggestedRevision", reflection.suggestedRevision, max);
  reflection.issues?.forEach((text, i) => checkLength(`issues[${i}]`, text, max));
}
