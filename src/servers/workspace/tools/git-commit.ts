import path from "node:path";
import { z } from "zod";
import { currentBranch, git, requireRepo } from "../git.ts";
import { resolveInside, resolveProject } from "../paths.ts";
import { projectField, timeoutField, type WorkspaceTool } from "../tool.ts";

const DEFAULT_AUTHOR = "credit-optimizer <credit-optimizer@localhost>";

const input = z.object({
  project: projectField,
  message: z.string().trim().min(1).describe("Commit message."),
  paths: z.array(z.string().min(1)).min(1).optional().describe("Commit only these paths (relative to the project); all changes when absent."),
  author: z
    .string()
    .regex(/^[^<>\n]+ <[^<>\s]+>$/, 'an author as "Name <email>"')
    .default(DEFAULT_AUTHOR)
    .describe(`Author and committer, "Name <email>" (default "${DEFAULT_AUTHOR}").`),
  timeoutMs: timeoutField,
});

export const gitCommit: WorkspaceTool<typeof input> = {
  name: "git_commit",
  description:
    "Stages and commits all changes of a project (or only `paths`). Returns { committed, commit, branch, message, author, files }; " +
    "committed is false when there was nothing to commit.",
  input,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    await requireRepo(projectDir, args.project);
    const pathspecs: string[] = [];
    for (const [index, relative] of (args.paths ?? ["."]).entries()) {
      const absolute = await resolveInside(projectDir, relative, args.paths ? `paths[${index}]` : "project");
      pathspecs.push(path.relative(projectDir, absolute) || ".");
    }
    const options = { timeoutMs: args.timeoutMs };
    await git(projectDir, ["add", "--all", "--", ...pathspecs], { ...options, field: "paths" });
    const staged = await git(projectDir, ["diff", "--cached", "--quiet", "--", ...pathspecs], options, [0, 1]);
    const branch = await currentBranch(projectDir, args.timeoutMs);
    if (staged.exitCode === 0) {
      return { project: args.project, committed: false, reason: "nothing to commit", branch, files: [] };
    }
    const [, name = "", email = ""] = /^(.*) <(.*)>$/.exec(args.author) ?? [];
    const identity = ["-c", `user.name=${name}`, "-c", `user.email=${email}`];
    await git(projectDir, [...identity, "commit", "--quiet", "--no-verify", `--author=${args.author}`, "-m", args.message, "--", ...pathspecs], options);
    const head = await git(projectDir, ["rev-parse", "HEAD"], options);
    const files = await git(projectDir, ["show", "--name-only", "--format=", "HEAD"], options);
    return {
      project: args.project,
      committed: true,
      commit: head.stdout.trim(),
      branch,
      message: args.message,
      author: args.author,
      files: files.stdout.split("\n").filter((line) => line !== ""),
    };
  },
};
