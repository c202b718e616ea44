// `npm run build` (and `prepare`, so `npm install` builds): compiles the TypeScript to dist/ with
// tsc (tsconfig.build.json: the sources' `.ts` import specifiers are rewritten to `.js`, computed
// ones through tsc's runtime helper), copies the files the code reads beside itself (template files,
// the default app), bundles the CLI and each built-in server with esbuild (dist/bundle/, see
// bundleCli and bundleServers), and writes
// dist/.build.json last: bin/build-state.js counts a build as current only with it, so an interrupted
// build is never run.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SOURCE_DIRS, STAMP } from "./build-state.js";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Template files are data the workspace server writes out, not code of ours: copied, never compiled. */
const TEMPLATE_FILES = /(^|\/)templates\/[^/]+\/files\//;

/**
 * Packages left outside every bundle: native code, packages with files of their own, and CommonJS
 * packages that use __filename or __dirname (the bundle's own in a bundle): the queue, write-file-atomic.
 */
const EXTERNAL = [
  "better-sqlite3", "@electric-sql/pglite", "@electric-sql/pglite-socket", "pg-native", "typescript", "tsx", "tsx/*", "esbuild", "puppeteer-core",
  "bullmq", "ioredis", "redis-semaphore", "msgpackr", "write-file-atomic",
];

/**
 * Each of our modules' `import.meta.url`, as its compiled file under dist/ (relative to the package
 * root). `commonJs`: `import.meta.resolve` (which has no CommonJS form) becomes `__coResolve(that
 * url, specifier)`, defined by the server bundles' banner.
 */
function ownUrls({ commonJs }) {
  return {
    name: "own-import-meta-url",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        const file = path.relative(root, args.path);
        if (file.startsWith("..") || file.split(path.sep).includes("node_modules")) return undefined;
        const { readFile } = await import("node:fs/promises");
        const compiled = path.join("dist", file).split(path.sep).join("/").replace(/\.ts$/, ".js");
        const url = `new URL(${JSON.stringify(compiled)}, __coPackageRoot)`;
        let contents = (await readFile(args.path, "utf8")).replaceAll("import.meta.url", `${url}.href`);
        if (commonJs) contents = contents.replaceAll("import.meta.resolve(", `__coResolve(${url}, `);
        return { contents, loader: "ts" };
      });
    },
  };
}

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

/** What every bundle shares: Node 20, less to parse, the external packages. */
const COMMON = {
  bundle: true,
  platform: "node",
  target: "node20",
  logLevel: "warning",
  // Less for V8 to parse at every start; identifiers and names stay, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  external: EXTERNAL,
};

/**
 * A CommonJS bundle (the CLI's cli.cjs, each server's serve-<name>.cjs): one script, which
 * bin/bundles.js compiles with a V8 code cache.
 */
const COMMON_JS = {
  ...COMMON,
  format: "cjs",
  // Non-ASCII characters escaped (esbuild's default, stated here): bin/bundles.js reads the
  // bundle as latin1, which copies bytes where UTF-8 would decode them.
  charset: "ascii",
  // import() of a package kept outside becomes require() (Node 20 requires ES modules too): under
  // a code cache, Node 20 loses a vm.Script's dynamic import callback ("A dynamic import callback
  // was not specified"). Our own lazily imported modules stay lazy (initialized on first import).
  supported: { "dynamic-import": false },
  // module.filename, not __filename: refuseDirnameUse refuses __filename in a bundle. A package's
  // import.meta.resolve becomes require.resolve from the module's compiled file (for the
  // packages we resolve, tsx/esm, both conditions name the same file).
  banner: { js: 'const __coUrl = require("node:url"); const __coPackageRoot = new URL("../../", __coUrl.pathToFileURL(module.filename)); const __coResolve = (from, specifier) => __coUrl.pathToFileURL(require.resolve(specifier, { paths: [__coUrl.fileURLToPath(new URL(".", from))] })).href;' },
  plugins: [ownUrls({ commonJs: true }), zodEnglishOnly],
};

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
const esbuild = await import("esbuild");
await Promise.all([bundleCli(esbuild), bundleServers(esbuild)]);
await refuseDirnameUse(path.join(root, "dist", "bundle"));
writeFileSync(path.join(root, STAMP), `${JSON.stringify({ startedAt, finishedAt: Date.now() })}\n`);
// The built-in servers' pins, listed once by the build just made (src/mcp/builtin-pins.ts): a first
// run then plans without waiting for them. Without the file a run lists them itself. Started from
// their bundles, they also leave their code caches (bin/bundles.js), so the first run starts warm.
await import("../dist/src/mcp/builtin-pins.js").then(({ writeBuiltinPins }) => writeBuiltinPins()).catch((error) => {
  process.stderr.write(`note: the built-in servers' pins were not written (${error instanceof Error ? error.message : String(error)}); runs list the servers themselves\n`);
});
process.stderr.write(`built dist/ in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);

/**
 * The CLI, twice from the same sources. Node 20's ES module loader spends most of a start resolving,
 * reading and linking the ~1,100 files of our code and its dependencies (LangGraph, LangChain, zod,
 * the MCP SDK); a bundle reads a handful (`plan` 3-4x faster to start).
 * - dist/bundle/main.js and its chunks (ES modules, code splitting): the help screens load 370 KB
 *   of the ~4 MB, and nothing else.
 * - dist/bundle/cli.cjs (one CommonJS script): every command. bin/bundles.js compiles it with a
 *   V8 code cache per command, which Node 20 has none of for ES modules (that compile was ~170 ms of
 *   a run's start); a lazily imported module is still initialized only when imported.
 * The tsc output above stays: Studio's graphs, spawned helper scripts and template files use it,
 * and the bundles' `import.meta.url`s are rewritten to the tsc output's file of each module, so a
 * module resolves the files beside it exactly as unbundled. Packages with native code or files of
 * their own stay outside the bundles.
 */
async function bundleCli(esbuild) {
  const entry = path.join(root, "src", "cli", "main.ts");
  const outdir = path.join(root, "dist", "bundle");
  await Promise.all([
    esbuild.build({
      ...COMMON,
      entryPoints: { main: entry },
      outdir,
      splitting: true,
      format: "esm",
      // CommonJS packages inside an ES module bundle still call require(); the package root is what
      // the rewritten import.meta.urls are resolved against (dist/bundle/ is two levels below it).
      banner: { js: 'import { createRequire as __coCreateRequire } from "node:module"; const require = __coCreateRequire(import.meta.url); const __coPackageRoot = new URL("../../", import.meta.url);' },
      plugins: [ownUrls({ commonJs: false }), zodEnglishOnly],
    }),
    esbuild.build({ ...COMMON_JS, entryPoints: [entry], outfile: path.join(outdir, "cli.cjs") }),
  ]);
}

/**
 * Each built-in server as one CommonJS file, dist/bundle/serve-<name>.cjs, exporting
 * `main(args)` (src/cli/serve-main.ts): `serve <name>` starts it without the command layer
 * (commander and the CLI's other modules), with its code cache (bin/bundles.js).
 */
async function bundleServers(esbuild) {
  // A built-in server is a folder of src/servers with an entry file (src/cli/serve.ts names them in its messages).
  const servers = readdirSync(path.join(root, "src", "servers"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, "src", "servers", entry.name, "index.ts")))
    .map((entry) => entry.name);
  await Promise.all(servers.map((name) => esbuild.build({
    ...COMMON_JS,
    stdin: {
      contents: `import * as server from "./src/servers/${name}/index.ts"; import { serveMain } from "./src/cli/serve-main.ts"; export const main = (args) => serveMain(server, ${JSON.stringify(name)}, args);`,
      resolveDir: root,
      sourcefile: `serve-${name}.ts`,
      loader: "ts",
    },
    outfile: path.join(root, "dist", "bundle", `serve-${name}.cjs`),
  })));
}

/** A CommonJS module that reads __filename or __dirname would fail only when that path runs: refuse the build instead. */
async function refuseDirnameUse(outdir) {
  const { readdir, readFile } = await import("node:fs/promises");
  for (const chunk of await readdir(outdir)) {
    const code = await readFile(path.join(outdir, chunk), "utf8");
    const use = /\b__(filename|dirname)\b/.exec(code);
    if (use) throw new Error(`dist/bundle/${chunk} uses ${use[0]}, which a bundle does not define as the module's own: add the package that uses it to the external list (…${code.slice(Math.max(0, use.index - 120), use.index + 20)}…)`);
  }
}
