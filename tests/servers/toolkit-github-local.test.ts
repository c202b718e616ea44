import { execFile } from "node:child_process";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { githubTools } from "../../src/servers/toolkit/providers/github.ts";
import { isLocalGitError } from "../../src/servers/toolkit/providers/local/git.ts";
import type { ToolkitEnv, ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { checkedTool } from "./toolkit-core-client.ts";

const git = promisify(execFile);
const IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@localhost"];

function tool(name: string): ToolkitTool {
  return checkedTool(githubTools, name);
}

let root: string;
let env: ToolkitEnv;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "toolkit-github-local-"));
  env = { dataDir: path.join(root, "data"), localPostgresUrl: "postgres://127.0.0.1:1/none", localRedisUrl: "redis://127.0.0.1:1" };
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const bare = (owner: string, name: string): string => path.join(root, "data", "git", owner, `${name}.git`);

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Clones the local repo, commits on a new branch and pushes it, like a developer would. */
async function pushBranch(owner: string, name: string, branch: string): Promise<void> {
  const work = path.join(root, `work-${branch}`);
  await git("git", ["clone", "--quiet", bare(owner, name), work]);
  await git("git", ["-C", work, "checkout", "--quiet", "-b", branch]);
  await git("git", ["-C", work, ...IDENTITY, "commit", "--quiet", "--allow-empty", "-m", `work on ${branch}`]);
  await git("git", ["-C", work, "push", "--quiet", "origin", branch]);
}

describe("local github backend: repositories", () => {
  it("creates a bare repo with a first commit on main, idempotently, and deletes it", async () => {
    const created = await tool("github_create_repo").run({ name: "rad-crawler", description: "The crawler" }, env);
    const url = `file://${bare("local", "rad-crawler")}`;
    expect(created).toEqual({
      owner: "local",
      name: "rad-crawler",
      full_name: "local/rad-crawler",
      html_url: url,
      clone_url: url,
      default_branch: "main",
      private: true,
      created: true,
    });
    const { stdout } = await git("git", ["--git-dir", bare("local", "rad-crawler"), "log", "--format=%s", "main"]);
    expect(stdout.trim()).toBe("Initial commit");
    expect(await readFile(path.join(bare("local", "rad-crawler"), "description"), "utf8")).toBe("The crawler\n");
    expect(tool("github_create_repo").rollback?.({}, created)).toEqual({ tool: "github_delete_repo", arguments: { owner: "local", name: "rad-crawler" } });

    const again = await tool("github_create_repo").run({ name: "rad-crawler" }, env);
    expect(again.created).toBe(false);
    expect(tool("github_create_repo").rollback?.({}, again)).toBeUndefined();

    expect(await tool("github_delete_repo").run({ name: "rad-crawler" }, env)).toEqual({ full_name: "local/rad-crawler", deleted: true, existed: true });
    expect(await exists(bare("local", "rad-crawler"))).toBe(false);
    expect(await tool("github_delete_repo").run({ name: "rad-crawler" }, env)).toEqual({ full_name: "local/rad-crawler", deleted: true, existed: false });
  });

  it("creates an empty repo without auto_init, under the given owner, that can be cloned and pushed to", async () => {
    await tool("github_create_repo").run({ name: "empty", owner: "acme", auto_init: false }, env);
    const refs = await git("git", ["--git-dir", bare("acme", "empty"), "for-each-ref"]);
    expect(refs.stdout).toBe("");
    const work = path.join(root, "work");
    await git("git", ["clone", "--quiet", bare("acme", "empty"), work]);
    await git("git", ["-C", work, ...IDENTITY, "commit", "--quiet", "--allow-empty", "-m", "first"]);
    await git("git", ["-C", work, "push", "--quiet", "origin", "HEAD:main"]);
    const { stdout } = await git("git", ["--git-dir", bare("acme", "empty"), "log", "--format=%s", "main"]);
    expect(stdout.trim()).toBe("first");
  });
});

describe("local github backend: pull requests", () => {
  it("opens, deduplicates and closes a pull request between two existing branches", async () => {
    await tool("github_create_repo").run({ name: "app" }, env);
    await pushBranch("local", "app", "feature");
    const opened = await tool("github_create_pull_request").run({ repo: "app", title: "Add crawler", head: "feature" }, env);
    expect(opened).toMatchObject({ number: 1, state: "open", title: "Add crawler", head: "feature", base: "main", owner: "local", repo: "app", created: true });
    expect(opened.html_url).toBe(`file://${path.join(root, "data", "git", "local", "app.pulls.json")}#1`);
    expect(tool("github_create_pull_request").rollback?.({}, opened)).toEqual({
      tool: "github_close_pull_request",
      arguments: { owner: "local", repo: "app", number: 1 },
    });

    const duplicate = await tool("github_create_pull_request").run({ repo: "app", title: "Again", head: "local:feature" }, env);
    expect(duplicate).toMatchObject({ number: 1, title: "Add crawler", created: false });

    expect(await tool("github_close_pull_request").run({ repo: "app", number: 1 }, env)).toMatchObject({ number: 1, state: "closed" });
    const reopened = await tool("github_create_pull_request").run({ repo: "app", title: "Take two", head: "feature" }, env);
    expect(reopened).toMatchObject({ number: 2, state: "open", created: true });
  });

  it("refuses pull requests that cannot be real, saying why", async () => {
    await tool("github_create_repo").run({ name: "app" }, env);
    const missingBranch = await tool("github_create_pull_request").run({ repo: "app", title: "x", head: "nope" }, env).catch((e: unknown) => e);
    expect(isLocalGitError(missingBranch) && missingBranch.code).toBe("INVALID");
    expect((missingBranch as Error).message).toMatch(/head: branch "nope" does not exist in local\/app/);

    const unknownRepo = await tool("github_create_pull_request").run({ repo: "elsewhere", title: "x", head: "feature" }, env).catch((e: unknown) => e);
    expect(isLocalGitError(unknownRepo) && unknownRepo.code).toBe("UNSUPPORTED");
    expect((unknownRepo as Error).message).toMatch(/not supported by the local provider/);

    await pushBranch("local", "app", "feature");
    await expect(tool("github_create_pull_request").run({ repo: "app", title: "x", head: "someone:feature" }, env)).rejects.toThrow(
      /cross-repository pull requests \(someone:feature\) are not supported by the local provider/,
    );
    await expect(tool("github_create_pull_request").run({ repo: "app", title: "x", head: "main", base: "main" }, env)).rejects.toThrow(
      /head and base are both "main"/,
    );
    await expect(tool("github_close_pull_request").run({ repo: "app", number: 7 }, env)).rejects.toThrow(/pull request #7 does not exist/);
  });

  it("removes a repo's pull requests with the repo", async () => {
    await tool("github_create_repo").run({ name: "app" }, env);
    await pushBranch("local", "app", "feature");
    await tool("github_create_pull_request").run({ repo: "app", title: "x", head: "feature" }, env);
    await tool("github_delete_repo").run({ name: "app" }, env);
    expect(await exists(path.join(root, "data", "git", "local", "app.pulls.json"))).toBe(false);
    await tool("github_create_repo").run({ name: "app" }, env);
    await expect(tool("github_close_pull_request").run({ repo: "app", number: 1 }, env)).rejects.toThrow(/#1 does not exist/);
  });
});
