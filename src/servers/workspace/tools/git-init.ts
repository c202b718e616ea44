import { lstat, mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { currentBranch, git, refField } from "../git.ts";
import { resolveInside } from "../paths.ts";
import { projectField, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({
  project: projectField,
  branch: refField.default("main").describe("Initial branch (default main)."),
  timeoutMs: timeoutField,
});

export const gitInit: WorkspaceTool<typeof input> = {
  name: "git_init",
  description:
    "Creates the project folder if needed and initialises a git repository in it (initial branch main). " +
    "Returns { project_dir, branch, created } (created is false when it already was a repository; branch is then its current one).",
  input,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, context) {
    const projectDir = await resolveInside(context.root, args.project, "project");
    await mkdir(projectDir, { recursive: true });
    const existed = (await lstat(path.join(projectDir, ".git")).catch(() => undefined)) !== undefined;
    if (!existed) await git(projectDir, ["init", "--quiet", `--initial-branch=${args.branch}`, projectDir], { timeoutMs: args.timeoutMs, field: "branch" });
    const branch = existed ? await currentBranch(projectDir, args.timeoutMs) : args.branch;
    return { project: args.project, project_dir: projectDir, branch, created: !existed };
  },
};
