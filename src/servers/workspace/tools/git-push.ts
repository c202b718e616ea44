import { z } from "zod";
import { WorkspaceError } from "../errors.ts";
import { git, refField, requireRepo } from "../git.ts";
import { resolveProject } from "../paths.ts";
import { projectField, timeoutField, type WorkspaceTool } from "../tool.ts";

/*
 * Pushing to a hosted repository (the `clone_url` a github_create_repo step returns): https, or a
 * bare repository on this machine (file:// URL or absolute path ending in .git, as the local
 * GitHub provider returns). Credentials are git's own (credential helper); ones written into the
 * URL are used but never repeated in outputs, rollbacks or messages. No other transport (ssh,
 * ext::, fd::) is allowed.
 */
const remoteField = z
  .string()
  .refine((remote) => /^https?:\/\/[^\s]+$/.test(remote) || /^(file:\/\/)?\/[^\s]*\.git\/?$/.test(remote), {
    message: "an https:// URL, or a file:// URL or absolute path of a bare repository ending in .git",
  })
  .describe("Where to push: the repository's clone URL.");

const TRANSPORT = ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-c", "protocol.http.allow=always", "-c", "protocol.file.allow=always"];

/** A text with the credentials of any URL in it removed. */
const shown = (text: string): string => text.replace(/\/\/[^/@\s]*@/g, "//");

/** git against the remote; a failure's message names the remote without credentials. */
async function remoteGit(projectDir: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    return (await git(projectDir, [...TRANSPORT, ...args], { timeoutMs, field: "remote" })).stdout;
  } catch (error) {
    if (error instanceof WorkspaceError) throw new WorkspaceError(error.code, shown(error.message), error.field);
    throw error;
  }
}

const remoteBranchesInput = (branches: string) =>
  z.object({ project: projectField, remote: remoteField, branches: z.array(refField).min(1).max(20).describe(branches), timeoutMs: timeoutField });

const pushInput = remoteBranchesInput("Local branches to push, each to the branch of the same name.");

export const gitPush: WorkspaceTool<typeof pushInput> = {
  name: "git_push",
  description:
    "Pushes local branches of a project to a remote repository (https, or a bare repository on this machine), each to the " +
    "branch of the same name, never forced. Returns { remote, pushed, created } and, when it created remote branches, a " +
    "rollback that deletes exactly those (except the remote's default branch, which only goes with the repository).",
  input: pushInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    await requireRepo(projectDir, args.project);
    for (const branch of args.branches) {
      await git(projectDir, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], { timeoutMs: args.timeoutMs }).catch(() => {
        throw new WorkspaceError("INVALID_INPUT", `branches: "${branch}" is not a local branch of ${args.project}`, "branches");
      });
    }
    const existing = await remoteBranches(projectDir, args.remote, args.timeoutMs);
    await remoteGit(projectDir, ["push", "--porcelain", args.remote, ...args.branches.map((b) => `refs/heads/${b}:refs/heads/${b}`)], args.timeoutMs);
    const created = args.branches.filter((b) => !existing.has(b));
    // The remote's default branch cannot be deleted (git and GitHub refuse): it goes with the repository.
    const head = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(await remoteGit(projectDir, ["ls-remote", "--symref", args.remote, "HEAD"], args.timeoutMs))?.[1];
    const undo = created.filter((b) => b !== head);
    return {
      project: args.project,
      remote: shown(args.remote),
      pushed: args.branches,
      created,
      ...(undo.length > 0
        ? { rollback: { tool: "git_delete_remote_branches", arguments: { project: args.project, remote: shown(args.remote), branches: undo } } }
        : {}),
    };
  },
};

const deleteInput = remoteBranchesInput("Remote branches to delete.");

export const gitDeleteRemoteBranches: WorkspaceTool<typeof deleteInput> = {
  name: "git_delete_remote_branches",
  description: "Deletes branches of a remote repository (the undo of a git_push that created them). Returns { remote, deleted } (branches that were there).",
  input: deleteInput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    await requireRepo(projectDir, args.project);
    const existing = await remoteBranches(projectDir, args.remote, args.timeoutMs);
    const deleted = args.branches.filter((b) => existing.has(b));
    if (deleted.length > 0) await remoteGit(projectDir, ["push", "--porcelain", "--delete", args.remote, ...deleted.map((b) => `refs/heads/${b}`)], args.timeoutMs);
    return { project: args.project, remote: shown(args.remote), deleted };
  },
};

async function remoteBranches(projectDir: string, remote: string, timeoutMs: number): Promise<Set<string>> {
  const stdout = await remoteGit(projectDir, ["ls-remote", "--heads", remote], timeoutMs);
  return new Set(
    stdout
      .split("\n")
      .map((line) => line.split("\t")[1] ?? "")
      .filter((ref) => ref.startsWith("refs/heads/"))
      .map((ref) => ref.slice("refs/heads/".length)),
  );
}
