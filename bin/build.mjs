// `npm run build` (and `prepare`, so `npm install` builds): compiles the TypeScript to dist/ with
// tsc (tsconfig.build.json: the sources' `.ts` import specifiers are rewritten to `.js`, computed
// ones through tsc's runtime helper), copies the files the code reads beside itself (template files,
// the default app), and writes dist/.build.json last: bin/build-state.js counts a build as current
// only with it, so an interrupted build is never run.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SOURCE_DIRS, STAMP } from "./build-state.js";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Template files are data the workspace server writes out, not code of ours: copied, never compiled. */
const TEMPLATE_FILES = /(^|\/)templates\/[^/]+\/files\//;

const startedAt = Date.now();
rmSync(path.join(root, "dist"), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (result.status !== 0) {
  process.stderr.write(`build failed: tsc exited with ${result.status ?? result.signal}\n`);
  process.exit(1);
}
// Everything tsc does not emit is read at run time beside the code (`new URL(..., import.meta.url)`).
for (const dir of SOURCE_DIRS) {
  for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name));
    if (file.endsWith(".ts") && !TEMPLATE_FILES.test(file.split(path.sep).join("/"))) continue;
    const target = path.join(root, "dist", file);
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(path.join(root, file), target);
  }
}
writeFileSync(path.join(root, STAMP), `${JSON.stringify({ startedAt, finishedAt: Date.now() })}\n`);
process.stderr.write(`built dist/ in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
