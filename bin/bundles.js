// The fast way to start from a current build: one CommonJS bundle (bin/build.mjs), compiled with
// a V8 code cache kept beside it. `serve <name>` runs a built-in server's own bundle without the
// command layer; every other command runs the CLI's bundle; the help screens load the CLI's ES module
// chunks, which hold the little they need.
import { existsSync, readFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import path from "node:path";
import vm from "node:vm";

/**
 * The bundle that runs `argv`, its code cache, and the arguments its main takes: a built-in server's
 * bundle for `serve <name> [args]` when the build has one for that name; the CLI's bundle for any
 * other command line, with a cache per command (what a command compiles differs); none for a help
 * screen (no command, `help`, or -h / --help anywhere), which the ES module chunks serve.
 *
 * A cache is for this Node (V8 refuses a cache of another V8 or other flags, but it does not compare
 * the source itself, only its length) and named after the build that wrote the bundle, so a cache of
 * an older build is never offered for a new bundle.
 * @param {string} root the package root
 * @param {string[]} argv the command line after the launcher
 * @param {number} builtAt the build's stamp (bin/build-state.js)
 * @returns {{ file: string, cache: string, args: string[] } | undefined}
 */
export function bundleFor(root, argv, builtAt) {
  const [command, name, ...rest] = argv;
  if (command === undefined || command === "help" || argv.includes("-h") || argv.includes("--help")) return undefined;
  const dir = path.join(root, "dist", "bundle");
  const stamp = `${builtAt}.${process.versions.v8}-${process.arch}.cache`;
  const server = command === "serve" && name !== undefined && /^[a-z]+$/.test(name) ? path.join(dir, `serve-${name}.cjs`) : undefined;
  if (server !== undefined && existsSync(server)) return { file: server, cache: `${server}.${stamp}`, args: rest };
  const cli = path.join(dir, "cli.cjs");
  return { file: cli, cache: `${cli}.${/^[a-z][a-z-]*$/.test(command) ? command : "other"}.${stamp}`, args: argv };
}

/**
 * Runs a bundle as a CommonJS module, compiled from its code cache when there is a valid one.
 * `main(args)` runs the command (a server serves until stdin closes or a signal) and returns the
 * exit code; `codeCache` says whether the cache was used, absent, or refused by V8 (then the bundle
 * was compiled from its source); `saveCodeCache()` writes the cache unless it was used, after the
 * command, when the functions it ran are compiled and so in the cache too.
 * @param {string} file
 * @param {string} cacheFile
 * @returns {{ main(args: string[]): Promise<number>, codeCache: "used" | "absent" | "rejected", saveCodeCache(): Promise<void> }}
 */
export function loadBundle(file, cacheFile) {
  const cachedData = readOptional(cacheFile);
  // The bundle is ASCII (bin/build.mjs COMMON_JS): latin1 reads it exactly, and faster than UTF-8.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "latin1")}\n})`, {
    filename: file,
    cachedData,
  });
  const module = new Module(file);
  module.filename = file;
  module.loaded = true;
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  const codeCache = cachedData === undefined ? "absent" : script.cachedDataRejected ? "rejected" : "used";
  return {
    main: module.exports.main,
    codeCache,
    async saveCodeCache() {
      if (codeCache === "used") return;
      const { default: writeFileAtomic } = await import("write-file-atomic");
      // An installation the user cannot write to just starts without a cache.
      await writeFileAtomic(cacheFile, script.createCachedData()).catch(() => {});
    },
  };
}

function readOptional(file) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
