/**
 * Start-up of each built-in MCP server as a run spawns it (`credit-optimizer serve <name>` over
 * stdio): wall time from spawn to the `initialize` answer and to the `tools/list` answer, and the
 * server's CPU time (user + system, /proc/<pid>/stat) when it has answered the listing. Variants,
 * alternating: from its bundle with its code cache, from its bundle without one (the first start
 * after a build), and from the sources through tsx. Needs a current build (`npm run build`).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildState } from "../bin/build-state.js";
import { median } from "../src/cost/stats.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "credit-optimizer.js");
const BUNDLES = path.join(ROOT, "dist", "bundle");
const SERVERS = ["thinking", "toolkit", "workspace"];
const RUNS = 7;

interface Start {
  initMs: number;
  listMs: number;
  cpuMs: number;
}

/** One start of `serve <name>`: initialize, then tools/list, then stdin closes. */
function start(name: string, env: Record<string, string>): Promise<Start> {
  const home = mkdtempSync(path.join(tmpdir(), "co-bench-serve-"));
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, "serve", name], {
    cwd: home,
    env: { PATH: process.env["PATH"] ?? "", HOME: home, CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "workspace"), ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const send = (message: object): boolean => child.stdin.write(`${JSON.stringify(message)}\n`);
  send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } } });
  return new Promise((resolve, reject) => {
    let buffered = "";
    let initMs = 0;
    let result: Start | undefined;
    child.stdout.on("data", (data: Buffer) => {
      buffered += data.toString();
      for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
        const message = JSON.parse(buffered.slice(0, at)) as { id?: number };
        buffered = buffered.slice(at + 1);
        if (message.id === 1) {
          initMs = performance.now() - started;
          send({ jsonrpc: "2.0", method: "notifications/initialized" });
          send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
        } else if (message.id === 2) {
          const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
          // utime and stime (fields 14 and 15 of stat, 0-based 11 and 12 after the command name), in clock ticks of 10 ms.
          result = { initMs: Math.round(initMs), listMs: Math.round(performance.now() - started), cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 };
          child.stdin.end();
        }
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      rmSync(home, { recursive: true, force: true });
      if (result) resolve(result);
      else reject(new Error(`serve ${name} exited (${code}) before listing its tools`));
    });
  });
}

function bare(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  return new Promise((resolve) => child.on("close", () => resolve(Math.round(performance.now() - started))));
}

export async function benchServers(): Promise<Record<string, unknown>> {
  const build = buildState(ROOT);
  if (build.state !== "current") throw new Error(`the build is ${build.state}: run npm run build first`);
  // The launcher of a run tells its servers which build it checked: they do not walk the sources again.
  const checked = { CREDIT_OPTIMIZER_BUILD_CHECKED: String(build.builtAt) };
  const dropCaches = (name: string): void => {
    for (const file of readdirSync(BUNDLES)) if (file.startsWith(`serve-${name}.cjs.`) && file.endsWith(".cache")) rmSync(path.join(BUNDLES, file));
  };
  const variants: Record<string, (name: string) => Promise<Start>> = {
    bundleCodeCache: (name) => start(name, checked),
    bundleNoCodeCache: (name) => {
      dropCaches(name);
      return start(name, checked);
    },
    sources: (name) => start(name, { CREDIT_OPTIMIZER_FROM_SOURCES: "1" }),
  };
  const nodeMs: number[] = [];
  const runs: Record<string, Record<string, Start[]>> = Object.fromEntries(SERVERS.map((s) => [s, Object.fromEntries(Object.keys(variants).map((v) => [v, []]))]));
  for (const name of SERVERS) await start(name, checked); // leaves each code cache
  for (let i = 0; i < RUNS; i++) {
    nodeMs.push(await bare());
    for (const name of SERVERS) for (const [variant, run] of Object.entries(variants)) runs[name]![variant]!.push(await run(name));
  }
  const bareMs = median(nodeMs);
  const summary = (starts: Start[]): Record<string, number> => {
    const listMs = median(starts.map((s) => s.listMs));
    return { initMs: median(starts.map((s) => s.initMs)), listMs, cpuMs: median(starts.map((s) => s.cpuMs)), listRatio: Math.round((listMs / bareMs) * 10) / 10 };
  };
  return {
    bareNodeMs: bareMs,
    ...Object.fromEntries(SERVERS.map((name) => [name, Object.fromEntries(Object.entries(runs[name]!).map(([variant, starts]) => [variant, summary(starts)]))])),
    note: `medians of ${RUNS} alternating starts; listRatio: tools/list answered ÷ bare node -e 0; cpuMs in 10 ms ticks`,
  };
}
