import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { WorkspaceError } from "../errors.ts";
import { runFile } from "../exec.ts";
import { resolveProject } from "../paths.ts";
import { maxOutputField, projectField, readOnly, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({ project: projectField, timeoutMs: timeoutField, maxOutputBytes: maxOutputField });

interface TestFailure {
  name: string;
  file: string | null;
  line: number | null;
  message: string;
}

interface TestSummary {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  failures: TestFailure[];
}

interface Invocation {
  runner: "node" | "vitest";
  args: string[];
}

const SHELL_SYNTAX = /[;&|<>`$(){}\\"'\n]/;

/**
 * Turns `scripts.test` into an argument list for `node --test` or vitest, run without a shell.
 * Other runners, environment prefixes and shell syntax are refused.
 */
function planTestRun(script: string, vitestBin: () => string): Invocation {
  const refuse = (why: string): never => {
    throw new WorkspaceError("INVALID_INPUT", `project: scripts.test "${script}" ${why}`, "project");
  };
  if (SHELL_SYNTAX.test(script)) refuse("uses shell syntax; only `node --test …` and `vitest …` are run");
  const tokens = script.trim().split(/\s+/);
  if (tokens[0] === "npx") tokens.shift();
  const [command, ...rest] = tokens;
  if (command === "node") {
    if (!rest.includes("--test")) refuse("runs node without --test");
    const args = rest.filter((arg, i) => !arg.startsWith("--test-reporter") && rest[i - 1] !== "--test-reporter");
    return { runner: "node", args: ["--test-reporter=tap", ...args] };
  }
  if (command === "vitest") {
    const args = rest.filter((arg, i) => !["run", "watch", "--watch"].includes(arg) && !arg.startsWith("--reporter") && rest[i - 1] !== "--reporter");
    return { runner: "vitest", args: [vitestBin(), "run", ...args, "--reporter=json"] };
  }
  return refuse("is not `node --test …` or `vitest …`");
}

/** Parses the TAP output of `node --test --test-reporter=tap`. */
function parseTap(output: string, projectDir: string): TestSummary {
  const lines = output.split(/\r?\n/);
  const summary = (key: string): number | undefined => {
    const match = new RegExp(`^# ${key} (\\d+)$`, "m").exec(output);
    return match ? Number(match[1]) : undefined;
  };
  const failures: TestFailure[] = [];
  let topLevel = { passed: 0, failed: 0, skipped: 0 };
  lines.forEach((line, index) => {
    const result = /^(\s*)(ok|not ok) \d+ - (.*?)(\s+# (SKIP|TODO).*)?$/.exec(line);
    if (!result) return;
    const [, indent = "", status, name = "", directive] = result;
    if (indent === "") {
      if (directive) topLevel = { ...topLevel, skipped: topLevel.skipped + 1 };
      else if (status === "ok") topLevel = { ...topLevel, passed: topLevel.passed + 1 };
      else topLevel = { ...topLevel, failed: topLevel.failed + 1 };
    }
    if (status !== "not ok" || directive) return;
    const yaml = yamlBlock(lines, index + 1);
    if (yaml.failureType === "subtestsFailed") return;
    const where = locate(`${yaml.stack ?? ""}\n${yaml.location ?? ""}`, projectDir);
    failures.push({ name, ...where, message: (yaml.error ?? "failed").slice(0, 1000) });
  });
  const passed = summary("pass") ?? topLevel.passed;
  const failed = summary("fail") ?? topLevel.failed;
  const skipped = (summary("skipped") ?? topLevel.skipped) + (summary("todo") ?? 0);
  return { total: summary("tests") ?? passed + failed + skipped, passed, failed, skipped, failures };
}

/** Reads the `---` … `...` YAML block after a TAP result line (scalar and `|-` block values). */
function yamlBlock(lines: string[], start: number): Record<string, string> {
  const fields: Record<string, string> = {};
  if (lines[start]?.trim() !== "---") return fields;
  let key: string | undefined;
  let keyIndent = 0;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.trim() === "...") break;
    const indent = line.length - line.trimStart().length;
    const field = /^(\s*)([A-Za-z_]+):\s?(.*)$/.exec(line);
    if (field && (key === undefined || indent <= keyIndent)) {
      const [, space = "", name = "", value = ""] = field;
      key = name;
      keyIndent = space.length;
      fields[name] = /^[|>]-?$/.test(value) ? "" : value.replace(/^'(.*)'$/, "$1").replace(/''/g, "'");
    } else if (key !== undefined) {
      fields[key] = fields[key] === "" ? line.trim() : `${fields[key]}\n${line.trim()}`;
    }
  }
  return fields;
}

/** The first `file:line` in `text` that lies in the project (outside node_modules). */
function locate(text: string, projectDir: string): { file: string | null; line: number | null } {
  for (const match of text.matchAll(/(file:\/\/[^\s)'":]+|\/[^\s)'"(:]+):(\d+)(?::\d+)?/g)) {
    const [, raw = "", line = "0"] = match;
    const file = raw.startsWith("file://") ? fileURLToPath(raw) : raw;
    const relative = path.relative(projectDir, file);
    if (!relative.startsWith("..") && !path.isAbsolute(relative) && !relative.includes("node_modules")) {
      return { file: relative.split(path.sep).join("/"), line: Number(line) };
    }
  }
  return { file: null, line: null };
}

interface VitestJson {
  numTotalTests?: number;
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: {
    name: string;
    message?: string;
    assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[];
  }[];
}

/** Parses vitest's `--reporter=json` output. */
function parseVitestJson(output: string, projectDir: string): TestSummary | undefined {
  const start = output.indexOf('{"');
  if (start === -1) return undefined;
  let report: VitestJson;
  try {
    report = JSON.parse(output.slice(start, output.lastIndexOf("}") + 1)) as VitestJson;
  } catch {
    return undefined;
  }
  const failures: TestFailure[] = [];
  for (const file of report.testResults ?? []) {
    const relative = path.relative(projectDir, file.name).split(path.sep).join("/");
    const failed = (file.assertionResults ?? []).filter((test) => test.status === "failed");
    for (const test of failed) {
      const message = (test.failureMessages ?? []).join("\n");
      const line = new RegExp(`${escapeRegExp(file.name)}:(\\d+)`).exec(message)?.[1];
      failures.push({ name: test.fullName, file: relative, line: line === undefined ? null : Number(line), message: message.split("\n")[0]?.slice(0, 1000) ?? "" });
    }
    if (failed.length === 0 && file.message) failures.push({ name: relative, file: relative, line: null, message: file.message.slice(0, 1000) });
  }
  const failedCount = report.numFailedTests ?? 0;
  return {
    total: report.numTotalTests ?? 0,
    passed: report.numPassedTests ?? 0,
    failed: failedCount,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    failures,
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** vitest's CLI entry: the project's own vitest when it has one, else this installation's. */
function vitestBinFor(projectDir: string): string {
  for (const from of [path.join(projectDir, "package.json"), import.meta.url]) {
    try {
      return path.join(path.dirname(createRequire(from).resolve("vitest/package.json")), "vitest.mjs");
    } catch {
      // not resolvable from here
    }
  }
  throw new WorkspaceError("NOT_FOUND", "project: vitest is not installed", "project");
}

export const runTests: WorkspaceTool<typeof input> = {
  name: "run_tests",
  description:
    "Runs a project's tests when package.json scripts.test is `node --test …` or `vitest …` (run directly, no shell). " +
    "Returns { runner, total, passed, failed, skipped, ok, failures: [{ name, file, line, message }], exit_code, timed_out, truncated, output_tail }.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    const manifest = await readFile(path.join(projectDir, "package.json"), "utf8").catch(() => undefined);
    if (manifest === undefined) throw new WorkspaceError("NOT_FOUND", `project: "${args.project}" has no package.json`, "project");
    const script = (JSON.parse(manifest) as { scripts?: { test?: unknown } }).scripts?.test;
    if (typeof script !== "string") throw new WorkspaceError("NOT_FOUND", `project: "${args.project}" has no scripts.test`, "project");
    const plan = planTestRun(script, () => vitestBinFor(projectDir));
    const result = await runFile(process.execPath, plan.args, { cwd: projectDir, timeoutMs: args.timeoutMs, maxOutputBytes: args.maxOutputBytes });
    const output = `${result.stdout}\n${result.stderr}`;
    const summary =
      (plan.runner === "node" ? parseTap(result.stdout, projectDir) : parseVitestJson(result.stdout, projectDir)) ??
      { total: 0, passed: 0, failed: 0, skipped: 0, failures: [] };
    return {
      project: args.project,
      runner: plan.runner,
      script,
      ...summary,
      ok: result.exitCode === 0 && !result.timedOut && summary.failed === 0,
      exit_code: result.exitCode,
      timed_out: result.timedOut,
      truncated: result.truncated,
      duration_ms: result.durationMs,
      output_tail: output.trim().slice(-2000),
    };
  },
};
