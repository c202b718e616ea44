import path from "node:path";
import { z } from "zod";
import { listProjectFiles, readTextFile } from "../files.ts";
import { resolveProject } from "../paths.ts";
import { projectField, readOnly, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({ project: projectField, timeoutMs: timeoutField });

interface Language {
  name: string;
  extensions: string[];
  line: string[];
  block?: [string, string];
}

const C_STYLE = { line: ["//"], block: ["/*", "*/"] as [string, string] };
const LANGUAGES: Language[] = [
  { name: "TypeScript", extensions: [".ts", ".tsx", ".mts", ".cts"], ...C_STYLE },
  { name: "JavaScript", extensions: [".js", ".jsx", ".mjs", ".cjs"], ...C_STYLE },
  { name: "JSON", extensions: [".json"], line: [] },
  { name: "Markdown", extensions: [".md"], line: [], block: ["<!--", "-->"] },
  { name: "YAML", extensions: [".yml", ".yaml"], line: ["#"] },
  { name: "Shell", extensions: [".sh", ".bash"], line: ["#"] },
  { name: "Python", extensions: [".py"], line: ["#"] },
  { name: "SQL", extensions: [".sql"], line: ["--"], block: ["/*", "*/"] },
  { name: "CSS", extensions: [".css", ".scss"], line: [], block: ["/*", "*/"] },
  { name: "HTML", extensions: [".html", ".htm"], line: [], block: ["<!--", "-->"] },
  { name: "Go", extensions: [".go"], ...C_STYLE },
  { name: "Rust", extensions: [".rs"], ...C_STYLE },
];

interface LineCounts {
  code: number;
  comment: number;
  blank: number;
}

/**
 * Classifies each line as blank, comment (starts with a line comment or lies in a block comment)
 * or code. Comment markers inside strings are not recognised.
 */
function countLines(text: string, language: Pick<Language, "line" | "block">): LineCounts {
  const counts: LineCounts = { code: 0, comment: 0, blank: 0 };
  let inBlock = false;
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "") {
      counts.blank += 1;
      continue;
    }
    const [open, close] = language.block ?? ["", ""];
    if (inBlock) {
      counts.comment += 1;
      const end = line.indexOf(close);
      inBlock = end === -1 || blockOpensAfter(line.slice(end + close.length), open, close);
      continue;
    }
    if (language.line.some((marker) => line.startsWith(marker))) {
      counts.comment += 1;
    } else if (open !== "" && line.startsWith(open)) {
      counts.comment += 1;
      const rest = line.slice(open.length);
      const end = rest.indexOf(close);
      inBlock = end === -1 || blockOpensAfter(rest.slice(end + close.length), open, close);
    } else {
      counts.code += 1;
      inBlock = open !== "" && blockOpensAfter(line, open, close);
    }
  }
  return counts;
}

/** True when `text` leaves a block comment open at its end. */
function blockOpensAfter(text: string, open: string, close: string): boolean {
  const start = text.lastIndexOf(open);
  return start !== -1 && text.indexOf(close, start + open.length) === -1;
}

export const countLinesTool: WorkspaceTool<typeof input> = {
  name: "count_lines",
  description:
    "Counts files and code, comment and blank lines per language in a project (by file extension). " +
    "Returns { languages: [{ language, files, code, comment, blank }], total, files_skipped, timed_out }.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    const deadline = Date.now() + args.timeoutMs;
    const totals = new Map<string, LineCounts & { files: number }>();
    let skipped = 0;
    let timedOut = false;
    for (const file of await listProjectFiles(projectDir)) {
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      const language = LANGUAGES.find((lang) => lang.extensions.includes(path.extname(file).toLowerCase()));
      const text = language === undefined ? undefined : await readTextFile(path.join(projectDir, file));
      if (language === undefined || text === undefined) {
        skipped += 1;
        continue;
      }
      const counts = countLines(text, language);
      const sum = totals.get(language.name) ?? { files: 0, code: 0, comment: 0, blank: 0 };
      totals.set(language.name, {
        files: sum.files + 1,
        code: sum.code + counts.code,
        comment: sum.comment + counts.comment,
        blank: sum.blank + counts.blank,
      });
    }
    const languages = [...totals.entries()]
      .map(([language, counts]) => ({ language, ...counts }))
      .sort((a, b) => b.code - a.code || a.language.localeCompare(b.language));
    const total = languages.reduce(
      (sum, lang) => ({ files: sum.files + lang.files, code: sum.code + lang.code, comment: sum.comment + lang.comment, blank: sum.blank + lang.blank }),
      { files: 0, code: 0, comment: 0, blank: 0 },
    );
    return { project: args.project, languages, total, files_skipped: skipped, timed_out: timedOut };
  },
};
