import type { Dirent } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";

/** Folders never walked: dependencies, version control, build output. */
const SKIPPED_DIRS = new Set(["node_modules", ".git", "dist", "build", "coverage", ".next", ".turbo"]);

/**
 * Lists regular files below `dir` (relative paths with `/`, sorted), skipping dependency,
 * VCS and build folders. Symlinks are not followed.
 */
export async function listProjectFiles(dir: string, limit = 20_000): Promise<string[]> {
  const found: string[] = [];
  async function walk(relative: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(dir, relative), { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (found.length >= limit) return;
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) await walk(child);
      else if (entry.isFile()) found.push(child);
    }
  }
  await walk("");
  return found;
}

/** True for files the project's own tests live in (`*.test.*`, `*.spec.*`, `test/`, `tests/`, `__tests__/`). */
export function isTestFile(relative: string): boolean {
  return /(^|\/)(tests?|__tests__)\//.test(relative) || /\.(test|spec)\.[cm]?[jt]sx?$/.test(relative);
}

/** Reads a text file, or undefined when it is larger than `maxBytes` or looks binary (NUL in the first 8 KB). */
export async function readTextFile(file: string, maxBytes = 1_000_000): Promise<string | undefined> {
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || info.size > maxBytes) return undefined;
  const buffer = await readFile(file).catch(() => undefined);
  if (buffer === undefined || buffer.subarray(0, 8192).includes(0)) return undefined;
  return buffer.toString("utf8");
}
