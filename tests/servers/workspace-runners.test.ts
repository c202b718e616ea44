import { cp, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWorkspace, type WorkspaceClient } from "../helpers/workspace.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/workspace/sample", import.meta.url));
const NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));

let root: string;
let ws: WorkspaceClient;
const call = (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => ws.call(name, args);
const callError = (name: string, args: Record<string, unknown>): Promise<string> => ws.callError(name, args);

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), "ws-runners-")));
  await cp(FIXTURE, path.join(root, "sample"), { recursive: true });
  ws = await connectWorkspace(root);
});

afterAll(async () => {
  await ws.close();
  await rm(root, { recursive: true, force: true });
});

async function project(name: string, files: Record<string, string>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name, file)), { recursive: true });
    await writeFile(path.join(root, name, file), content);
  }
}

describe("run_lint", () => {
  it("reports every known finding of the fixture with file, line and rule", async () => {
    const result = await call("run_lint", { project: "sample" });
    expect(result.files_checked).toBe(3);
    expect(result.finding_count).toBe(7);
    expect(result.by_rule).toEqual({ "no-unused": 4, "no-debugger": 1, "no-console-log": 1, "no-explicit-any": 1 });
    const findings = (result.findings as { file: string; line: number; rule: string }[]).map((f) => `${f.file}:${f.line} ${f.rule}`);
    expect(findings).toEqual([
      "src/app.ts:1 no-unused",
      "src/app.ts:4 no-explicit-any",
      "src/app.ts:5 no-unused",
      "src/app.ts:6 no-console-log",
      "src/app.ts:7 no-debugger",
      "src/app.ts:13 no-unused",
      "src/util.js:3 no-unused",
    ]);
    expect(result.truncated).toBe(false);
  });

  it("cuts findings at maxFindings and says so", async () => {
    const result = await call("run_lint", { project: "sample", maxFindings: 2 });
    expect(result.finding_count).toBe(7);
    expect(result.findings).toHaveLength(2);
    expect(result.truncated).toBe(true);
  });
});

describe("find_todos", () => {
  it("finds TODO, FIXME and HACK with file and line", async () => {
    const result = await call("find_todos", { project: "sample" });
    expect(result.count).toBe(4);
    expect(result.by_kind).toEqual({ TODO: 2, FIXME: 1, HACK: 1 });
    const items = (result.items as { file: string; line: number; kind: string }[]).map((i) => `${i.file}:${i.line} ${i.kind}`);
    expect(items).toEqual(["README.md:5 TODO", "src/app.ts:3 TODO", "src/util.js:1 FIXME", "src/util.js:7 HACK"]);
  });
});

describe("count_lines", () => {
  it("counts files, code, comment and blank lines per language", async () => {
    const result = await call("count_lines", { project: "sample" });
    expect(result.languages).toEqual([
      { language: "JSON", files: 2, code: 35, comment: 0, blank: 0 },
      { language: "JavaScript", files: 2, code: 14, comment: 2, blank: 3 },
      { language: "TypeScript", files: 1, code: 10, comment: 3, blank: 2 },
      { language: "Markdown", files: 1, code: 2, comment: 1, blank: 2 },
    ]);
    expect(result.total).toEqual({ files: 6, code: 61, comment: 6, blank: 7 });
  });
});

describe("audit_dependencies", () => {
  it("reports unlocked, wildcard, tag, git and local dependencies and says what was checked", async () => {
    const result = await call("audit_dependencies", { project: "sample" });
    expect(result.dependency_count).toBe(6);
    const findings = (result.findings as { name: string; issue: string }[]).map((f) => `${f.name} ${f.issue}`);
    expect(findings.sort()).toEqual([
      "anything wildcard-version",
      "from-git git-or-url",
      "local-lib local-path",
      "not-locked not-in-lockfile",
      "tagged latest-tag",
    ]);
    expect(result.lockfile).toEqual({ file: "package-lock.json", lockfileVersion: 3 });
    expect(result.not_checked).toEqual([expect.stringContaining("known vulnerabilities")]);
  });

  it("says the lockfile check was not done without a lockfile", async () => {
    await project("no-lock", { "package.json": JSON.stringify({ dependencies: { a: "^1.0.0" } }) });
    const result = await call("audit_dependencies", { project: "no-lock" });
    expect(result.finding_count).toBe(0);
    expect(result.lockfile).toBeNull();
    expect(result.not_checked).toContainEqual(expect.stringContaining("no package-lock.json"));
  });
});

describe("run_typecheck", () => {
  it("parses tsc errors with file, line, column and code", async () => {
    await project("typed", {
      "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, noEmit: true, types: [] }, include: ["src"] }),
      "src/bad.ts": 'export const n: number = "x";\nexport function f(s: string): number {\n  return s;\n}\n',
      "src/good.ts": "export const ok: number = 1;\n",
    });
    const result = await call("run_typecheck", { project: "typed" });
    expect(result.ok).toBe(false);
    expect(result.error_count).toBe(2);
    expect(result.errors).toEqual([
      { file: "src/bad.ts", line: 1, column: 14, code: "TS2322", message: "Type 'string' is not assignable to type 'number'." },
      { file: "src/bad.ts", line: 3, column: 3, code: "TS2322", message: "Type 'string' is not assignable to type 'number'." },
    ]);
  });

  it("names the tsconfig field when the file is missing", async () => {
    expect(await callError("run_typecheck", { project: "sample" })).toMatch(/^tsconfig: "tsconfig.json" does not exist/);
  });
});

describe("run_tests", () => {
  it("runs node --test and reports counts and the failing test with file and line", async () => {
    const result = await call("run_tests", { project: "sample" });
    expect(result.runner).toBe("node");
    expect(result).toMatchObject({ total: 2, passed: 1, failed: 1, skipped: 0, ok: false, timed_out: false });
    expect(result.failures).toEqual([
      { name: "fails on purpose", file: "test/math.test.js", line: 10, message: expect.stringContaining("Expected values to be strictly equal") },
    ]);
  });

  it("runs vitest and reports counts", async () => {
    await project("vitest-app", {
      "package.json": JSON.stringify({ type: "module", scripts: { test: "vitest run" } }),
      "test/sum.test.ts": 'import { expect, it } from "vitest";\nit("sums", () => {\n  expect(1 + 1).toBe(2);\n});\nit("breaks", () => {\n  expect(1 + 1).toBe(3);\n});\n',
    });
    await symlink(NODE_MODULES, path.join(root, "vitest-app", "node_modules"));
    const result = await call("run_tests", { project: "vitest-app", timeoutMs: 120_000 });
    expect(result.runner).toBe("vitest");
    expect(result).toMatchObject({ total: 2, passed: 1, failed: 1, ok: false });
    expect(result.failures).toEqual([{ name: "breaks", file: "test/sum.test.ts", line: 6, message: expect.stringContaining("expected 2 to be 3") }]);
  });

  it("kills a run that outlives timeoutMs", async () => {
    await project("hangs", {
      "package.json": JSON.stringify({ type: "module", scripts: { test: "node --test test/hang.test.js" } }),
      "test/hang.test.js": 'import { test } from "node:test";\ntest("never ends", () => new Promise(() => setInterval(() => {}, 1000)));\n',
    });
    const result = await call("run_tests", { project: "hangs", timeoutMs: 1500 });
    expect(result.timed_out).toBe(true);
    expect(result.ok).toBe(false);
  });

  it("truncates output at maxOutputBytes and flags it", async () => {
    const result = await call("run_tests", { project: "sample", maxOutputBytes: 200 });
    expect(result.truncated).toBe(true);
  });

  it("refuses test scripts that are not node --test or vitest, or use shell syntax", async () => {
    await project("jest-app", { "package.json": JSON.stringify({ scripts: { test: "jest" } }) });
    await project("shell-app", { "package.json": JSON.stringify({ scripts: { test: "node --test && rm -rf /" } }) });
    expect(await callError("run_tests", { project: "jest-app" })).toMatch(/^project: scripts.test "jest" is not/);
    expect(await callError("run_tests", { project: "shell-app" })).toMatch(/shell syntax/);
  });
});

describe("bad inputs name the field", () => {
  it.each([
    ["run_lint", {}, "project"],
    ["run_tests", { project: "sample", timeoutMs: -5 }, "timeoutMs"],
    ["find_todos", { project: 42 }, "project"],
    ["run_lint", { project: "sample", maxFindings: "many" }, "maxFindings"],
    ["count_lines", { project: "missing-folder" }, "project"],
  ])("%s %j → %s", async (name, args, field) => {
    expect(await callError(name, args)).toContain(field);
  });
});
