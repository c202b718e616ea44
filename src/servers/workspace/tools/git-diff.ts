import path from "node:path";
import { z } from "zod";
import { git, refField, requireRepo } from "../git.ts";
import { resolveInside, resolveProject } from "../paths.ts";
import { projectField, readOnly, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({
  project: projectField,
  staged: z.boolean().default(false).describe("Diff the index against HEAD instead of the work tree against the index."),
  base: refField.optional().describe("Compare against this commit or branch."),
  paths: z.array(z.string().min(1)).optional().describe("Limit to these paths (relative to the project)."),
  maxPatchBytes: z.number().int().positive().max(10_000_000).default(100_000).describe("Cut the patch at this many bytes (default 100000)."),
  timeoutMs: timeoutField,
});

interface DiffStat {
  path: string;
  added: number | null;
  deleted: number | null;
  binary: boolean;
}

export const gitDiff: WorkspaceTool<typeof input> = {
  name: "git_diff",
  description:
    "Shows a project's changes: per-file stat and the patch (cut at maxPatchBytes). Untracked files are not part of a diff. " +
    "Returns { files: [{ path, added, deleted, binary }], files_changed, insertions, deletions, patch, patch_truncated }.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    await requireRepo(projectDir, args.project);
    const pathspecs: string[] = [];
    for (const [index, relative] of (args.paths ?? []).entries()) {
      pathspecs.push(path.relative(projectDir, await resolveInside(projectDir, relative, `paths[${index}]`)) || ".");
    }
    const selection = [...(args.staged ? ["--cached"] : []), ...(args.base ? [args.base] : []), "--", ...pathspecs];
    const numstat = await git(projectDir, ["diff", "--numstat", "-z", ...selection], { timeoutMs: args.timeoutMs, field: "base" });
    const patch = await git(projectDir, ["diff", "--no-ext-diff", ...selection], { timeoutMs: args.timeoutMs, maxOutputBytes: args.maxPatchBytes, field: "base" });
    const files = parseNumstat(numstat.stdout);
    return {
      project: args.project,
      files,
      files_changed: files.length,
      insertions: files.reduce((sum, file) => sum + (file.added ?? 0), 0),
      deletions: files.reduce((sum, file) => sum + (file.deleted ?? 0), 0),
      patch: patch.stdout,
      patch_truncated: patch.truncated,
    };
  },
};

/** Parses `git diff --numstat -z` (renames carry two extra NUL-separated paths). */
function parseNumstat(output: string): DiffStat[] {
  const tokens = output.split("\0");
  const stats: DiffStat[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const match = /^(\d+|-)\t(\d+|-)\t(.*)$/s.exec(tokens[i] ?? "");
    if (!match) continue;
    const [, added = "-", deleted = "-", rest = ""] = match;
    let file = rest;
    if (rest === "") {
      file = tokens[i + 2] ?? "";
      i += 2;
    }
    const binary = added === "-";
    stats.push({ path: file, added: binary ? null : Number(added), deleted: binary ? null : Number(deleted), binary });
  }
  return stats;
}
