import path from "node:path";
import type ts from "typescript";
import { z } from "zod";
import { isTestFile, listProjectFiles } from "../files.ts";
import { resolveProject } from "../paths.ts";
import { projectField, readOnly, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({
  project: projectField,
  timeoutMs: timeoutField,
  maxFindings: z.number().int().positive().max(10_000).default(500).describe("Report at most this many findings."),
});

const LINT_RULES = {
  "no-unused": "declared but never used (locals, parameters, imports)",
  "no-debugger": "`debugger` statement",
  "no-console-log": "`console.log` outside test files",
  "no-explicit-any": "explicit `any` type",
} as const;
type LintRule = keyof typeof LINT_RULES;

interface LintFinding {
  file: string;
  line: number;
  column: number;
  rule: LintRule;
  message: string;
}

const SOURCE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const DECLARATION = /\.d\.[cm]?ts$/;
/** TypeScript's "declared but never used" diagnostics (noUnusedLocals / noUnusedParameters). */
const UNUSED_CODES = new Set([6133, 6138, 6192, 6196, 6198, 6199, 6205]);

/** The compiler is loaded on first use: it is large, and the server should start fast. */
type TypeScript = typeof ts;

const compilerOptions = (ts: TypeScript): ts.CompilerOptions => ({
  allowJs: true,
  checkJs: true,
  noEmit: true,
  noResolve: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  jsx: ts.JsxEmit.Preserve,
  types: [],
  skipLibCheck: true,
});

/**
 * Lints the given absolute files with the TypeScript compiler API; paths in findings are relative
 * to `projectDir`. Stops between files once `deadline` (epoch ms) has passed.
 */
async function lintFiles(projectDir: string, files: readonly string[], deadline = Infinity): Promise<{ findings: LintFinding[]; timedOut: boolean }> {
  const { default: ts } = await import("typescript");
  const program = ts.createProgram({ rootNames: files, options: compilerOptions(ts) });
  const findings: LintFinding[] = [];
  let timedOut = false;
  for (const file of files) {
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    const source = program.getSourceFile(file);
    if (source === undefined) continue;
    const relative = path.relative(projectDir, file).split(path.sep).join("/");
    const at = (position: number, rule: LintRule, message: string): void => {
      const { line, character } = source.getLineAndCharacterOfPosition(position);
      findings.push({ file: relative, line: line + 1, column: character + 1, rule, message });
    };
    for (const diagnostic of program.getSemanticDiagnostics(source)) {
      if (UNUSED_CODES.has(diagnostic.code) && diagnostic.start !== undefined) {
        at(diagnostic.start, "no-unused", ts.flattenDiagnosticMessageText(diagnostic.messageText, " "));
      }
    }
    const testFile = isTestFile(relative);
    const visit = (node: ts.Node): void => {
      if (ts.isDebuggerStatement(node)) at(node.getStart(source), "no-debugger", "Unexpected 'debugger' statement.");
      else if (node.kind === ts.SyntaxKind.AnyKeyword) at(node.getStart(source), "no-explicit-any", "Unexpected 'any'; use 'unknown' or a precise type.");
      else if (!testFile && isConsoleLog(ts, node)) at(node.getStart(source), "no-console-log", "Unexpected 'console.log'; use a logger or console.info/error.");
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { findings, timedOut };
}

function isConsoleLog(ts: TypeScript, node: ts.Node): boolean {
  return (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    ts.isIdentifier(node.expression.expression) &&
    node.expression.expression.text === "console" &&
    node.expression.name.text === "log"
  );
}

export const runLint: WorkspaceTool<typeof input> = {
  name: "run_lint",
  description:
    "Lints a project's .ts/.js files with a built-in linter on the TypeScript compiler API. Rules: " +
    Object.entries(LINT_RULES).map(([rule, text]) => `${rule} (${text})`).join(", ") +
    ". Returns { files_checked, finding_count, by_rule, findings: [{ file, line, column, rule, message }], truncated, timed_out }.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    const files = (await listProjectFiles(projectDir))
      .filter((file) => SOURCE.test(file) && !DECLARATION.test(file))
      .map((file) => path.join(projectDir, file));
    const { findings, timedOut } = await lintFiles(projectDir, files, Date.now() + args.timeoutMs);
    const byRule = Object.fromEntries(Object.keys(LINT_RULES).map((rule) => [rule, findings.filter((f) => f.rule === rule).length]));
    return {
      project: args.project,
      rules: Object.keys(LINT_RULES),
      files_checked: files.length,
      finding_count: findings.length,
      by_rule: byRule,
      findings: findings.slice(0, args.maxFindings),
      truncated: findings.length > args.maxFindings,
      timed_out: timedOut,
    };
  },
};
