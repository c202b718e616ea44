import { z } from "zod";
import { WorkspaceError } from "../errors.ts";
import { currentBranch, git, refField, requireRepo } from "../git.ts";
import { resolveProject } from "../paths.ts";
import { projectField, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({
  project: projectField,
  action: z.enum(["list", "create", "checkout"]).default("list").describe("list branches, create one, or check one out."),
  name: refField.optional().describe("Branch to create or check out."),
  from: refField.optional().describe("Start point of a created branch (default HEAD)."),
  checkout: z.boolean().default(false).describe("With create: also check the new branch out."),
  timeoutMs: timeoutField,
});

export const gitBranch: WorkspaceTool<typeof input> = {
  name: "git_branch",
  description:
    "Lists, creates (optionally from a start point and checked out) or checks out branches of a project's repository. " +
    "Returns { action, current, branches }.",
  input,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    await requireRepo(projectDir, args.project);
    const options = { timeoutMs: args.timeoutMs, field: "name" };
    if (args.action !== "list") {
      if (args.name === undefined) throw new WorkspaceError("INVALID_INPUT", `name: required for action "${args.action}"`, "name");
      await git(projectDir, ["check-ref-format", "--branch", args.name], options);
      if (args.action === "checkout") await git(projectDir, ["switch", "--quiet", args.name], options);
      else if (args.checkout) await git(projectDir, ["switch", "--quiet", "--create", args.name, ...(args.from ? [args.from] : [])], options);
      else await git(projectDir, ["branch", args.name, ...(args.from ? [args.from] : [])], options);
    }
    const list = await git(projectDir, ["branch", "--list", "--format=%(refname:short)"], options);
    return {
      project: args.project,
      action: args.action,
      current: await currentBranch(projectDir, args.timeoutMs),
      branches: list.stdout.split("\n").filter((line) => line !== ""),
    };
  },
};
