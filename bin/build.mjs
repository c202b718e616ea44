// `npm run build` (and `prepare`, so `npm install` builds): compiles the TypeScript to dist/ with
// tsc (tsconfig.build.json: the sources' `.ts` import specifiers are rewritten to `.js`, computed
// ones through tsc's runtime helper), copies the files the code reads beside itself (template files,
// the default app), bundles the CLI with esbuild (dist/bundle/, see bundleCli), and writes
// dist/.build.json last: bin/build-state.js counts a build as current only with it, so an interrupted
// build is never run.
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
await bundleCli();
writeFileSync(path.join(root, STAMP), `${JSON.stringify({ startedAt, finishedAt: Date.now() })}\n`);
process.stderr.write(`built dist/ in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);

/**
 * The CLI as a few ES module chunks (dist/bundle/main.js plus one chunk per lazily imported command
 * and library): Node 20's ES module loader spends most of a start resolving, reading and linking the
 * ~1,100 files of our code and its dependencies (LangGraph, LangChain, zod, the MCP SDK), and a
 * bundle reads a handful (`plan` 3-4x faster to start). Code splitting keeps `--help` from loading
 * what only a run needs. The tsc output above stays: Studio's graphs, spawned helper scripts and
 * template files use it, and the bundle's `import.meta.url`s are rewritten to the tsc output's file
 * of each module, so a module resolves the files beside it exactly as unbundled. Packages with native
 * code or files of their own stay outside the bundle.
 */
async function bundleCli() {
  const esbuild = await import("esbuild");
  const outdir = path.join(root, "dist", "bundle");
  /** Each of our modules' `import.meta.url`, as its compiled file under dist/ (relative to the package root). */
  const ownUrls = {
    name: "own-import-meta-url",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        const file = path.relative(root, args.path);
        if (file.startsWith("..") || file.split(path.sep).includes("node_modules")) return undefined;
        const { readFile } = await import("node:fs/promises");
        const source = await readFile(args.path, "utf8");
        const compiled = path.join("dist", file).split(path.sep).join("/").replace(/\.ts$/, ".js");
        return { contents: source.replaceAll("import.meta.url", `new URL(${JSON.stringify(compiled)}, __coPackageRoot).href`), loader: "ts" };
      });
    },
  };
  /**
   * zod's `z.locales` namespace re-exports its ~50 error-message locales (about 300 KB of the ~650 KB
   * of zod in every chunk set): every process, the CLI and each server, would parse them at start. Only
   * English is used (zod's default, `z.config(en())` inside zod), so the namespace keeps `en` alone.
   */
  const zodEnglishOnly = {
    name: "zod-english-only",
    setup(build) {
      build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: 'export { default as en } from "./en.js";\n', loader: "js" }));
    },
  };
  await esbuild.build({
    entryPoints: { main: path.join(root, "src", "cli", "main.ts") },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
    // Less for V8 to parse at every start; identifiers and names stay, so stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    // CommonJS packages inside an ES module bundle still call require(); the package root is what
    // the rewritten import.meta.urls are resolved against (dist/bundle/ is two levels below it).
    banner: { js: 'import { createRequire as __coCreateRequire } from "node:module"; const require = __coCreateRequire(import.meta.url); const __coPackageRoot = new URL("../../", import.meta.url);' },
    // Outside: native code, packages with files of their own, and CommonJS packages that use
    // __filename or __dirname (undefined in an ES module bundle): the queue, write-file-atomic.
    external: [
      "better-sqlite3", "@electric-sql/pglite", "@electric-sql/pglite-socket", "pg-native", "typescript", "tsx", "tsx/*", "esbuild", "puppeteer-core",
      "bullmq", "ioredis", "redis-semaphore", "msgpackr", "write-file-atomic",
    ],
    plugins: [ownUrls, zodEnglishOnly],
  });
  // A CommonJS module that reads __filename or __dirname would fail only when that path runs: refuse the build instead.
  const { readdir, readFile } = await import("node:fs/promises");
  for (const chunk of await readdir(outdir)) {
    const code = await readFile(path.join(outdir, chunk), "utf8");
    const use = /\b__(filename|dirname)\b/.exec(code);
    if (use) throw new Error(`dist/bundle/${chunk} uses ${use[0]}, which an ES module bundle does not define: add the package that uses it to bundleCli's external list (…${code.slice(Math.max(0, use.index - 120), use.index + 20)}…)`);
  }
}
