import { z } from "zod";

/**
 * The `outputSchema` of every workspace tool. Plans' `${step.field}` references are checked
 * against these before a run, and MCP clients (ours included) check each result against them,
 * so a field a tool starts returning must be declared here first. Lists of findings and other
 * nested records are declared as lists: their items are read at run time.
 */
const str = z.string();
const bool = z.boolean();
const int = z.number().int();
const num = z.number();
const list = z.array(z.unknown());
const record = z.record(z.string(), z.unknown());
const nullableStr = str.nullable();

/** The call that undoes what a tool made (`git_push` of new branches). */
const rollback = z.object({ tool: str, arguments: record });

/** Fields every runner that executes a command returns. */
const run = { exit_code: int.nullable(), timed_out: bool, truncated: bool, duration_ms: num };

export const WORKSPACE_OUTPUTS: Readonly<Record<string, z.ZodObject>> = {
  delegate_code_generation: z.object({
    mode: z.enum(["model", "template"]),
    template: nullableStr,
    model: str.optional(),
    project: str,
    project_dir: str,
    complexity: str.optional(),
    files: list,
    usage: record.optional(),
    cost_usd: num.optional(),
    rollback: rollback.optional(),
  }),
  run_lint: z.object({
    project: str,
    rules: z.array(str),
    files_checked: int,
    finding_count: int,
    by_rule: z.record(z.string(), int),
    findings: list,
    truncated: bool,
    timed_out: bool,
  }),
  run_typecheck: z.object({
    project: str,
    tsconfig: str.optional(),
    ok: bool,
    error_count: int,
    errors: list,
    ...run,
    hint: str.optional(),
  }),
  run_tests: z.object({
    project: str,
    runner: str,
    script: str,
    total: int,
    passed: int,
    failed: int,
    skipped: int,
    failures: list,
    ok: bool,
    ...run,
    output_tail: str,
  }),
  audit_dependencies: z.object({
    project: str,
    checked: z.array(str),
    not_checked: z.array(str),
    dependency_count: int,
    lockfile: z.object({ file: str, lockfileVersion: z.union([int, z.null()]) }).nullable(),
    finding_count: int,
    findings: list,
  }),
  find_todos: z.object({
    project: str,
    count: int,
    by_kind: z.record(z.string(), int),
    items: list,
    files_scanned: int,
    truncated: bool,
    timed_out: bool,
  }),
  count_lines: z.object({
    project: str,
    languages: list,
    total: z.object({ files: int, code: int, comment: int, blank: int }),
    files_skipped: int,
    timed_out: bool,
  }),
  git_init: z.object({ project: str, project_dir: str, branch: nullableStr, created: bool }),
  git_commit: z.object({
    project: str,
    committed: bool,
    reason: str.optional(),
    commit: str.optional(),
    branch: nullableStr,
    message: str.optional(),
    author: str.optional(),
    files: z.array(str),
  }),
  git_branch: z.object({ project: str, action: str, current: nullableStr, branches: z.array(str) }),
  git_diff: z.object({
    project: str,
    files: list,
    files_changed: int,
    insertions: int,
    deletions: int,
    patch: str,
    patch_truncated: bool,
  }),
  git_status: z.object({
    project: str,
    branch: nullableStr,
    upstream: nullableStr,
    ahead: int,
    behind: int,
    entries: list,
    clean: bool,
    staged: int,
    unstaged: int,
    untracked: int,
    truncated: bool,
  }),
  git_push: z.object({ project: str, remote: str, pushed: z.array(str), created: z.array(str), rollback: rollback.optional() }),
  git_delete_remote_branches: z.object({ project: str, remote: str, deleted: z.array(str) }),
  delete_generated_files: z.object({ project: str, deleted: z.array(str), missing: z.array(str) }),
};

/** A tool without a declared output shape is a programming error: plans could not be checked. */
export function workspaceOutputOf(name: string): z.ZodObject {
  const schema = WORKSPACE_OUTPUTS[name];
  if (!schema) throw new Error(`workspace tool "${name}" has no outputSchema in src/servers/workspace/outputs.ts`);
  return schema;
}
