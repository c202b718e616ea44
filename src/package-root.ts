import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package's root folder, whether this module runs from the sources (src/package-root.ts) or
 * from the compiled build (dist/src/package-root.js): paths outside the compiled folders (bin/,
 * package.json) are resolved from here, never with a fixed number of `../` from a module.
 */
export const PACKAGE_ROOT = packageRoot(fileURLToPath(new URL(".", import.meta.url)));

/** `bin/credit-optimizer.js` of this installation: the launcher that picks dist/ or the sources. */
export const BIN_PATH = path.join(PACKAGE_ROOT, "bin", "credit-optimizer.js");

/** True when this module is the compiled JavaScript (the process runs dist/). */
export const RUNNING_COMPILED = import.meta.url.endsWith(".js");

function packageRoot(srcDir: string): string {
  const above = path.dirname(path.resolve(srcDir));
  return path.basename(above) === "dist" ? path.dirname(above) : above;
}

/**
 * How to start one of this package's own modules as a separate Node process: the compiled `.js`
 * beside the calling module when it runs compiled, else the `.ts` source through tsx's loader.
 * `from` is the caller's `import.meta.url`; `name` the module's file name without extension.
 */
export function ownScript(from: string, name: string, tsxLoader: () => string): string[] {
  if (from.endsWith(".js")) return [fileURLToPath(new URL(`./${name}.js`, from))];
  return ["--import", tsxLoader(), fileURLToPath(new URL(`./${name}.ts`, from))];
}

/**
 * bin/build-state.js (plain JavaScript the launcher uses first), loaded from the package root: the
 * launcher's own module instance. By path, not URL: in the CLI's CommonJS bundle this import is a
 * require (of an ES module: Node ≥ 20.19).
 */
export async function buildStateModule(): Promise<typeof import("../bin/build-state.js")> {
  return (await import(path.join(PACKAGE_ROOT, "bin", "build-state.js"))) as typeof import("../bin/build-state.js");
}
