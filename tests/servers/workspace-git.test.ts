import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWorkspace, type WorkspaceClient } from "../helpers/workspace.ts";

let base: string;
let root: string;
let ws: WorkspaceClient;
const call = (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => ws.call(name, args);
const callError = (name: string, args: Record<string, unknown>): Promise<string> => ws.callError(name, args);

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), "ws-git-")));
  // The root sits inside another repository: tools must never touch that one.
  execFileSync("git", ["init", "--quiet", base]);
  root = path.join(base, "root");
  await mkdir(root);
  ws = await connectWorkspace(root);
});

afterAll(async () => {
  await ws.close();
  await rm(base, { recursive: true, force: true });
});

describe("git tools", () => {
  it("round trip: init, status, commit, branch, diff", async () => {
    const init = await call("git_init", { project: "app" });
    expect(init).toMatchObject({ project_dir: path.join(root, "app"), branch: "main", created: true });
    expect(await call("git_init", { project: "app" })).toMatchObject({ created: false, branch: "main" });

    const dir = path.join(root, "app");
    await writeFile(path.join(dir, "a.txt"), "one\ntwo\n");
    await mkdir(path.join(dir, "src"));
    await writeFile(path.join(dir, "src", "b.ts"), "export const b = 1;\n");
    const before = await call("git_status", { project: "app" });
    expect(before).toMatchObject({ branch: "main", clean: false, untracked: 2, staged: 0, unstaged: 0 });
    expect(before.entries).toEqual([
      { path: "a.txt", index: "?", worktree: "?" },
      { path: "src/b.ts", index: "?", worktree: "?" },
    ]);

    const first = await call("git_commit", { project: "app", message: "Initial commit" });
    expect(first).toMatchObject({ committed: true, branch: "main", author: "credit-optimizer <credit-optimizer@localhost>" });
    expect(first.files).toEqual(["a.txt", "src/b.ts"]);
    expect(first.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(execFileSync("git", ["-C", dir, "log", "--format=%an <%ae>|%s"]).toString().trim()).toBe("credit-optimizer <credit-optimizer@localhost>|Initial commit");
    expect(await call("git_status", { project: "app" })).toMatchObject({ clean: true, entries: [] });
    expect(await call("git_commit", { project: "app", message: "again" })).toMatchObject({ committed: false, reason: "nothing to commit" });

    expect(await call("git_branch", { project: "app", action: "create", name: "feature/x" })).toMatchObject({
      current: "main",
      branches: ["feature/x", "main"],
    });
    expect(await call("git_branch", { project: "app", action: "checkout", name: "feature/x" })).toMatchObject({ current: "feature/x" });

    await writeFile(path.join(dir, "a.txt"), "one\nTWO\nthree\n");
    await writeFile(path.join(dir, "src", "b.ts"), "export const b = 2;\n");
    const diff = await call("git_diff", { project: "app" });
    expect(diff).toMatchObject({ files_changed: 2, insertions: 3, deletions: 2, patch_truncated: false });
    expect(diff.files).toEqual([
      { path: "a.txt", added: 2, deleted: 1, binary: false },
      { path: "src/b.ts", added: 1, deleted: 1, binary: false },
    ]);
    expect(diff.patch).toContain("+TWO");
    const cut = await call("git_diff", { project: "app", maxPatchBytes: 50 });
    expect(cut.patch_truncated).toBe(true);
    expect((cut.patch as string).length).toBeLessThanOrEqual(50);
    expect(await call("git_diff", { project: "app", paths: ["src"] })).toMatchObject({ files_changed: 1 });

    const partial = await call("git_commit", { project: "app", message: "Only a", paths: ["a.txt"], author: "Ada <ada@example.com>" });
    expect(partial).toMatchObject({ committed: true, branch: "feature/x", files: ["a.txt"], author: "Ada <ada@example.com>" });
    const status = await call("git_status", { project: "app" });
    expect(status.entries).toEqual([{ path: "src/b.ts", index: " ", worktree: "M" }]);
    expect(status).toMatchObject({ unstaged: 1, staged: 0 });
    expect(await call("git_diff", { project: "app", base: "main" })).toMatchObject({ files_changed: 2 });

    execFileSync("git", ["-C", dir, "mv", "a.txt", "renamed.txt"]);
    const renamed = await call("git_status", { project: "app" });
    expect(renamed.entries).toEqual([
      { path: "renamed.txt", index: "R", worktree: " ", orig_path: "a.txt" },
      { path: "src/b.ts", index: " ", worktree: "M" },
    ]);
    expect((await call("git_diff", { project: "app", staged: true })).files).toEqual([{ path: "renamed.txt", added: 0, deleted: 0, binary: false }]);
    await call("git_commit", { project: "app", message: "Rename and change b" });

    await call("git_branch", { project: "app", action: "create", name: "hotfix", from: "main", checkout: true });
    expect(await call("git_branch", { project: "app" })).toMatchObject({ current: "hotfix", branches: ["feature/x", "hotfix", "main"] });
  });

  it("leaves the repository the root lives in untouched", () => {
    expect(execFileSync("git", ["-C", base, "status", "--porcelain"]).toString()).toBe("?? root/\n");
    expect(() => execFileSync("git", ["-C", base, "rev-parse", "HEAD"], { stdio: "ignore" })).toThrow();
  });

  it("refuses a folder that is not its own repository", async () => {
    await mkdir(path.join(root, "plain"));
    expect(await callError("git_status", { project: "plain" })).toMatch(/^project: "plain" is not a git repository/);
  });

  it("names the field of bad inputs", async () => {
    expect(await callError("git_branch", { project: "app", action: "create" })).toMatch(/^name: required/);
    expect(await callError("git_branch", { project: "app", action: "create", name: "--force" })).toContain("name");
    expect(await callError("git_branch", { project: "app", action: "checkout", name: "nope" })).toMatch(/^name: git switch failed/);
    expect(await callError("git_diff", { project: "app", base: "no-such-ref" })).toMatch(/^base: git diff failed/);
    expect(await callError("git_commit", { project: "app", message: "" })).toContain("message");
    expect(await callError("git_commit", { project: "app", message: "x", author: "no email" })).toContain("author");
    expect(await callError("git_branch", { project: "app", action: "rename" })).toContain("action");
  });
});

describe("git_push", () => {
  it("pushes branches to a bare repository, creating only the new ones, and its rollback deletes exactly those", async () => {
    const remote = path.join(base, "remote.git");
    execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", remote]);
    const heads = (): string[] =>
      execFileSync("git", ["--git-dir", remote, "for-each-ref", "--format=%(refname:short)", "refs/heads"]).toString().split("\n").filter(Boolean);

    const first = await call("git_push", { project: "app", remote, branches: ["main"] });
    expect(first).toMatchObject({ pushed: ["main"], created: ["main"] });
    expect(first).not.toHaveProperty("rollback"); // main became the remote's default branch: it goes with the repository
    expect(heads()).toEqual(["main"]);
    const url = `file://${remote}`;
    const second = await call("git_push", { project: "app", remote: url, branches: ["main", "hotfix"] });
    expect(second).toMatchObject({ pushed: ["main", "hotfix"], created: ["hotfix"] });
    expect(second.rollback).toEqual({ tool: "git_delete_remote_branches", arguments: { project: "app", remote: url, branches: ["hotfix"] } });
    expect(execFileSync("git", ["--git-dir", remote, "rev-parse", "hotfix"]).toString()).toBe(execFileSync("git", ["-C", path.join(root, "app"), "rev-parse", "hotfix"]).toString());

    const rollback = second.rollback as { tool: string; arguments: Record<string, unknown> };
    expect(await call(rollback.tool, rollback.arguments)).toMatchObject({ deleted: ["hotfix"] });
    expect(heads()).toEqual(["main"]);
    expect(await call(rollback.tool, rollback.arguments)).toMatchObject({ deleted: [] });
  });

  it("refuses other transports and unknown branches, naming the field, with no credentials in messages", async () => {
    expect(await callError("git_push", { project: "app", remote: "ext::sh -c touch% /tmp/pwned", branches: ["main"] })).toContain("remote");
    expect(await callError("git_push", { project: "app", remote: "relative/remote.git", branches: ["main"] })).toContain("remote");
    expect(await callError("git_push", { project: "app", remote: path.join(base, "remote.git"), branches: ["no-such-branch"] })).toMatch(
      /^branches: "no-such-branch" is not a local branch/,
    );
    const text = await callError("git_push", { project: "app", remote: "http://user:s3cr3t-token@127.0.0.1:1/repo.git", branches: ["main"] });
    expect(text).toMatch(/^remote: git ls-remote failed/);
    expect(text).not.toContain("s3cr3t-token");
  });
});
