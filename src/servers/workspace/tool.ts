import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/** OpenAI-compatible chat endpoint used by `delegate_code_generation` in model mode. */
export interface WorkspaceModel {
  name: string;
  apiKey?: string;
  baseUrl?: string;
  /** Retries of a failed model call (the client's default when absent). */
  maxRetries?: number;
}

/** What every workspace tool gets besides its input. */
export interface WorkspaceContext {
  /** Real path of the workspace root; every path a tool touches is inside it. */
  root: string;
  model?: WorkspaceModel;
  /** A PATH value: where the preflight looks for git (nothing is found when absent). */
  searchPath?: string;
}

/** One workspace tool: a zod input schema, MCP annotations and a function returning JSON. */
export interface WorkspaceTool<I extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  input: I;
  annotations: ToolAnnotations;
  /** The tool's `_meta` for this server's configuration (e.g. its backend estimate), if any. */
  meta?(context: WorkspaceContext): Record<string, unknown> | undefined;
  run(input: z.infer<I>, context: WorkspaceContext): Promise<Record<string, unknown>>;
}

/** A project folder, relative to the workspace root. */
export const projectField = z
  .string()
  .min(1)
  .describe("Project folder, relative to the workspace root (for example \"rad-crawler\").");

export const timeoutField = z
  .number()
  .int()
  .positive()
  .max(30 * 60_000)
  .default(60_000)
  .describe("Kill the run after this many milliseconds (default 60000).");

export const maxOutputField = z
  .number()
  .int()
  .positive()
  .max(10_000_000)
  .default(200_000)
  .describe("Keep at most this many bytes of a command's output (default 200000).");

/** Annotations of tools that only read the project. */
export const readOnly: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, openWorldHint: false };
