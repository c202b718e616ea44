import path from "node:path";
import { z } from "zod";
import { CODE_GENERATION_SYSTEM_PROMPT, CODE_GENERATION_USER_PROMPT, COMPLEXITY_GUIDANCE } from "../../../prompts/workspace.ts";
import { WorkspaceError } from "./errors.ts";
import type { GeneratedFile } from "./templates/types.ts";
import type { WorkspaceModel } from "./tool.ts";

export type Complexity = keyof typeof COMPLEXITY_GUIDANCE;

const GeneratedFilesSchema = z.object({
  files: z
    .array(
      z.object({
        path: z.string().describe("File path relative to the project folder"),
        content: z.string().describe("Full file content"),
      }),
    )
    .describe("Every file of the project"),
});

export interface CodeRequest {
  task: string;
  context: string;
  complexity: Complexity;
  project: string;
}

export interface GeneratedCode {
  files: GeneratedFile[];
  usage?: { inputTokens: number; outputTokens: number; totalTokens: number };
}

/** Asks the configured OpenAI-compatible model for the project's files (structured output). */
export async function generateWithModel(model: WorkspaceModel, request: CodeRequest): Promise<GeneratedCode> {
  // Loaded on first use, so the server starts fast when no model is configured.
  const [{ ChatOpenAI }, { AIMessage }] = await Promise.all([import("@langchain/openai"), import("@langchain/core/messages")]);
  const chat = new ChatOpenAI({
    model: model.name,
    apiKey: model.apiKey ?? "not-needed",
    configuration: model.baseUrl === undefined ? undefined : { baseURL: model.baseUrl },
    maxRetries: model.maxRetries,
  });
  const structured = chat.withStructuredOutput(GeneratedFilesSchema, { name: "project_files", includeRaw: true });
  const values = { ...request, complexity_guidance: COMPLEXITY_GUIDANCE[request.complexity] };
  const answer = await structured
    .invoke([
      { role: "system", content: CODE_GENERATION_SYSTEM_PROMPT },
      { role: "user", content: fillPrompt(CODE_GENERATION_USER_PROMPT, values) },
    ])
    .catch((error: unknown) => {
      throw new WorkspaceError("MODEL_OUTPUT", `model "${model.name}": ${(error as Error).message}`, "model");
    });
  const usage = AIMessage.isInstance(answer.raw) ? answer.raw.usage_metadata : undefined;
  return {
    files: answer.parsed.files,
    usage:
      usage === undefined
        ? undefined
        : { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens, totalTokens: usage.total_tokens },
  };
}

const START_SCRIPT = /^(node|tsx)\s+([^\s-][^\s]*)$/;

/**
 * Checks the deploy contract of generated files: a package.json whose `scripts.start` is
 * exactly `node <file>` or `tsx <file>`, with that file among them.
 */
export function checkStartScript(files: readonly GeneratedFile[]): void {
  const index = files.findIndex((file) => path.posix.normalize(file.path) === "package.json");
  const manifest = files[index];
  if (manifest === undefined) {
    throw new WorkspaceError("MODEL_OUTPUT", "files: the model returned no package.json", "files");
  }
  let start: unknown;
  try {
    start = (JSON.parse(manifest.content) as { scripts?: { start?: unknown } }).scripts?.start;
  } catch {
    throw new WorkspaceError("MODEL_OUTPUT", `files[${index}].content: package.json is not valid JSON`, `files[${index}].content`);
  }
  const entry = typeof start === "string" ? START_SCRIPT.exec(start.trim())?.[2] : undefined;
  if (entry === undefined) {
    throw new WorkspaceError(
      "MODEL_OUTPUT",
      `files[${index}].content: package.json scripts.start must be "node <file>" or "tsx <file>", got ${JSON.stringify(start ?? null)}`,
      `files[${index}].content`,
    );
  }
  const normalise = (file: string): string => path.posix.normalize(file.replace(/\\/g, "/"));
  if (!files.some((file) => normalise(file.path) === normalise(entry))) {
    throw new WorkspaceError("MODEL_OUTPUT", `files[${index}].content: scripts.start runs ${entry}, which is not among the files`, `files[${index}].content`);
  }
}

/** Replaces `{name}` placeholders with values; unknown placeholders are left as they are. */
export function fillPrompt(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, key: string) => values[key] ?? whole);
}
