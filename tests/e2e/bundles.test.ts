import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, describe, expect, it } from "vitest";
import { buildState } from "../../bin/build-state.js";

// The launcher's bundles (bin/bundles.js): which way it takes, a bundle's V8 code cache, and that the
// bundled servers are the servers of the sources.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function scratch(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/**
 * A package with this launcher and stand-ins that say which of them ran: the sources' CLI, the CLI's
 * ES module chunks, the CLI's bundle, and a bundle of a server "thinking"; its build stamp is current.
 */
function fakePackage(): { root: string; builtAt: number } {
  const root = scratch("bundles-pkg-");
  for (const file of ["credit-optimizer.js", "build-state.js", "bundles.js"]) {
    mkdirSync(path.join(root, "bin"), { recursive: true });
    copyFileSync(path.join(ROOT, "bin", file), path.join(root, "bin", file));
  }
  symlinkSync(path.join(ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
  write(path.join(root, "package.json"), '{ "type": "module" }\n');
  write(path.join(root, "src", "cli", "main.ts"), 'export async function main(argv: string[]): Promise<number> { process.stdout.write(`sources ${JSON.stringify(argv)}`); return 0; }\n');
  write(path.join(root, "dist", "bundle", "main.js"), "export async function main(argv) { process.stdout.write(`chunks ${JSON.stringify(argv)}`); return 0; }\n");
  write(path.join(root, "dist", "bundle", "cli.cjs"), "exports.main = async (argv) => { process.stdout.write(`cli ${JSON.stringify(argv)}`); return 0; };\n");
  write(path.join(root, "dist", "bundle", "serve-thinking.cjs"), "exports.main = async (args) => { process.stdout.write(`bundle ${JSON.stringify(args)}`); return 0; };\n");
  const builtAt = Date.now() + 1000;
  for (const dir of ["src", "src/cli", "src/cli/main.ts"]) utimesSync(path.join(root, dir), new Date(builtAt - 5000), new Date(builtAt - 5000));
  write(path.join(root, "dist", ".build.json"), JSON.stringify({ startedAt: builtAt, finishedAt: builtAt }));
  return { root, builtAt };
}

async function launch(root: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(root, "bin", "credit-optimizer.js"), ...args], { cwd: root, env: { PATH: process.env["PATH"] ?? "" } });
  return stdout;
}

const cacheFiles = (dir: string, bundle: string): string[] => readdirSync(dir).filter((f) => f.startsWith(`${bundle}.`) && f.endsWith(".cache")).sort();

describe("the launcher's way", () => {
  it("takes a server's bundle for `serve <name>` when the build is current, and leaves a code cache beside it", async () => {
    const { root, builtAt } = fakePackage();
    expect(await launch(root, "serve", "thinking", "--db", ":memory:")).toBe('bundle ["--db",":memory:"]');
    const caches = cacheFiles(path.join(root, "dist", "bundle"), "serve-thinking.cjs");
    expect(caches).toHaveLength(1);
    expect(caches[0]).toContain(`.${builtAt}.${process.versions.v8}-`);
  });

  it("takes the CLI's bundle for every other command, with a code cache per command", async () => {
    const { root, builtAt } = fakePackage();
    expect(await launch(root, "serve", "other")).toBe('cli ["serve","other"]');
    expect(await launch(root, "plan", "thinking")).toBe('cli ["plan","thinking"]');
    expect(await launch(root, "workflows")).toBe('cli ["workflows"]');
    expect(cacheFiles(path.join(root, "dist", "bundle"), "cli.cjs")).toEqual(
      ["plan", "serve", "workflows"].map((command) => `cli.cjs.${command}.${builtAt}.${process.versions.v8}-${process.arch}.cache`),
    );
  });

  it("takes the ES module chunks for a help screen", async () => {
    const { root } = fakePackage();
    expect(await launch(root)).toBe("chunks []");
    expect(await launch(root, "--help")).toBe('chunks ["--help"]');
    expect(await launch(root, "help", "run")).toBe('chunks ["help","run"]');
    expect(await launch(root, "serve", "thinking", "--help")).toBe('chunks ["serve","thinking","--help"]');
    expect(await launch(root, "run", "-h")).toBe('chunks ["run","-h"]');
  });

  it("never runs a stale bundle: a source newer than the build serves from the sources", async () => {
    const { root, builtAt } = fakePackage();
    utimesSync(path.join(root, "src", "cli", "main.ts"), new Date(builtAt + 5000), new Date(builtAt + 5000));
    expect(await launch(root, "serve", "thinking")).toBe('sources ["serve","thinking"]');
  });
});

describe("a bundle's code cache", () => {
  /** Loads `bundle` in a process of its own (V8 keeps compiled scripts per process), serves, saves the cache. */
  async function load(bundle: string, cache: string): Promise<{ codeCache: string; code: number; out: string }> {
    const driver = `import { loadBundle } from ${JSON.stringify(path.join(ROOT, "bin", "bundles.js"))};
      const bundle = loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cache)});
      const code = await bundle.main(["a"]);
      await bundle.saveCodeCache();
      process.stdout.write(JSON.stringify({ codeCache: bundle.codeCache, code }));`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", driver]);
    const at = stdout.lastIndexOf("{");
    return { ...(JSON.parse(stdout.slice(at)) as { codeCache: string; code: number }), out: stdout.slice(0, at) };
  }

  it("is written on the first start, used on the next, and a refused one is compiled past and written again", async () => {
    const dir = scratch("bundles-cache-");
    const bundle = path.join(dir, "serve-x.cjs");
    write(bundle, 'const shout = (s) => s.toUpperCase(); exports.main = async (args) => { process.stdout.write(shout(`served ${args.join(",")} `)); return 3; };\n');
    const cache = path.join(dir, "serve-x.cjs.cache");
    expect(await load(bundle, cache)).toEqual({ codeCache: "absent", code: 3, out: "SERVED A " });
    expect(await load(bundle, cache)).toEqual({ codeCache: "used", code: 3, out: "SERVED A " });
    writeFileSync(cache, "not a V8 code cache, but long enough to be read as one by mistake");
    expect(await load(bundle, cache)).toEqual({ codeCache: "rejected", code: 3, out: "SERVED A " });
    expect(await load(bundle, cache)).toEqual({ codeCache: "used", code: 3, out: "SERVED A " });
  });
});

describe("the built-in servers' bundles", () => {
  const state = buildState(ROOT);

  async function withServer<T>(name: string, env: Record<string, string>, body: (client: Client, home: string) => Promise<T>): Promise<T> {
    const home = scratch(`bundles-${name}-`);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [path.join(ROOT, "bin", "credit-optimizer.js"), "serve", name],
      env: { PATH: process.env["PATH"] ?? "", HOME: home, CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "workspace"), ...env },
      cwd: home,
      stderr: "pipe",
    });
    const client = new Client({ name: "bundles-test", version: "1" });
    await client.connect(transport);
    try {
      return await body(client, home);
    } finally {
      await client.close();
    }
  }

  it("are what `serve` runs here (the build is current: run `npm run build` after editing the sources)", () => {
    expect(state.state).toBe("current");
  });

  for (const name of ["thinking", "toolkit", "workspace"]) {
    it(`${name}: lists the same tools from its bundle as from the sources`, async () => {
      const bundleDir = path.join(ROOT, "dist", "bundle");
      for (const file of cacheFiles(bundleDir, `serve-${name}.cjs`)) rmSync(path.join(bundleDir, file));
      const fromBundle = await withServer(name, {}, (client) => client.listTools());
      // Only the bundle path writes a code cache: this listing came from the bundle.
      expect(cacheFiles(bundleDir, `serve-${name}.cjs`)).toHaveLength(1);
      const fromSources = await withServer(name, { CREDIT_OPTIMIZER_FROM_SOURCES: "1" }, (client) => client.listTools());
      expect(fromBundle.tools.length).toBeGreaterThan(0);
      expect(fromBundle).toEqual(fromSources);
    });
  }

  it("workspace: a tool that imports a package kept outside the bundle (typescript, for run_lint) runs from the code cache", async () => {
    // The listing tests above left the code cache: this start compiles from it.
    expect(cacheFiles(path.join(ROOT, "dist", "bundle"), "serve-workspace.cjs")).toHaveLength(1);
    const result = await withServer("workspace", {}, (client, home) => {
      write(path.join(home, "workspace", "app", "index.ts"), "export function f(): number {\n  debugger;\n  return 1;\n}\n");
      return client.callTool({ name: "run_lint", arguments: { project: "app" } });
    });
    expect(result.isError).not.toBe(true);
    expect(JSON.stringify(result.structuredContent)).toContain("no-debugger");
  });
});
