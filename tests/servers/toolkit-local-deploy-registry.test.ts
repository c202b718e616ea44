import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalDeployments } from "../../src/servers/toolkit/providers/local/processes.ts";
import { ProcessRegistry } from "../../src/servers/toolkit/providers/local/processes-registry.ts";
import type { ToolkitEnv } from "../../src/servers/toolkit/tool.ts";

const run = promisify(execFile);
const PROCESSES_MODULE = pathToFileURL(path.resolve("src/servers/toolkit/providers/local/processes.ts")).href;

let root: string;
let env: ToolkitEnv;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "toolkit-registry-"));
  env = { dataDir: path.join(root, "data"), workspaceRoot: path.join(root, "ws"), localPostgresUrl: "", localRedisUrl: "" };
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("local deploy registry", () => {
  it("loses no update when several processes write it at once", async () => {
    await new LocalDeployments(env, "fly").create("shared", "shared");
    const script = path.join(root, "writer.mts");
    await writeFile(
      script,
      `import { LocalDeployments } from ${JSON.stringify(PROCESSES_MODULE)};
const [dataDir, worker] = process.argv.slice(2);
const local = new LocalDeployments({ dataDir, localPostgresUrl: "", localRedisUrl: "" }, "fly");
for (let i = 0; i < 10; i++) await local.setEnv("shared", { ["K_" + worker + "_" + i]: "v" });
`,
    );
    const loader = fileURLToPath(import.meta.resolve("tsx/esm"));
    await Promise.all(["a", "b", "c", "d"].map((worker) => run(process.execPath, ["--import", loader, script, env.dataDir, worker])));
    const project = await new LocalDeployments(env, "fly").get("shared");
    expect(Object.keys(project.env)).toHaveLength(40);
    expect(project.envVersion).toBe(40);
  });

  it("waits while another process holds the lock, and breaks a stale one", async () => {
    const registry = new ProcessRegistry(env.dataDir, "vercel");
    const lock = `${registry.file}.lock`;
    await mkdir(lock, { recursive: true });
    let done = false;
    const update = registry.update((projects) => {
      projects.p = { id: "p", name: "p", sourceDir: root, env: {}, envVersion: 0, createdAt: "" };
    }).then(() => (done = true));
    await sleep(300);
    expect(done).toBe(false);
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    await update;
    expect(Object.keys(JSON.parse(await readFile(registry.file, "utf8")).projects as object)).toEqual(["p"]);
  });
});
