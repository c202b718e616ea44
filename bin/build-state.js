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
 * The environment variable through which a process that found dist/ current tells the processes it
 * starts (the built-in MCP servers) which build it checked: a child whose stamp still says so runs
 * it without walking the sources again, so a run and its servers run the same build.
 */
export const CHECKED_ENV = "CREDIT_OPTIMIZER_BUILD_CHECKED";

/** This process's own finding of a current build, so the code stamp does not walk the sources again. */
let checked;

/**
 * `current`: dist/ is complete and no source changed since the build started (or there are no
 * sources, as in a package that ships dist/ only). `stale`: a source file or folder (an added or
 * removed file changes its folder) is newer than the build. `absent`: never built, or unfinished.
 * `trusted` is the build a parent process found current (CHECKED_ENV): when the stamp still names
 * it, the sources are not walked again.
 * @param {string} root the package root
 * @param {string} [trusted] `startedAt` of the build the parent checked
 * @returns {{ state: "current" | "stale" | "absent", builtAt?: number, newer?: string }}
 */
export function buildState(root, trusted) {
  const builtAt = stampOf(root);
  if (builtAt === undefined) return { state: "absent" };
  if (trusted !== undefined && trusted === String(builtAt)) return { state: "current", builtAt };
  for (const file of BUILD_INPUTS) {
    const mtime = mtimeOf(path.join(root, file));
    if (mtime !== undefined && mtime > builtAt) return { state: "stale", builtAt, newer: file };
  }
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    const walked = walk(root, dir, builtAt);
    if (walked.newer) return { state: "stale", builtAt, newer: walked.newer };
    newest = Math.max(newest, walked.newest);
  }
  checked = { root, builtAt, newest };
  return { state: "current", builtAt };
}

/** `startedAt` of the finished build (dist/.build.json), undefined when there is none. */
function stampOf(root) {
  try {
    const builtAt = JSON.parse(readFileSync(path.join(root, STAMP), "utf8")).startedAt;
    return typeof builtAt === "number" ? builtAt : undefined;
  } catch {
    return undefined;
  }
}

function mtimeOf(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * One walk of `dir`: the first file or folder modified after `time` (relative to root; none when
 * `time` is undefined), and the newest modification time of any entry (the folder's own included).
 */
function walk(root, dir, time) {
  const top = path.join(root, dir);
  const topTime = mtimeOf(top);
  if (topTime === undefined) return { newest: 0 };
  if (time !== undefined && topTime > time) return { newer: dir, newest: topTime };
  let newest = topTime;
  for (const entry of readdirSync(top, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    const mtime = mtimeOf(full);
    if (mtime === undefined) continue;
    newest = Math.max(newest, mtime);
    if (time !== undefined && mtime > time && (entry.isFile() || entry.isDirectory())) return { newer: path.relative(root, full), newest };
  }
  return { newest };
}

/**
 * What the code of this installation is, for pins of the built-in servers: the newest modification
 * time over the sources (a checkout: the build, when current, is at least that new), else when the
 * build started (a package shipping dist/ only). A pin written under another stamp is not trusted
 * without asking the server again. When this process found the build current (and it was not
 * rebuilt since), that walk's newest time is the answer.
 * @param {string} root the package root
 * @returns {string}
 */
export function codeStamp(root) {
  const reuse = checked !== undefined && checked.root === root && stampOf(root) === checked.builtAt;
  let newest = reuse ? checked.newest : 0;
  if (!reuse) for (const dir of SOURCE_DIRS) newest = Math.max(newest, walk(root, dir, undefined).newest);
  if (newest > 0) return `sources@${Math.round(newest)}`;
  const build = buildState(root);
  return `dist@${build.builtAt ?? 0}`;
}
