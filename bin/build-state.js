// Whether dist/ (the compiled JavaScript, built by `npm run build` at install) matches the sources.
// Plain JavaScript with no dependencies: the launcher asks this before anything else loads, so it
// must not need tsx, and it must stay cheap (one stat per source file and folder, a few ms).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** The folders the build compiles; a change in any of them makes dist/ stale. */
export const SOURCE_DIRS = ["src", "agents", "graphs", "prompts"];
/** Files whose change changes the emitted code. */
export const BUILD_INPUTS = ["tsconfig.json", "tsconfig.build.json"];
/** Written last by the build, so a build that stopped half-way never counts as current. */
export const STAMP = path.join("dist", ".build.json");

/**
 * `current`: dist/ is complete and no source changed since the build started (or there are no
 * sources, as in a package that ships dist/ only). `stale`: a source file or folder (an added or
 * removed file changes its folder) is newer than the build. `absent`: never built, or unfinished.
 * @param {string} root the package root
 * @returns {{ state: "current" | "stale" | "absent", builtAt?: number, newer?: string }}
 */
export function buildState(root) {
  let builtAt;
  try {
    builtAt = JSON.parse(readFileSync(path.join(root, STAMP), "utf8")).startedAt;
  } catch {
    return { state: "absent" };
  }
  if (typeof builtAt !== "number") return { state: "absent" };
  for (const file of BUILD_INPUTS) {
    const mtime = mtimeOf(path.join(root, file));
    if (mtime !== undefined && mtime > builtAt) return { state: "stale", builtAt, newer: file };
  }
  for (const dir of SOURCE_DIRS) {
    const newer = newerThan(root, dir, builtAt);
    if (newer) return { state: "stale", builtAt, newer };
  }
  return { state: "current", builtAt };
}

function mtimeOf(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The first file or folder under `dir` modified after `time`, relative to root; undefined if none. */
function newerThan(root, dir, time) {
  const top = path.join(root, dir);
  const topTime = mtimeOf(top);
  if (topTime === undefined) return undefined;
  if (topTime > time) return dir;
  for (const entry of readdirSync(top, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() && !entry.isDirectory()) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    const mtime = mtimeOf(full);
    if (mtime !== undefined && mtime > time) return path.relative(root, full);
  }
  return undefined;
}

/**
 * What the code of this installation is, for pins of the built-in servers: the newest modification
 * time over the sources (a checkout: the build, when current, is at least that new), else when the
 * build started (a package shipping dist/ only). A pin written under another stamp is not trusted
 * without asking the server again.
 * @param {string} root the package root
 * @returns {string}
 */
export function codeStamp(root) {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    const top = path.join(root, dir);
    newest = Math.max(newest, mtimeOf(top) ?? 0);
    if (newest === 0) continue;
    for (const entry of readdirSync(top, { recursive: true, withFileTypes: true })) {
      newest = Math.max(newest, mtimeOf(path.join(entry.parentPath ?? entry.path, entry.name)) ?? 0);
    }
  }
  if (newest > 0) return `sources@${Math.round(newest)}`;
  const build = buildState(root);
  return `dist@${build.builtAt ?? 0}`;
}
