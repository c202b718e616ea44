import { lstat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { WorkspaceError } from "./errors.ts";
import { runFile, type ExecResult } from "./exec.ts";

/** Settings every git call gets: no hooks, no colour, no signing prompts, raw UTF-8 paths. */
const SAFE_CONFIG = ["-c", "core.hooksPath=/dev/null", "-c", "color.ui=false", "-c", "commit.gpgsign=false", "-c", "core.quotepath=false"];

export interface GitOptions {
  timeoutMs: number;
  maxOutputBytes?: number;
  /** Input field a failure is about, for the error message. */
  field?: string;
}

/**
 * Runs `git` (no shell) on the repository at `projectDir` only: `--git-dir`/`--work-tree` are
 * explicit so git never walks up into a repository outside the workspace. Non-zero exits throw
 * unless listed in `okExitCodes`.
 */
export async function git(projectDir: string, args: readonly string[], options: GitOptions, okExitCodes: readonly number[] = [0]): Promise<ExecResult> {
  const repoArgs = ["--git-dir", path.join(projectDir, ".git"), "--work-tree", projectDir];
  const result = await runFile("git", [...SAFE_CONFIG, ...repoArgs, ...args], {
    cwd: projectDir,
    timeoutMs: options.timeoutMs,
    maxOutputBytes: options.maxOutputBytes ?? 5_000_000,
  });
  // The subcommand, after any `-c key=value` settings.
  const command = args.find((arg, i) => arg !== "-c" && args[i - 1] !== "-c") ?? "";
  if (result.timedOut) {
    throw new WorkspaceError("COMMAND_FAILED", `git ${command} timed out after ${options.timeoutMs} ms`, "timeoutMs");
  }
  if (result.exitCode === null || !okExitCodes.includes(result.exitCode)) {
    const field = options.field ?? "project";
    const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(0, 5).join("; ");
    throw new WorkspaceError("COMMAND_FAILED", `${field}: git ${command} failed (exit ${result.exitCode ?? result.signal}): ${detail}`, field);
  }
  return result;
}

/** Checks that the project has its own `.git` directory (not a symlink or a gitdir file). */
export async function requireRepo(projectDir: string, project: string): Promise<void> {
  const info = await lstat(path.join(projectDir, ".git")).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new WorkspaceError("NOT_FOUND", `project: "${project}" is not a git repository (run git_init first)`, "project");
  }
}

/** The checked-out branch, or null when HEAD is detached. */
export async function currentBranch(projectDir: string, timeoutMs: number): Promise<string | null> {
  const result = await git(projectDir, ["symbolic-ref", "--quiet", "--short", "HEAD"], { timeoutMs }, [0, 1]);
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** A ref, branch or commit name: no leading "-" (never an option), no whitespace or control characters. */
export const refField = z.string().regex(/^(?!-)[^\s\0-\x1f~^:?*[\\]+$/, "a git ref name (no leading '-', spaces or ~^:?*[\\)");
