import { lstat, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { WorkspaceError } from "./errors.ts";
import { isWithin, resolveInside } from "./paths.ts";
import type { GeneratedFile } from "./templates/types.ts";

/** Limits on generated output. */
const MAX_FILES = 200;
const MAX_FILE_BYTES = 1_000_000;

const FORBIDDEN_SEGMENTS = new Set([".git", "node_modules"]);

export interface WriteOptions {
  root: string;
  /** Project folder relative to the root. */
  project: string;
  /** Replace existing files whose content differs. */
  overwrite: boolean;
  /** Name of the list the files came from, for error messages ("files"). */
  field: string;
}

/**
 * Validates every path (inside the project folder, which is inside the root; no `.git` or
 * `node_modules`; no duplicates) before writing anything, then writes the files.
 * Returns the project's real path, the written paths relative to it, which of them did not exist
 * before (`created`), and whether the project folder existed before (what an undo must remove).
 */
export async function writeProjectFiles(
  files: readonly GeneratedFile[],
  options: WriteOptions,
): Promise<{ projectDir: string; written: string[]; created: string[]; folderExisted: boolean }> {
  if (files.length === 0) throw new WorkspaceError("MODEL_OUTPUT", `${options.field}: no files to write`, options.field);
  if (files.length > MAX_FILES) {
    throw new WorkspaceError("MODEL_OUTPUT", `${options.field}: ${files.length} files, at most ${MAX_FILES} are written`, options.field);
  }
  const projectDir = await resolveInside(options.root, options.project, "project");
  const folderExisted = await lstat(projectDir).then(() => true, () => false);
  const targets = new Map<string, { relative: string; content: string }>();
  for (const [index, file] of files.entries()) {
    const field = `${options.field}[${index}].path`;
    const relative = await checkFile(file, projectDir, options, field);
    if (targets.has(relative)) throw new WorkspaceError("MODEL_OUTPUT", `${field}: "${file.path}" appears twice`, field);
    targets.set(relative, { relative, content: file.content });
  }
  const created: string[] = [];
  for (const { relative, content } of targets.values()) {
    const target = path.join(projectDir, relative);
    const existing = await readFile(target, "utf8").catch(() => undefined);
    if (existing === undefined) created.push(relative);
    if (existing !== undefined && existing !== content && !options.overwrite) {
      throw new WorkspaceError("FILE_EXISTS", `project: "${options.project}/${relative}" exists with other content (set overwrite: true to replace it)`, "overwrite");
    }
  }
  for (const { relative, content } of targets.values()) {
    const target = path.join(projectDir, relative);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  return { projectDir, written: [...targets.keys()], created, folderExisted };
}

async function checkFile(file: GeneratedFile, projectDir: string, options: WriteOptions, field: string): Promise<string> {
  if (file.path.trim() === "" || path.isAbsolute(file.path) || /^[a-zA-Z]:/.test(file.path)) {
    throw new WorkspaceError("OUTSIDE_ROOT", `${field}: "${file.path}" must be a relative path inside the project`, field);
  }
  const segments = file.path.split(/[\\/]+/);
  if (segments.some((segment) => FORBIDDEN_SEGMENTS.has(segment))) {
    throw new WorkspaceError("INVALID_INPUT", `${field}: "${file.path}" may not be inside .git or node_modules`, field);
  }
  if (Buffer.byteLength(file.content) > MAX_FILE_BYTES) {
    throw new WorkspaceError("MODEL_OUTPUT", `${field}: "${file.path}" is larger than ${MAX_FILE_BYTES} bytes`, field);
  }
  const outside = (): WorkspaceError =>
    new WorkspaceError("OUTSIDE_ROOT", `${field}: "${file.path}" is outside the project folder "${options.project}"`, field);
  const lexical = path.resolve(projectDir, file.path);
  if (!isWithin(projectDir, lexical) || lexical === projectDir) throw outside();
  const resolved = await resolveInside(options.root, lexical, field);
  if (!isWithin(projectDir, resolved)) throw outside();
  return path.relative(projectDir, resolved).split(path.sep).join("/");
}
