import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { main } from "../../src/cli/main.ts";
import type { AppConfig } from "../../src/config.ts";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/credit-optimizer.js", import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI as a child process with the given environment (added to PATH and HOME). */
export function startCli(args: string[], env: Record<string, string>, input?: string): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  if (input !== undefined) child.stdin!.end(input);
  const done = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return startCli(args, env, input).done;
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The steps whose results a CLI run has saved in its SQLite checkpointer (`<home>/checkpoints.sqlite`):
 * in the step journal (asap) or as the plan graph's pending `results` writes (graph). Read while the
 * run goes, to kill it only once what the test needs is saved.
 */
export function savedSteps(home: string, thread: string): Set<string> {
  const file = path.join(home, "checkpoints.sqlite");
  if (!existsSync(file)) return new Set();
  const db = new Database(file, { readonly: true });
  const rows = <T>(sql: string): T[] => {
    try {
      return db.prepare(sql).all(thread) as T[];
    } catch (error) {
      if (/no such table/.test(String(error))) return [];
      throw error;
    }
  };
  try {
    const journaled = rows<{ key: string }>("SELECT key FROM credit_optimizer_step_journal WHERE scope = ? AND key LIKE 'step:%'").map((r) => r.key.slice("step:".length));
    const written = rows<{ value: Buffer | string }>("SELECT value FROM writes WHERE thread_id = ? AND channel = 'results'").flatMap((r) => Object.keys((JSON.parse(String(r.value)) as Record<string, unknown> | null) ?? {}));
    return new Set([...journaled, ...written]);
  } finally {
    db.close();
  }
}

/** Runs a command line in this process (the same program as the binary); output is captured. */
export async function runMain(argv: string[], config: AppConfig): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }, () => config);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** Whether a process with this pid still exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
