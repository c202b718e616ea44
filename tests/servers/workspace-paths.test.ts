import { mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWorkspaceError } from "../../src/servers/workspace/errors.ts";
import { resolveInside } from "../../src/servers/workspace/paths.ts";
import { createWorkspaceServer } from "../../src/servers/workspace/server.ts";

let base: string;
let root: string;
let outside: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), "ws-paths-")));
  root = path.join(base, "root");
  outside = path.join(base, "outside");
  await mkdir(path.join(root, "app", "src"), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, "secret.txt"), "secret");
  await writeFile(path.join(root, "app", "package.json"), "{}");
  await symlink(outside, path.join(root, "escape-dir"));
  await symlink(path.join(outside, "secret.txt"), path.join(root, "escape-file"));
  await symlink(path.join(outside, "missing"), path.join(root, "dangling"));
  await symlink(path.join(root, "app"), path.join(root, "app-link"));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function refused(relative: string): Promise<string> {
  try {
    await resolveInside(root, relative, "path");
  } catch (error) {
    expect(isWorkspaceError(error)).toBe(true);
    if (isWorkspaceError(error)) expect(error.code).toBe("OUTSIDE_ROOT");
    return (error as Error).message;
  }
  throw new Error(`"${relative}" was not refused`);
}

describe("resolveInside", () => {
  it("resolves relative paths, existing or not, inside the root", async () => {
    expect(await resolveInside(root, "app/src")).toBe(path.join(root, "app", "src"));
    expect(await resolveInside(root, "app/new/deep/file.ts")).toBe(path.join(root, "app", "new", "deep", "file.ts"));
    expect(await resolveInside(root, "app/../app/package.json")).toBe(path.join(root, "app", "package.json"));
    expect(await resolveInside(root, ".")).toBe(root);
  });

  it("accepts absolute paths inside the root and symlinks that stay inside", async () => {
    expect(await resolveInside(root, path.join(root, "app"))).toBe(path.join(root, "app"));
    expect(await resolveInside(root, "app-link/package.json")).toBe(path.join(root, "app", "package.json"));
  });

  it("refuses absolute paths outside the root", async () => {
    expect(await refused("/etc/passwd")).toContain("outside the workspace root");
    expect(await refused(outside)).toContain("path:");
  });

  it("refuses .. escapes", async () => {
    expect(await refused("../outside/secret.txt")).toContain("outside the workspace root");
    expect(await refused("app/../../outside")).toContain('"app/../../outside"');
  });

  it("refuses symlinks leaving the root: to a folder, to a file, below a link, and dangling", async () => {
    expect(await refused("escape-dir")).toContain("symlink");
    expect(await refused("escape-dir/secret.txt")).toContain("symlink");
    expect(await refused("escape-dir/new/file.txt")).toContain("symlink");
    expect(await refused("escape-file")).toContain("symlink");
    expect(await refused("dangling")).toContain("dangling symlink");
    expect(await refused("dangling/child")).toContain("dangling symlink");
  });

  it("names the field in the message", async () => {
    await expect(resolveInside(root, "../x", "tsconfig")).rejects.toThrow(/^tsconfig: /);
  });
});

describe("tools refuse paths outside the root", () => {
  let client: Client;

  beforeAll(async () => {
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await createWorkspaceServer({ root }).connect(serverTransport);
    client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(clientTransport);
  });

  afterAll(async () => {
    await client.close();
  });

  async function callError(name: string, args: Record<string, unknown>): Promise<string> {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    expect(result.isError).toBe(true);
    const [first] = result.content;
    return first?.type === "text" ? first.text : "";
  }

  it.each([
    ["run_lint", { project: "../outside" }],
    ["run_typecheck", { project: "escape-dir" }],
    ["run_tests", { project: "/etc" }],
    ["audit_dependencies", { project: "app/../../outside" }],
    ["find_todos", { project: "escape-dir" }],
    ["count_lines", { project: "/" }],
    ["git_init", { project: "escape-dir/repo" }],
    ["git_status", { project: "../outside" }],
    ["git_commit", { project: "escape-dir", message: "x" }],
    ["git_branch", { project: "dangling" }],
    ["git_diff", { project: "../" }],
    ["git_push", { project: "escape-dir", remote: "/tmp/remote.git", branches: ["main"] }],
    ["git_delete_remote_branches", { project: "../outside", remote: "/tmp/remote.git", branches: ["main"] }],
    ["delete_generated_files", { project: "escape-dir" }],
  ])("%s refuses %j", async (name, args) => {
    expect(await callError(name, args)).toMatch(/^project: .*(outside the workspace root|symlink)/);
  });

  it("delegate_code_generation refuses a project escaping through a symlink and writes nothing outside", async () => {
    const message = await callError("delegate_code_generation", { task: "crawler", project: "escape-dir" });
    expect(message).toMatch(/symlink/);
    expect(await readdir(outside)).toEqual(["secret.txt"]);
  });

  it("delete_generated_files refuses files outside the project and deletes nothing", async () => {
    await client.callTool({ name: "delegate_code_generation", arguments: { task: "x", template: "node-http", project: "kept" } });
    expect(await callError("delete_generated_files", { project: "kept", files: ["../../outside/secret.txt"] })).toMatch(/^files\[0\]: .*outside/);
    expect(await readdir(outside)).toEqual(["secret.txt"]);
  });

  it("run_typecheck refuses a tsconfig outside the project", async () => {
    expect(await callError("run_typecheck", { project: "app", tsconfig: "../../outside/tsconfig.json" })).toMatch(/^tsconfig: /);
  });

  it("git_commit refuses paths outside the project", async () => {
    await client.callTool({ name: "git_init", arguments: { project: "app" } });
    expect(await callError("git_commit", { project: "app", message: "x", paths: ["../escape-file"] })).toMatch(/^paths\[0\]: /);
  });
});
