import path from "node:path";
import { z } from "zod";
import { listProjectFiles, readTextFile } from "../files.ts";
import { resolveProject } from "../paths.ts";
import { projectField, readOnly, timeoutField, type WorkspaceTool } from "../tool.ts";

const input = z.object({
  project: projectField,
  timeoutMs: timeoutField,
  maxResults: z.number().int().positive().max(10_000).default(500).describe("Report at most this many markers."),
});

const KINDS = ["TODO", "FIXME", "HACK"] as const;
type Kind = (typeof KINDS)[number];
const MARKER = /\b(TODO|FIXME|HACK)\b/;

interface TodoItem {
  file: string;
  line: number;
  kind: Kind;
  text: string;
}

export const findTodos: WorkspaceTool<typeof input> = {
  name: "find_todos",
  description:
    "Finds TODO, FIXME and HACK markers (upper case, whole word) in a project's text files. " +
    "Returns { count, by_kind, items: [{ file, line, kind, text }], files_scanned, truncated, timed_out }.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    const deadline = Date.now() + args.timeoutMs;
    const items: TodoItem[] = [];
    let scanned = 0;
    let timedOut = false;
    for (const file of await listProjectFiles(projectDir)) {
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      const text = await readTextFile(path.join(projectDir, file));
      if (text === undefined) continue;
      scanned += 1;
      text.split(/\r?\n/).forEach((line, index) => {
        const kind = MARKER.exec(line)?.[1] as Kind | undefined;
        if (kind !== undefined) items.push({ file, line: index + 1, kind, text: line.trim().slice(0, 300) });
      });
    }
    return {
      project: args.project,
      count: items.length,
      by_kind: Object.fromEntries(KINDS.map((kind) => [kind, items.filter((item) => item.kind === kind).length])),
      items: items.slice(0, args.maxResults),
      files_scanned: scanned,
      truncated: items.length > args.maxResults,
      timed_out: timedOut,
    };
  },
};
