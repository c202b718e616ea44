import { lstat, rm, rmdir, unlink } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { WorkspaceError } from "../errors.ts";
import { isWithin, resolveInside } from "../paths.ts";
import type { WorkspaceTool } from "../tool.ts";
import { projectFolderField } from "./delegate-code-generation.ts";

const input = z.object({
  project: projectFolderField.describe("Project folder inside the workspace root."),
  files: z
    .array(z.string().min(1))
    .max(200)
    .optional()
    .describe("Files to delete, relative to the project folder; without it the whole project folder is deleted."),
});

/**
 * The undo of `delegate_code_generation`: the folder it created, or, when the folder was there
 * before, only the files it created (and the folders they leave empty). Files the call overwrote
 * cannot be restored and are not touched.
 */
export const deleteGeneratedFiles: WorkspaceTool<typeof input> = {
  name: "delete_generated_files",
  description:
    "Deletes what delegate_code_generation created (its rollback): the project folder, or only the listed files when the folder " +
    "existed before, plus folders they leave empty. Returns { project, deleted, missing } (paths relative to the project).",
  input,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, context) {
    const projectDir = await resolveInside(context.root, args.project, "project");
    if (projectDir === path.resolve(context.root)) throw new WorkspaceError("INVALID_INPUT", "project: must name a folder inside the workspace root, not the root", "project");
    if (args.files === undefined) {
      const existed = await lstat(projectDir).then(() => true, () => false);
      await rm(projectDir, { recursive: true, force: true });
      return { project: args.project, deleted: existed ? ["."] : [], missing: existed ? [] : ["."] };
    }
    const deleted: string[] = [];
    const missing: string[] = [];
    for (const [index, file] of args.files.entries()) {
      const target = await resolveInside(projectDir, file, `files[${index}]`);
      if (!isWithin(projectDir, target) || target === projectDir) {
        throw new WorkspaceError("OUTSIDE_ROOT", `files[${index}]: "${file}" is outside the project folder "${args.project}"`, `files[${index}]`);
      }
      const gone = await unlink(target).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return false;
          throw new WorkspaceError("COMMAND_FAILED", `files[${index}]: cannot delete "${file}": ${error.message}`, `files[${index}]`);
        },
      );
      (gone ? deleted : missing).push(file);
      // Folders the generation made for its files go too, once empty; rmdir refuses a non-empty one.
      for (let dir = path.dirname(target); dir !== projectDir && isWithin(projectDir, dir); dir = path.dirname(dir)) {
        if (!(await rmdir(dir).then(() => true, () => false))) break;
      }
    }
    return { project: args.project, deleted, missing };
  },
};
