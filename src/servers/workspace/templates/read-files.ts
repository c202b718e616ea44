import { readFile } from "node:fs/promises";
import type { GeneratedFile } from "./types.ts";

/** Reads a template's source files (stored under `templates/<id>/files/`) as generated files. */
export async function readTemplateFiles(templateDir: URL, paths: readonly string[]): Promise<GeneratedFile[]> {
  return Promise.all(
    paths.map(async (path) => ({ path, content: await readFile(new URL(`files/${path}`, templateDir), "utf8") })),
  );
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export const GITIGNORE = "node_modules\ndist\n.env\n";
