#!/usr/bin/env node
// Entry point: runs the compiled CLI (dist/, built at install) when it matches the sources, else the
// TypeScript sources through tsx. A stale build is never run: after an edit the sources run (with a
// note on a terminal) until `npm run build`. A current build runs from a CommonJS bundle with a code
// cache (bin/bundles.js): the CLI's, or a built-in MCP server's own for `serve <name>`.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildState, CHECKED_ENV } from "./build-state.js";
import { bundleFor, loadBundle } from "./bundles.js";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// CREDIT_OPTIMIZER_FROM_SOURCES=1 runs the sources even when the build is current (development,
// and the benchmark's before/after comparison); read here because nothing else has loaded yet.
const fromSources = process.env.CREDIT_OPTIMIZER_FROM_SOURCES === "1";
const build = fromSources ? { state: "skipped" } : buildState(root, process.env[CHECKED_ENV]);
// The built-in servers this process starts run the build it checked (see CHECKED_ENV).
if (build.state === "current") process.env[CHECKED_ENV] = String(build.builtAt);

// A reader that goes away (`credit-optimizer --help | head`) ends the output, not the process with a trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const argv = process.argv.slice(2);
const bundle = build.state === "current" ? bundleFor(root, argv, build.builtAt) : undefined;
let main;
if (bundle !== undefined) {
  const loaded = loadBundle(bundle.file, bundle.cache);
  main = async () => {
    const code = await loaded.main(bundle.args);
    await loaded.saveCodeCache();
    return code;
  };
} else if (build.state === "current") {
  // A help screen: the CLI's ES module chunks (bin/build.mjs bundleCli) load only what it needs.
  ({ main } = await import("../dist/bundle/main.js"));
} else {
  if (build.state === "stale" && process.stderr.isTTY) {
    process.stderr.write(`note: dist/ is older than ${build.newer}; running the sources through tsx (npm run build to start faster)\n`);
  }
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(argv);
