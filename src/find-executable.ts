import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";

/**
 * The first executable called `name` in the directories of `searchPath` (a PATH value), or
 * undefined. Looked up rather than spawned, so a preflight or `doctor` can say "not installed"
 * without starting anything.
 */
export async function findExecutable(name: string, searchPath: string | undefined): Promise<string | undefined> {
  if (name.includes("/")) return (await isExecutable(name)) ? name : undefined;
  for (const dir of (searchPath ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
