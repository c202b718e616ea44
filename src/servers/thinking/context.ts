import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { isThinkingError, ThinkingError } from "./errors.ts";
import type { ThinkingStore } from "./store.ts";

/** What every thinking tool works with. */
export interface ThinkingContext {
  store: ThinkingStore;
  /** Session of calls without `sessionId` outside a Streamable HTTP session (`AGENT_ID`). */
  agentId?: string;
  /** Longest text accepted in any thought, critique, question or list item. */
  maxThoughtLength: number;
}

export const SessionIdField = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe("Session to use. Default: the Streamable HTTP session, else this server's AGENT_ID, else \"default\".");

/** `sessionId` argument, else the Streamable HTTP session, else the agent id, else `default`. */
export function resolveSessionId(argument: string | undefined, transportSessionId: string | undefined, agentId: string | undefined): string {
  return argument ?? transportSessionId ?? agentId ?? "default";
}

/** Throws when a text field is longer than the limit, naming the field. */
export function checkLength(field: string, value: string | undefined, max: number): void {
  if (value !== undefined && value.length > max) {
    throw new ThinkingError("THOUGHT_TOO_LONG", `${field} is ${value.length} characters long; the limit is ${max}`);
  }
}

/** Runs a tool body: its value becomes structured + JSON text content, a ThinkingError an `isError` result. */
export function toolResult(body: () => Record<string, unknown>): CallToolResult {
  try {
    const data = body();
    return { structuredContent: data, content: [{ type: "text", text: JSON.stringify(data, null, 2) }] };
  } catch (error) {
    if (!isThinkingError(error)) throw error;
    return { isError: true, content: [{ type: "text", text: `${error.code}: ${error.message}` }] };
  }
}
