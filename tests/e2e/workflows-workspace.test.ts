import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../../src/cli/io.ts";
import { loadConfig, type AppConfig } from "../../src/config.ts";
import type { Report } from "../../agents/types.ts";
import type { RunContext } from "../../src/engine/run-step.ts";
import { main } from "../../src/cli/main.ts";
import { openRoot, type Root } from "../../src/run/root.ts";
import { runWorkflow, undoRun } from "../helpers/pipeline.ts";
import type { Plan } from "../../src/plan/schema.ts";
import { getWorkflow } from "../../src/workflows/index.ts";
import { expectSucceeded, failingAtTheEnd, stepOutput } from "../helpers/workflow-runs.ts";

/*
 * The code-quality and development templates end to end on the built-in servers, in a temporary
 * workspace: the reports must show what is really in the projects (findings, failures, commits,
 * branches); the ones that create things also run with a failing last step.
 */

let home: string;
let config: AppConfig;
let root: Root;
let ctx: RunContext;
const succeeded: Report[] = [];
let neonProjectId: string;

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), "co-wf-workspace-"));
  config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), PATH: process.env.PATH }, home);
  root = await openRoot(config);
  ctx = await root.context();
  const project = (await ctx.caller.call("toolkit", "neon_create_project", { name: unique("wsdb") })) as { project_id: string };
  neonProjectId = project.project_id;
  writeFixture();
});

afterAll(async () => {
  for (const report of succeeded.reverse()) await undoRun(report, ctx);
  if (neonProjectId) await ctx.caller.call("toolkit", "neon_delete_project", { project_id: neonProjectId });
  await root?.close();
  rmSync(home, { recursive: true, force: true });
});

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

async function run(id: string, values: Record<string, unknown>, transform?: (plan: Plan) => Plan): Promise<Report> {
  const report = await runWorkflow(root, getWorkflow(id)!, values, { transform });
  if (report.status === "succeeded") succeeded.push(report);
  return report;
}

const output = (report: Report, stepId: string): Record<string, unknown> => stepOutput(report, stepId, ctx);

function git(project: string, args: string[]): string {
  return execFileSync("git", ["-C", path.join(config.workspaceRoot, project), ...args], { encoding: "utf8" }).trim();
}

/** Does the local Neon project still have this branch? */
async function branchExists(branchId: string): Promise<boolean> {
  try {
    await ctx.caller.call("toolkit", "neon_get_connection_string", { project_id: neonProjectId, branch_id: branchId });
    return true;
  } catch {
    return false;
  }
}

/** A small TypeScript project with one of everything the checks look for. */
const FIXTURE = "fixture";
function writeFixture(): void {
  const dir = path.join(config.workspaceRoot, FIXTURE);
  mkdirSync(path.join(dir, "src"), { recursive: true });
  mkdirSync(path.join(dir, "test"), { recursive: true });
  const files: Record<string, string> = {
    "package.json": JSON.stringify({
      name: "fixture",
      type: "module",
      scripts: { test: "node --test test/math.test.js" },
      dependencies: { "left-pad": "*", "is-even": "^1.0.0" },
    }),
    "package-lock.json": JSON.stringify({ lockfileVersion: 3, packages: { "": {}, "node_modules/is-even": { version: "1.0.0" } } }),
    "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "NodeNext", types: [] }, include: ["src"] }),
    "src/math.ts": [
      "export function double(n: number): number {",
      "  const unused = 1;",
      "  console.log(n);",
      "  // TODO: handle overflow",
      "  return n * 2;",
      "}",
      'export const wrong: number = "two";',
      "export function loose(x: any): unknown {",
      "  return x; // FIXME: type this",
      "}",
      "",
    ].join("\n"),
    "test/math.test.js": [
      'import { test } from "node:test";',
      'import assert from "node:assert/strict";',
      'test("adds", () => assert.equal(1 + 1, 2));',
      'test("multiplies", () => assert.equal(2 * 2, 5));',
      "",
    ].join("\n"),
  };
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(dir, file), content);
}

describe("code quality templates report what is in the project", () => {
  it("lint-and-typecheck: the unused local, console.log and any, and the type error", async () => {
    const report = await run("lint-and-typecheck", { project: FIXTURE });
    expectSucceeded(report);
    const lint = output(report, "lint");
    expect(lint["by_rule"]).toMatchObject({ "no-unused": 1, "no-console-log": 1, "no-explicit-any": 1 });
    const typecheck = output(report, "typecheck") as { ok: boolean; errors: { file: string; line: number; code: string }[] };
    expect(typecheck.ok).toBe(false);
    expect(typecheck.errors).toEqual([expect.objectContaining({ file: "src/math.ts", line: 7, code: "TS2322" })]);
  });

  it("quality-gate: lint, types, tests and audit side by side", async () => {
    const report = await run("quality-gate", { project: FIXTURE });
    expectSucceeded(report);
    expect(output(report, "lint")["finding_count"]).toBe(3);
    expect(output(report, "typecheck")["error_count"]).toBe(1);
    expect(output(report, "tests")).toMatchObject({ passed: 1, failed: 1, ok: false });
    expect(output(report, "audit")["finding_count"]).toBe(2);
  });

  it("test-report: the failing test with its location, next to the code size", async () => {
    const report = await run("test-report", { project: FIXTURE });
    expectSucceeded(report);
    const tests = output(report, "tests") as { total: number; failed: number; failures: { name: string; file: string | null }[] };
    expect(tests).toMatchObject({ total: 2, failed: 1 });
    expect(tests.failures).toEqual([expect.objectContaining({ name: "multiplies", file: "test/math.test.js" })]);
    const size = output(report, "size") as { languages: { language: string; files: number }[] };
    expect(size.languages).toEqual(expect.arrayContaining([expect.objectContaining({ language: "TypeScript", files: 1 }), expect.objectContaining({ language: "JavaScript", files: 1 })]));
  });

  it("dependency-audit: the wildcard version and the package missing from the lockfile", async () => {
    const report = await run("dependency-audit", { project: FIXTURE });
    expectSucceeded(report);
    const findings = (output(report, "audit") as { findings: { name: string; issue: string }[] }).findings;
    expect(findings).toEqual(
      expect.arrayContaining([{ name: "left-pad", issue: "wildcard-version" }, { name: "left-pad", issue: "not-in-lockfile" }].map((f) => expect.objectContaining(f))),
    );
    expect(findings.some((f) => f.name === "is-even")).toBe(false);
  });

  it("tech-debt-report: the TODO and the FIXME, the lint findings and the size", async () => {
    const report = await run("tech-debt-report", { project: FIXTURE });
    expectSucceeded(report);
    expect(output(report, "todos")).toMatchObject({ count: 2, by_kind: { TODO: 1, FIXME: 1, HACK: 0 } });
    expect(output(report, "lint")["finding_count"]).toBe(3);
    expect((output(report, "size")["total"] as { files: number }).files).toBeGreaterThanOrEqual(5);
  });

  it("pre-commit-check: the modified file, its diff, lint findings and tests", async () => {
    await ctx.caller.call("workspace", "git_init", { project: FIXTURE });
    await ctx.caller.call("workspace", "git_commit", { project: FIXTURE, message: "fixture" });
    writeFileSync(path.join(config.workspaceRoot, FIXTURE, "src", "extra.ts"), "export const extra = 1;\n");
    writeFileSync(path.join(config.workspaceRoot, FIXTURE, "test", "math.test.js"), 'import { test } from "node:test";\ntest("ok", () => {});\n');
    const report = await run("pre-commit-check", { project: FIXTURE });
    expectSucceeded(report);
    expect(output(report, "status")).toMatchObject({ clean: false, untracked: 1, unstaged: 1 });
    expect(output(report, "diff")).toMatchObject({ files_changed: 1, files: [expect.objectContaining({ path: "test/math.test.js" })] });
    expect(output(report, "tests")).toMatchObject({ passed: 1, failed: 0, ok: true });
    expect(output(report, "lint")["finding_count"]).toBe(3);
  });
});

describe("development templates", () => {
  const service = unique("svc");

  it("scaffold-service: generated, committed, its tests pass and it lints clean", async () => {
    const report = await run("scaffold-service", { project: service });
    expectSucceeded(report);
    expect(existsSync(path.join(config.workspaceRoot, service, "package.json"))).toBe(true);
    expect(output(report, "first_commit")).toMatchObject({ committed: true, branch: "main" });
    expect(git(service, ["log", "--format=%s"])).toBe(`Scaffold ${service}`);
    expect(git(service, ["status", "--porcelain"])).toBe("");
    expect(output(report, "tests")).toMatchObject({ ok: true, failed: 0 });
    expect(output(report, "tests")["passed"]).toBeGreaterThan(0);
    expect(output(report, "lint")["finding_count"]).toBe(0);
  });

  it("feature-branch: the git branch is checked out and the database branch exists", async () => {
    const report = await run("feature-branch", { project: service, branch: "feature/login", project_id: neonProjectId });
    expectSucceeded(report);
    expect(git(service, ["branch", "--show-current"])).toBe("feature/login");
    expect(output(report, "status")["branch"]).toBe("feature/login");
    expect(await branchExists(String(output(report, "database_branch")["branch_id"]))).toBe(true);
  });

  it("feature-branch with a failing last step deletes the database branch", async () => {
    const report = await run("feature-branch", { project: service, branch: "feature/signup", from: "main", project_id: neonProjectId }, failingAtTheEnd);
    // The status claims a full rollback only when nothing is left behind; the database branch is undone.
    expect(report.status).toBe(report.leftBehind.length > 0 ? "partially_rolled_back" : "rolled_back");
    expect(report.leftBehind).not.toContain("database_branch");
    expect(report.outcomes.find((o) => o.step === "database_branch")?.outcome).toBe("undone");
    expect(await branchExists(String(output(report, "database_branch")["branch_id"]))).toBe(false);
  });

  it("release-branch: records the tests, commits the pending change and cuts release/<version>", async () => {
    writeFileSync(path.join(config.workspaceRoot, service, "CHANGELOG.md"), "## 1.2.0\n- login\n");
    const report = await run("release-branch", { project: service, version: "1.2.0" });
    expectSucceeded(report);
    expect(output(report, "tests")["ok"]).toBe(true);
    expect(output(report, "commit")).toMatchObject({ committed: true, files: ["CHANGELOG.md"] });
    expect(git(service, ["log", "-1", "--format=%s", "release/1.2.0"])).toBe("Release 1.2.0");
    expect(output(report, "release_branch")["branches"]).toContain("release/1.2.0");
  });

  it("github-repo-bootstrap: the hosted repository exists and the local project has its first commit", async () => {
    const name = unique("repo");
    const report = await run("github-repo-bootstrap", { repo_name: name, description: "demo" });
    expectSucceeded(report);
    const repo = output(report, "create_repo");
    expect(repo).toMatchObject({ name, created: true, private: true });
    expect(existsSync(path.join(fileURLToPath(String(repo["html_url"])), "HEAD"))).toBe(true);
    expect(git(name, ["log", "--format=%s"])).toBe("Initial commit");
  });

  /** A workspace project with a commit on main and one more on feature/login. */
  function projectWithFeature(name: string): string {
    const dir = path.join(config.workspaceRoot, name);
    mkdirSync(dir, { recursive: true });
    const run = (...args: string[]): string => execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@localhost", ...args], { encoding: "utf8" }).trim();
    run("init", "--quiet", "--initial-branch=main");
    writeFileSync(path.join(dir, "README.md"), "# demo\n");
    run("add", "README.md");
    run("commit", "--quiet", "-m", "Initial commit");
    run("switch", "--quiet", "--create", "feature/login");
    writeFileSync(path.join(dir, "login.ts"), "export const login = () => true;\n");
    run("add", "login.ts");
    run("commit", "--quiet", "-m", "Add login");
    return name;
  }

  it("open-pull-request: pushes base and head to the new hosted repository and opens the pull request", async () => {
    const project = projectWithFeature(unique("pr"));
    const report = await run("open-pull-request", { project, repo_name: project, head: "feature/login", title: "Add login" });
    expectSucceeded(report);
    const remote = fileURLToPath(String(output(report, "ensure_repo")["clone_url"]));
    for (const branch of ["main", "feature/login"]) {
      expect(execFileSync("git", ["--git-dir", remote, "rev-parse", branch], { encoding: "utf8" }).trim()).toBe(git(project, ["rev-parse", branch]));
    }
    expect(output(report, "push")).toMatchObject({ pushed: ["main", "feature/login"], created: ["main", "feature/login"] });
    expect(output(report, "open_pr")).toMatchObject({ number: 1, state: "open", title: "Add login", head: "feature/login", base: "main" });
  });

  it("open-pull-request with a failing last step closes the pull request, deletes the pushed branches and the repository", async () => {
    const project = projectWithFeature(unique("prf"));
    const report = await run("open-pull-request", { project, repo_name: project, head: "feature/login" }, failingAtTheEnd);
    expect(report.status).toBe("rolled_back");
    expect(report.compensations.map((c) => [c.step, c.status])).toEqual([
      ["open_pr", "succeeded"],
      ["push", "succeeded"],
      ["ensure_repo", "succeeded"],
    ]);
    expect(existsSync(fileURLToPath(String(output(report, "ensure_repo")["clone_url"])))).toBe(false);
  });

  it("github-repo-bootstrap with a failing last step deletes the repository and the generated code", async () => {
    const report = await run("github-repo-bootstrap", { repo_name: unique("repof") }, failingAtTheEnd);
    // git_init and the commit have no undo of their own; their folder goes with generate_code's undo,
    // which the report cannot tell, so it lists them as left behind (conservatively).
    expect(report.status).toBe("partially_rolled_back");
    expect(report.leftBehind.sort()).toEqual(["first_commit", "git_init"]);
    expect(report.compensations.map((c) => [c.step, c.status]).sort()).toEqual([["create_repo", "succeeded"], ["generate_code", "succeeded"]]);
    expect(existsSync(fileURLToPath(String(output(report, "create_repo")["html_url"])))).toBe(false);
    expect(existsSync(String(output(report, "generate_code")["project_dir"]))).toBe(false);
  });
});

describe("credit-optimizer run --workflow", () => {
  function capture(): Io & { stdout: string[] } {
    const stdout: string[] = [];
    return { stdout, out: (t) => stdout.push(t), err: () => {} };
  }

  it("runs a template on a checkpointed thread and prints the JSON report (exit 0)", async () => {
    const io = capture();
    const code = await main(["run", "--workflow", "dependency-audit", "--param", `project=${FIXTURE}`, "--json", "--thread", "wf-cli-ok"], io, () => config);
    expect(code).toBe(0);
    const report = JSON.parse(io.stdout.join("")) as { threadId: string; status: string; plan: string; steps: { output: { finding_count: number } }[] };
    expect(report).toMatchObject({ threadId: "wf-cli-ok", status: "succeeded", plan: "Dependency Audit" });
    expect(report.steps[0]!.output.finding_count).toBe(2);
  });

  it("exits 1 when a step fails, and the report says which", async () => {
    const io = capture();
    const code = await main(["run", "--workflow", "tech-debt-report", "--param", "project=not-there", "--json"], io, () => config);
    expect(code).toBe(1);
    const report = JSON.parse(io.stdout.join("")) as { status: string; steps: { id: string; status: string; error?: { message: string } }[] };
    expect(report.status).toBe("rolled_back");
    expect(report.steps.find((s) => s.status === "failed")?.error?.message).toMatch(/not-there/);
  });
});
