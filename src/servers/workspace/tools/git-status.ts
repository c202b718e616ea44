import { z } from "zod";
import { git, requireRepo } from "../git.ts";
import { resolveProject } from "../paths.ts";
import { projectField, readOnly, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({ project: projectField, timeoutMs: timeoutField });

interface StatusEntry {
  path: string;
  /** Porcelain X: status in the index (" " unchanged, M, A, D, R, C, U, ?). */
  index: string;
  /** Porcelain Y: status in the work tree. */
  worktree: string;
  orig_path?: string;
}

interface ParsedStatus {
  branch: string | null;
  upstream: string | null;
  ahead: number;
  behind: number;
  entries: StatusEntry[];
}

/** Parses `git status --porcelain=v1 --branch -z`. */
function parsePorcelain(output: string): ParsedStatus {
  const tokens = output.split("\0");
  const status: ParsedStatus = { branch: null, upstream: null, ahead: 0, behind: 0, entries: [] };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? "";
    if (token.startsWith("## ")) {
      const header = token.slice(3);
      const noCommits = /^No commits yet on (.+)$/.exec(header);
      const [, branch = "", upstream] = /^(.+?)(?:\.\.\.(\S+))?(?: \[.*\])?$/.exec(header) ?? [];
      status.branch = noCommits ? (noCommits[1] ?? null) : header.startsWith("HEAD (no branch)") ? null : branch;
      status.upstream = noCommits ? null : (upstream ?? null);
      status.ahead = Number(/ahead (\d+)/.exec(header)?.[1] ?? 0);
      status.behind = Number(/behind (\d+)/.exec(header)?.[1] ?? 0);
    } else if (token.length > 3) {
      const entry: StatusEntry = { path: token.slice(3), index: token[0] ?? " ", worktree: token[1] ?? " " };
      if (entry.index === "R" || entry.index === "C" || entry.worktree === "R" || entry.worktree === "C") {
        entry.orig_path = tokens[i + 1] ?? "";
        i += 1;
      }
      status.entries.push(entry);
    }
  }
  return status;
}

export const gitStatus: WorkspaceTool<typeof input> = {
  name: "git_status",
  description:
    "Working-tree status of a project's repository (porcelain, parsed). Returns { branch, upstream, ahead, behind, clean, " +
    "staged, unstaged, untracked, entries: [{ path, index, worktree, orig_path? }], truncated }.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    await requireRepo(projectDir, args.project);
    const result = await git(projectDir, ["status", "--porcelain=v1", "--branch", "-z", "--untracked-files=all"], { timeoutMs: args.timeoutMs });
    const status = parsePorcelain(result.stdout);
    const untracked = status.entries.filter((entry) => entry.index === "?").length;
    return {
      project: args.project,
      ...status,
      clean: status.entries.length === 0,
      staged: status.entries.filter((entry) => entry.index !== " " && entry.index !== "?").length,
      unstaged: status.entries.filter((entry) => entry.worktree !== " " && entry.worktree !== "?").length,
      untracked,
      truncated: result.truncated,
    };
  },
};
