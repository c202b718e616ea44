import { createRequire } from "node:module";
import path from "node:path";
import { stat } from "node:fs/promises";
import { z } from "zod";
import { WorkspaceError } from "../errors.ts";
import { runFile } from "../exec.ts";
import { resolveInside, resolveProject } from "../paths.ts";
import { maxOutputField, projectField, readOnly, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({
  project: projectField,
  tsconfig: z.string().min(1).default("tsconfig.json").describe("tsconfig path relative to the project folder."),
  timeoutMs: timeoutField,
  maxOutputBytes: maxOutputField,
});

/** This installation's TypeScript compiler entry (`typescript/bin/tsc`). */
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");

interface TscDiagnostic {
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

/** Cannot find module / type library / declaration file. */
const MODULE_NOT_FOUND = new Set(["TS2307", "TS2688", "TS7016"]);

const LOCATED = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;
const GLOBAL = /^error (TS\d+): (.*)$/;

/** Parses `tsc --pretty false` output: `file(line,col): error TSxxxx: msg` (continuation lines are indented). */
function parseTscOutput(output: string, projectDir: string): TscDiagnostic[] {
  const errors: TscDiagnostic[] = [];
  for (const line of output.split(/\r?\n/)) {
    const located = LOCATED.exec(line);
    const global = located ? null : GLOBAL.exec(line);
    const last = errors[errors.length - 1];
    if (located) {
      const [, file = "", row = "0", column = "0", code = "", message = ""] = located;
      const absolute = path.resolve(projectDir, file);
      errors.push({ file: path.relative(projectDir, absolute).split(path.sep).join("/"), line: Number(row), column: Number(column), code, message });
    } else if (global) {
      errors.push({ file: "", line: 0, column: 0, code: global[1] ?? "", message: global[2] ?? "" });
    } else if (last && /^\s+\S/.test(line)) {
      last.message += `\n${line.trim()}`;
    }
  }
  return errors;
}

export const runTypecheck: WorkspaceTool<typeof input> = {
  name: "run_typecheck",
  description:
    "Type-checks a project with this installation's TypeScript compiler (tsc --noEmit -p <tsconfig>). " +
    "Returns { error_count, errors: [{ file, line, column, code, message }], exit_code, timed_out, truncated }. " +
    "Imported packages must be resolvable from the project (its node_modules); a `hint` says so when they are not.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    const tsconfig = await resolveInside(projectDir, args.tsconfig, "tsconfig");
    if (!(await stat(tsconfig).catch(() => undefined))?.isFile()) {
      throw new WorkspaceError("NOT_FOUND", `tsconfig: "${args.tsconfig}" does not exist in project "${args.project}"`, "tsconfig");
    }
    const result = await runFile(process.execPath, [TSC, "--noEmit", "--pretty", "false", "-p", tsconfig], {
      cwd: projectDir,
      timeoutMs: args.timeoutMs,
      maxOutputBytes: args.maxOutputBytes,
    });
    const errors = parseTscOutput(`${result.stdout}\n${result.stderr}`, projectDir);
    const missingModules = errors.some((error) => MODULE_NOT_FOUND.has(error.code));
    const hasDependencies = (await stat(path.join(projectDir, "node_modules")).catch(() => undefined)) !== undefined;
    return {
      project: args.project,
      tsconfig: args.tsconfig,
      ok: result.exitCode === 0 && errors.length === 0,
      error_count: errors.length,
      errors,
      exit_code: result.exitCode,
      timed_out: result.timedOut,
      truncated: result.truncated,
      duration_ms: result.durationMs,
      ...(missingModules && !hasDependencies ? { hint: "the project has no node_modules: install or link its dependencies first" } : {}),
    };
  },
};
