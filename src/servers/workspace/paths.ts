import { lstat, mkdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { WorkspaceError } from "./errors.ts";

/** True when `child` is `parent` or lies below it (both absolute, normalised). */
export function isWithin(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * Resolves `relative` against `root` and proves the result stays inside the root:
 * absolute paths outside it, `..` escapes and symlinks whose real path leaves the root
 * (checked on the nearest existing ancestor) are refused. Returns the real absolute path.
 * `field` names the input the path came from, for the error message.
 */
export async function resolveInside(root: string, relative: string, field = "path"): Promise<string> {
  if (relative.includes("\0")) {
    throw new WorkspaceError("INVALID_INPUT", `${field}: path contains a NUL byte`, field);
  }
  const lexicalRoot = path.resolve(root);
  const lexical = path.resolve(lexicalRoot, relative);
  const realRoot = await realpath(lexicalRoot);
  if (!isWithin(lexicalRoot, lexical) && !isWithin(realRoot, lexical)) {
    throw new WorkspaceError("OUTSIDE_ROOT", `${field}: "${relative}" is outside the workspace root`, field);
  }
  const fromRoot = isWithin(lexicalRoot, lexical) ? path.relative(lexicalRoot, lexical) : path.relative(realRoot, lexical);
  const target = path.join(realRoot, fromRoot);
  const { existing, rest } = await nearestExisting(target, realRoot, relative, field);
  const real = path.join(existing, rest);
  if (!isWithin(realRoot, real)) {
    throw new WorkspaceError("OUTSIDE_ROOT", `${field}: "${relative}" leads outside the workspace root through a symlink`, field);
  }
  return real;
}

/** Real path of the nearest ancestor of `target` that exists, plus the part below it. */
async function nearestExisting(
  target: string,
  realRoot: string,
  relative: string,
  field: string,
): Promise<{ existing: string; rest: string }> {
  let current = target;
  let rest = "";
  for (;;) {
    try {
      return { existing: await realpath(current), rest };
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    if (await exists(current)) {
      throw new WorkspaceError("OUTSIDE_ROOT", `${field}: "${relative}" goes through a dangling symlink`, field);
    }
    if (current === realRoot) return { existing: realRoot, rest };
    rest = rest === "" ? path.basename(current) : path.join(path.basename(current), rest);
    current = path.dirname(current);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Resolves a project folder inside the root and checks that it is an existing directory. */
export async function resolveProject(root: string, project: string, field = "project"): Promise<string> {
  const dir = await resolveInside(root, project, field);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new WorkspaceError("NOT_FOUND", `${field}: "${project}" is not a folder in the workspace root`, field);
  }
  return dir;
}

/** Creates the workspace root when missing and returns its real path. */
export async function ensureRoot(root: string): Promise<string> {
  await mkdir(root, { recursive: true });
  return realpath(root);
}
