/**
 * `doctor`: the report's own time (all checks, in process) and the whole command as a user runs it
 * (`credit-optimizer doctor --json`, start-up included). The target is ≤ 2 s.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config.ts";
import { median } from "../src/cost/stats.ts";
import { runDoctor } from "../src/doctor/checks.ts";

const BIN = fileURLToPath(new URL("../bin/credit-optimizer.js", import.meta.url));
const RUNS = 5;

function timeCli(env: Record<string, string>, args = ["doctor", "--json"]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: "ignore" });
  return new Promise((resolve) => child.on("close", () => resolve(Math.round(performance.now() - started))));
}

export async function benchDoctor(): Promise<Record<string, unknown>> {
  const home = mkdtempSync(path.join(tmpdir(), "co-bench-doctor-"));
  const env = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", CREDIT_OPTIMIZER_HOME: home };
  try {
    const config = loadConfig(env, home);
    const inProcess: number[] = [];
    for (let i = 0; i < RUNS; i++) inProcess.push((await runDoctor(config)).durationMs);
    const cli: number[] = [];
    for (let i = 0; i < RUNS; i++) cli.push(await timeCli(env));
    // `--help` is the floor: the CLI's start-up through tsx, which doctor cannot go below.
    const help: number[] = [];
    for (let i = 0; i < RUNS; i++) help.push(await timeCli(env, ["--help"]));
    return { runs: RUNS, reportMedianMs: median(inProcess), cliMedianMs: median(cli), cliMaxMs: Math.max(...cli), helpMedianMs: median(help) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
