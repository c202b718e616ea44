import { z } from "zod";
import { checkStartScript, generateWithModel } from "../codegen.ts";
import { writeProjectFiles } from "../generated-files.ts";
import { TEMPLATE_IDS, chooseTemplate, getTemplate } from "../templates/index.ts";
import { BACKEND_ESTIMATE_META_KEY, type BackendEstimate } from "../../../mcp/tool-meta.ts";
import type { WorkspaceTool } from "../tool.ts";

/** Without a model every call scaffolds a template: free, and a few file writes. */
export const TEMPLATE_ESTIMATE: BackendEstimate = { backend: "template", usd: 0, ms: 200 };

/** A project folder name: one path segment. */
export const projectFolderField = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a folder name: letters, digits, '.', '_', '-'")
  .max(100);

const input = z.object({
  task: z.string().min(1).describe("What to build, in plain language."),
  context: z.string().default("").describe("Stack and constraints (languages, databases, hosting)."),
  complexity: z.enum(["simple", "medium", "complex"]).default("medium").describe("How much to build."),
  project: projectFolderField
    .optional()
    .describe("Folder inside the workspace root; derived from the task when absent."),
  template: z
    .enum(TEMPLATE_IDS)
    .optional()
    .describe("Scaffold this built-in template even when a model is configured."),
  overwrite: z.boolean().default(false).describe("Replace existing files with different content."),
});

const LEADING_VERBS = /^(please\s+)?(create|build|make|generate|write|scaffold|set\s+up|setup|implement)\s+(an?\s+|the\s+)?/i;

/** Folder name from the task: "Create RAD Crawler with Playwright, …" → "rad-crawler". */
export function projectNameFromTask(task: string): string {
  const head = task.replace(LEADING_VERBS, "").split(/\s+(?:with|using|that|which|for|on)\s+|[,.;:(]/i)[0] ?? "";
  const slug = head
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50)
    .replace(/-+$/, "");
  return slug === "" ? "project" : slug;
}

export const delegateCodeGeneration: WorkspaceTool<typeof input> = {
  name: "delegate_code_generation",
  description:
    "Generates a project into a folder of the workspace. With a model configured the model writes the files for " +
    "task/context/complexity; without one (or with `template`) a built-in template is scaffolded: 'crawler' " +
    "(TypeScript crawler service on Postgres DATABASE_URL + Redis REDIS_URL, GET /health) or 'node-http' " +
    "(plain Node HTTP service). Model output must stay inside the project folder and include a package.json whose " +
    "scripts.start is `node <file>` or `tsx <file>`; nothing is written otherwise. " +
    "Returns { mode, template, project, project_dir, complexity, files } (+ model and usage in model mode), and a rollback " +
    "(delete_generated_files) that removes the folder when this call created it, else only the files it created.",
  input,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  meta: (context) => (context.model === undefined ? { [BACKEND_ESTIMATE_META_KEY]: TEMPLATE_ESTIMATE } : undefined),
  async run(args, context) {
    const project = args.project ?? projectNameFromTask(args.task);
    if (context.model !== undefined && args.template === undefined) {
      const generated = await generateWithModel(context.model, { task: args.task, context: args.context, complexity: args.complexity, project });
      checkStartScript(generated.files);
      const result = await writeProjectFiles(generated.files, { root: context.root, project, overwrite: args.overwrite, field: "files" });
      return {
        mode: "model",
        template: null,
        model: context.model.name,
        project,
        project_dir: result.projectDir,
        complexity: args.complexity,
        files: result.written,
        // With the model name, the usage is this call's cost report: the ledger prices it as a model call of this step.
        ...(generated.usage === undefined ? {} : { usage: { ...generated.usage, model: context.model.name } }),
        ...rollbackOf(project, result),
      };
    }
    const templateId = args.template ?? chooseTemplate(args.task, args.context);
    const files = await getTemplate(templateId).render({ name: project, task: args.task, context: args.context });
    const result = await writeProjectFiles(files, { root: context.root, project, overwrite: args.overwrite, field: "files" });
    // A template scaffold costs nothing: saying so lets the ledger record $0 instead of the declared estimate.
    return {
      mode: "template",
      template: templateId,
      project,
      project_dir: result.projectDir,
      complexity: args.complexity,
      files: result.written,
      cost_usd: 0,
      ...rollbackOf(project, result),
    };
  },
};

/** The undo of what this call created: the folder when it was new, else the new files; nothing when it created nothing. */
function rollbackOf(project: string, result: { created: string[]; folderExisted: boolean }): { rollback?: { tool: string; arguments: Record<string, unknown> } } {
  if (!result.folderExisted) return { rollback: { tool: "delete_generated_files", arguments: { project } } };
  if (result.created.length === 0) return {};
  return { rollback: { tool: "delete_generated_files", arguments: { project, files: result.created } } };
}
